"""Delimited text read in bounded blocks and parsed column-wise (no Python object per field kept).

A file (plain or gzip, told by its first bytes) is read ``BLOCK_BYTES`` at a time and cut at the
last line break, so memory is one block's lines plus the NumPy columns of what was parsed — not
every row as Python strings (which took 4.3 GB at 12 M rows). A block whose non-empty lines all
have the same field count is split with two C-level string operations (each separator and line
break becomes one, then one split) into a ``lines × fields`` string array; ragged blocks are split
line by line; blocks holding a ``"`` are read by the :mod:`csv` module (RFC 4180 quoting: a
separator or a doubled ``""`` inside ``"…"``), one record per line, so line numbers stay exact.

What is refused, each as one :class:`~infrec.errors.InfrecError` naming the file (and the line,
where there is one): an archive or other binary format handed as a text file (zip, tar, gzip of a
tar, bzip2, xz, zstd, 7z, rar, … — told by magic bytes, with what to do), UTF-16 text, bytes that
are not UTF-8, a NUL byte, a damaged gzip stream, a line with too few (or, when told, too many)
fields, a malformed or line-spanning quoted field, a value that is not a number, a number out of
range, a file that cannot be read. A UTF-8 byte-order mark is skipped.
"""

from __future__ import annotations

import csv
import gzip
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property
from itertools import compress, repeat
from pathlib import Path
from typing import BinaryIO

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from infrec.errors import InfrecError

GZIP_MAGIC = b"\x1f\x8b"
UTF8_BOM = b"\xef\xbb\xbf"
BLOCK_BYTES = 16 << 20
"""Bytes read per block (a block's lines and string fields take ~5–10× this while parsed)."""
MAX_LINE_BYTES = 16 << 20
"""A longer stretch without a line break is not delimited text (and would be read whole)."""
MAX_ID_CHARS = 256
"""A longer string id is refused: NumPy's fixed-width text makes every id of a block — and of
the whole column once joined — as wide as the longest (4 bytes a character)."""
SHOWN_CHARS = 60
"""At most this much of a bad value or line is quoted in an error."""
HEAD_BYTES = 512
"""Bytes looked at to tell a file's format (a tar header's ``ustar`` sits at offset 257)."""
CSV_DIALECT = {"strict": True, "skipinitialspace": True}
"""RFC 4180 as the :mod:`csv` module reads it: ``"`` quotes, ``""`` inside quotes is one quote;
malformed quoting is an error (``strict``); spaces before a quote are skipped."""


@dataclass(frozen=True)
class Lines:
    """Consecutive whole lines of a file: their bytes (``\r\n`` as ``\n``, each line ending
    in ``\n``), already checked to be UTF-8 without NUL, how many, and the first one's number."""

    raw: bytes
    count: int
    first: int

    @cached_property
    def lines(self) -> list[str]:
        """The lines as text, line breaks removed (split only when a reader asks)."""
        return self.raw.decode("utf-8").split("\n")[:-1]

    def without_first(self) -> Lines:
        """The block less its first line (a header)."""
        return Lines(self.raw[self.raw.find(b"\n") + 1 :], self.count - 1, self.first + 1)


def _bzip2(head: bytes) -> bool:
    """``BZh``, a block size digit, then a block's or the end-of-stream's magic number."""
    level_ok = len(head) > 3 and head[3] in b"123456789"
    return head[:3] == b"BZh" and level_ok and head[4:10] in (b"1AY&SY", b"\x17rE8P\x90")


def _tar(head: bytes) -> bool:
    return head[257:262] == b"ustar"


_INSIDE = "and point dataset.path at the ratings file inside"
_RESULT = "and point dataset.path at the result (gzip is read as it is)"
FORMATS: tuple[tuple[bytes | None, str, str], ...] = (
    (
        b"PK\x03\x04",
        "a zip archive",
        f"unzip it {_INSIDE} (an .xlsx workbook is a zip: save as CSV)",
    ),
    (b"PK\x05\x06", "an empty zip archive", "point dataset.path at the ratings file itself"),
    (b"PK\x07\x08", "a zip archive", f"unzip it {_INSIDE}"),
    (None, "a tar archive", f"extract it (tar -xf FILE) {_INSIDE}"),
    (None, "a bzip2-compressed file", f"decompress it (bunzip2 -k FILE) {_RESULT}"),
    (b"\xfd7zXZ\x00", "an xz-compressed file", f"decompress it (unxz -k FILE) {_RESULT}"),
    (b"\x28\xb5\x2f\xfd", "a zstd-compressed file", f"decompress it (unzstd FILE) {_RESULT}"),
    (b"\x04\x22\x4d\x18", "an lz4-compressed file", f"decompress it (lz4 -d FILE) {_RESULT}"),
    (b"7z\xbc\xaf\x27\x1c", "a 7z archive", f"extract it (7z x FILE) {_INSIDE}"),
    (b"Rar!\x1a\x07", "a RAR archive", f"extract it (unrar x FILE) {_INSIDE}"),
    (b"\x89HDF\r\n\x1a\n", "an HDF5 file", "for the paper's split set dataset.format=paper_split"),
    (b"\x93NUMPY", "a NumPy .npy array", "give the ratings as delimited text"),
    (b"SQLite format 3\x00", "an SQLite database", "export the ratings table as CSV"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an Office document (.xls)", "save it as CSV"),
    (b"%PDF-", "a PDF document", "give the ratings as delimited text"),
    (b"\xff\xfe", "UTF-16 text", "save it as UTF-8"),
    (b"\xfe\xff", "UTF-16 text", "save it as UTF-8"),
)
"""(magic bytes at offset 0 — ``None``: a test in ``_TESTS`` —, what the file is, what to do;
``FILE`` in the advice becomes the file's name)."""
_TESTS = {"a tar archive": _tar, "a bzip2-compressed file": _bzip2}


def sniff(head: bytes) -> tuple[str, str] | None:
    """(what it is, what to do) when ``head`` — a file's first :data:`HEAD_BYTES` — starts a
    known archive or binary format rather than delimited text; ``None`` for anything else (gzip
    included: it is read through, and what it holds sniffed in turn)."""
    for magic, what, todo in FORMATS:
        if head.startswith(magic) if magic is not None else _TESTS[what](head):
            return what, todo
    return None


def _refuse(path: Path, what: str, todo: str) -> InfrecError:
    return InfrecError(
        f"{path}: this is {what}, not delimited text; {todo.replace('FILE', path.name)}"
    )


def _damaged(path: Path, e: BaseException) -> InfrecError:
    return InfrecError(f"{path}: a damaged gzip file ({e}); download it again")


def _open(path: Path) -> BinaryIO:
    """``path`` opened for reading (through gzip when it is one), after its first bytes — and
    a gzip's first decompressed bytes — are checked not to be an archive or binary format."""
    try:
        with path.open("rb") as f:
            head = f.read(HEAD_BYTES)
    except OSError as e:
        raise InfrecError(f"{path}: cannot read it ({e.strerror or e})") from None
    found = sniff(head)
    if found:
        raise _refuse(path, *found)
    if not head.startswith(GZIP_MAGIC):
        return path.open("rb")
    try:
        with gzip.open(path, "rb") as g:
            inner = g.read(HEAD_BYTES)
    except (OSError, EOFError, zlib.error) as e:
        raise _damaged(path, e) from None
    if _tar(inner):
        raise _refuse(
            path, "a gzip-compressed tar archive", f"extract it (tar -xzf FILE) {_INSIDE}"
        )
    found = sniff(inner) or (("a gzip file", "") if inner.startswith(GZIP_MAGIC) else None)
    if found:
        what, todo = found
        todo = "; ".join(filter(None, ("decompress it (gunzip -k FILE)", todo)))
        raise _refuse(path, f"a gzip-compressed file holding {what}", todo)
    return gzip.open(path, "rb")


def _check_text(raw: bytes, path: Path, first_line: int, offset: int) -> None:
    """A block's bytes are text: valid UTF-8 without NUL (else the error names the line of the
    first offending byte)."""
    nul = raw.find(b"\x00")
    bad = -1
    if not raw.isascii():
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as e:
            bad = e.start
    if nul >= 0 and (bad < 0 or nul < bad):
        line = first_line + raw.count(b"\n", 0, nul)
        raise InfrecError(
            f"{path}:{line}: a NUL byte (offset {offset + nul}); this is not a text file, or a "
            "damaged one"
        )
    if bad >= 0:
        line = first_line + raw.count(b"\n", 0, bad)
        raise InfrecError(
            f"{path}:{line}: not UTF-8 text (byte 0x{raw[bad]:02x} at offset "
            f"{offset + bad}); give a delimited text file (plain or gzip), or set "
            "dataset.format for other formats"
        )


def line_blocks(path: Path, block_bytes: int | None = None) -> Iterator[Lines]:
    """The file's lines, a block of whole lines at a time (``\r\n`` read as ``\n``, a UTF-8
    byte-order mark skipped); ``block_bytes`` is :data:`BLOCK_BYTES` unless given, read when
    called (tests shrink it)."""
    block_bytes = block_bytes or BLOCK_BYTES
    carry, line_no, offset, bom_checked = b"", 1, 0, False
    with _open(path) as f:
        while True:
            try:
                chunk = f.read(block_bytes)
            except (OSError, EOFError, zlib.error) as e:
                raise _damaged(path, e) from None
            data = carry + chunk
            if not bom_checked and (len(data) >= len(UTF8_BOM) or not chunk):
                bom_checked = True
                if data.startswith(UTF8_BOM):
                    data, offset = data[len(UTF8_BOM) :], len(UTF8_BOM)
            cut = len(data) if not chunk else data.rfind(b"\n") + 1
            if cut == 0 and chunk:  # no line break yet: read on
                if len(data) > MAX_LINE_BYTES:
                    raise InfrecError(
                        f"{path}:{line_no}: no line break in {len(data):,} bytes; this is not "
                        "delimited text"
                    )
                carry = data
                continue
            body, carry = data[:cut], data[cut:]
            if body:
                _check_text(body, path, line_no, offset)
                raw = body.replace(b"\r\n", b"\n") if b"\r" in body else body
                raw = raw if raw.endswith(b"\n") else raw + b"\n"
                block = Lines(raw, raw.count(b"\n"), line_no)
                yield block
                line_no += block.count
                offset += len(body)
            if not chunk:
                return


def first_line(path: Path) -> str:
    """The file's first line (a header), reading one block at most."""
    for block in line_blocks(path, 1 << 16):
        return block.lines[0]
    return ""


def _shown(text: str) -> str:
    return repr(text if len(text) <= SHOWN_CHARS else text[:SHOWN_CHARS] + "…")


def check_sep(sep: str) -> str:
    """``dataset.sep`` when it can separate fields: not empty, no line break or quote."""
    if not isinstance(sep, str) or not sep:
        raise InfrecError(
            "dataset.sep is empty; give the field separator, e.g. ',' or '\\t' (' ' splits on "
            "any run of whitespace)"
        )
    if any(c in sep for c in '\n\r"'):
        raise InfrecError(f"dataset.sep={sep!r} holds a line break or a quote; give e.g. ','")
    return sep


def quotes_apply(sep: str) -> bool:
    """Quoted fields are read for one-character separators (not for ``' '``, any whitespace run,
    nor for multi-character ones such as MovieLens' ``::``, where ``"`` is an ordinary
    character)."""
    return len(sep) == 1 and sep != " "


def field_count(line: str, sep: str) -> int:
    """How many fields ``line`` has (quoted separators not counted)."""
    if sep == " ":
        return len(line.split())
    if quotes_apply(sep) and '"' in line:
        try:
            return len(next(csv.reader([line], delimiter=sep, **CSV_DIALECT)))
        except (csv.Error, StopIteration):
            pass
    return line.count(sep) + 1


def _csv_rows(lines: list[str], numbers: np.ndarray, sep: str, path: Path) -> list[list[str]]:
    """The lines' fields by the :mod:`csv` module, one record per line (a quoted field that
    spans lines, or malformed quoting, is an error naming its line)."""
    try:
        rows = list(csv.reader(lines, delimiter=sep, **CSV_DIALECT))
    except csv.Error:
        rows = []
    if len(rows) != len(lines):
        raise _csv_error(lines, numbers, sep, path)
    return rows


def _csv_error(lines: list[str], numbers: np.ndarray, sep: str, path: Path) -> InfrecError:
    """The error for the first record that is not one well-quoted line (an error path: read
    again record by record to find it)."""
    reader = csv.reader(lines, delimiter=sep, **CSV_DIALECT)
    done = 0
    try:
        for _ in reader:
            if reader.line_num != done + 1:
                break
            done += 1
        problem = ""
    except csv.Error as e:
        problem = str(e)
    at = min(done, len(lines) - 1)
    if reader.line_num > done + 1:
        return InfrecError(
            f"{path}:{numbers[at]}: a quoted field is not closed on its line "
            f"({_shown(lines[at])}); fields spanning lines are not read"
        )
    return InfrecError(f"{path}:{numbers[at]}: malformed quoted field ({problem or '?'})")


FAST_DIGITS = 15
"""Most characters a number takes on the fast path (sign aside): its digits stay below 2**53,
so a float's are exact and one division by an exact power of ten gives the correctly rounded
value, as Python's ``float`` does."""


def fast_columns(
    block: Lines, sep: str, wanted: dict[int, np.dtype], n_min: int, n_max: int | None
) -> dict[int, np.ndarray] | None:
    """The ``wanted`` fields (index → integer or float dtype) of every line of ``block``, parsed
    from its bytes with NumPy alone — or ``None`` when the block is not of the plain kind this
    handles, and the general path (:func:`fields`, :func:`parse_column`) must read it.

    Plain: a one-byte separator (not ``' '``), no ``"``, every line with the same number of
    fields (between ``n_min`` and ``n_max``; so no blank line), and every wanted field
    ``-?[0-9]+`` for integers or ``-?[0-9]*.?[0-9]*`` for floats, at most :data:`FAST_DIGITS`
    characters. Such a field means the same to Python's ``int``/``float`` (what the general path
    uses), so either path gives the same arrays; anything else — signs, spaces, exponents, NaN,
    errors to report with their line — goes the general way.
    """
    if len(sep) != 1 or sep == " " or not sep.isascii() or b'"' in block.raw:
        return None
    pad = b" " * FAST_DIGITS  # a window ending at the first field's end starts in here
    buf = np.frombuffer(pad + block.raw, np.uint8)
    ends = np.flatnonzero((buf == ord(sep)) | (buf == ord("\n")))  # where each field ends
    n_lines = block.count
    width = len(ends) // n_lines if n_lines else 0
    if width < n_min or (n_max is not None and width > n_max) or len(ends) != width * n_lines:
        return None
    ends = ends.reshape(n_lines, width)
    if not np.all(buf[ends[:, -1]] == ord("\n")):  # each line's last field ends its line
        return None
    out = {}
    for col, dtype in wanted.items():
        start = ends[:, col - 1] + 1 if col else np.concatenate([[len(pad)], ends[:-1, -1] + 1])
        values = _fast_number(buf, start, ends[:, col], dtype.kind == "f")
        if values is None:
            return None
        out[col] = values.astype(dtype, copy=False)
    return out


def _fast_number(
    buf: np.ndarray, start: np.ndarray, end: np.ndarray, real: bool
) -> np.ndarray | None:
    """The numbers in ``buf[start:end]`` (one per row; see :func:`fast_columns` for the
    grammar), or ``None`` if any is not one.

    Each field's last ``size`` characters are copied into a ``position × row`` array at once,
    right-aligned (``buf`` starts with ``size`` bytes of padding, so every window lies inside
    it); what lies before a field (and a decimal point) becomes ``'0'``, which does
    not change an integer read left to right, so the digits fold in position by position (at
    most :data:`FAST_DIGITS` steps over all rows) in exact integers. A point ``q`` places from
    the right is then taken out again: ``total % 10**q + total // 10**(q + 1) * 10**q``.
    """
    negative = buf[start] == ord("-")
    length = end - start - negative
    if len(length) == 0:
        return np.zeros(0, np.float64 if real else np.int64)
    if length.min() < 1 or length.max() > FAST_DIGITS:
        return None
    size = int(length.max())
    chars = np.ascontiguousarray(sliding_window_view(buf, size)[end - size].T)
    before = np.arange(size)[:, None] < size - length
    point = (chars == ord(".")) & ~before if real else None
    digits = np.where(before | point if real else before, np.uint8(0), chars - np.uint8(ord("0")))
    if np.any(digits > 9):  # anything else wrapped past 9
        return None
    total = np.zeros(len(end), np.int64)
    for j in range(size):
        total *= 10
        total += digits[j]
    if not real:
        return np.where(negative, -total, total)
    at, row = np.divmod(np.flatnonzero(point), len(end))
    if len(row) and (np.bincount(row).max() > 1 or length[row].min() < 2):
        return None  # two points, or a point alone
    scale = np.ones(len(end))
    places = size - 1 - at
    total[row] = total[row] % 10**places + total[row] // 10 ** (places + 1) * 10**places
    scale[row] = 10.0**places
    value = total / scale
    return np.where(negative, -value, value)


Column = Sequence[str]
"""One field of every kept line, as the strings the file holds."""


def fields(
    lines: list[str],
    numbers: np.ndarray,
    sep: str,
    n_min: int,
    path: Path,
    n_max: int | None = None,
    hint: str = "check dataset.sep and dataset.columns",
) -> tuple[list[Column], np.ndarray]:
    """(the first ``n_min`` fields of the non-empty ``lines``, one sequence per field; the
    lines' numbers).

    ``numbers`` are the lines' numbers in the file; ``sep == " "`` splits on any run of
    whitespace. A non-empty line with fewer than ``n_min`` fields — or more than ``n_max`` when
    given — is an error naming it (``hint`` says what to do). Blocks holding a ``"`` are read
    with RFC 4180 quoting (:func:`quotes_apply`). When every line has the same number of fields
    the block is split by two C-level string operations and each field is a strided slice of
    the tokens; otherwise line by line.
    """
    check_sep(sep)
    rows: list[list[str]] | None = None
    joined = ""
    if sep == " ":
        rows = [ln.split() for ln in lines]
    else:
        joined = "\n".join(lines)
        if quotes_apply(sep) and '"' in joined:
            rows = _csv_rows(lines, numbers, sep, path)
    if rows is not None:
        counts = np.fromiter(map(len, rows), np.int64, len(rows))
        blank = counts == 0
    else:
        blank = np.fromiter(map(len, lines), np.int64, len(lines)) == 0
        counts = np.fromiter(map(str.count, lines, repeat(sep)), np.int64, len(lines)) + 1
    bad = (counts < n_min) if n_max is None else ((counts < n_min) | (counts > n_max))
    wrong = np.flatnonzero(bad & ~blank)
    if len(wrong):
        k = int(wrong[0])
        want = f"at least {n_min}" if n_max is None or counts[k] < n_min else f"at most {n_max}"
        raise InfrecError(
            f"{path}:{numbers[k]}: expected {want} fields separated by {sep!r}, got {counts[k]} "
            f"({_shown(lines[k])}); {hint}"
        )
    keep = np.flatnonzero(~blank)
    numbers = np.asarray(numbers)[keep]
    if len(keep) == 0:
        return [[] for _ in range(n_min)], numbers
    n_fields = counts[keep]
    if rows is None and n_fields.min() == n_fields.max():
        if len(keep) != len(lines):
            joined = "\n".join(compress(lines, ~blank))
        tokens = joined.replace(sep, "\n").split("\n")
        width = int(n_fields[0])
        return [tokens[c::width] for c in range(n_min)], numbers
    if rows is None:
        rows = [lines[i].split(sep, n_min) for i in keep]
    elif len(keep) != len(rows):
        rows = [rows[i] for i in keep]
    columns = list(zip(*(r[:n_min] for r in rows), strict=True))
    return columns, numbers


def parse_column(
    values: Column, numbers: np.ndarray, path: Path, kind: str, as_type: type | str
) -> np.ndarray:
    """``values`` (strings) as ``as_type``: ``str`` (stripped, at most :data:`MAX_ID_CHARS`),
    an integer or float type (Python's ``int``/``float`` syntax, as NumPy's casts), or a
    ``datetime64`` unit. A value that is not one, or out of range, names its line; so does a
    date that is none (``NaT``). A float too large for ``as_type`` becomes ``inf`` (for the
    caller's finiteness check)."""
    n = len(values)
    if as_type is str:
        out = np.array(list(map(str.strip, values)), dtype=str)
        if n and out.dtype.itemsize > 4 * MAX_ID_CHARS:
            _too_long(values, numbers, path, kind)
        return out
    dtype = np.dtype(as_type)
    try:
        with np.errstate(over="ignore", invalid="ignore"):
            if dtype.kind in "iu":
                return np.fromiter(map(int, values), dtype, n)
            if dtype.kind == "f":
                return np.fromiter(map(float, values), dtype, n)
            out = np.array(values, dtype=str).astype(dtype)
    except (ValueError, OverflowError, TypeError):
        _first_bad(values, numbers, path, kind, as_type)
        raise InfrecError(f"{path}: a {kind} could not be read as {as_type}") from None
    if out.dtype.kind == "M" and np.any(np.isnat(out)):
        bad = int(np.flatnonzero(np.isnat(out))[0])
        raise InfrecError(f"{path}:{numbers[bad]}: {kind} {_shown(values[bad])} is no date")
    return out


def _too_long(values: Column, numbers: np.ndarray, path: Path, kind: str) -> None:
    lengths = np.fromiter(map(len, map(str.strip, values)), np.int64, len(values))
    bad = int(np.argmax(lengths))
    raise InfrecError(
        f"{path}:{numbers[bad]}: a {kind} of {lengths[bad]:,} characters (at most "
        f"{MAX_ID_CHARS}: {_shown(values[bad])}); check dataset.sep and dataset.columns"
    )


def _first_bad(
    values: Column, numbers: np.ndarray, path: Path, kind: str, as_type: type | str
) -> None:
    """Raise the error of the first value that is not an ``as_type`` (an error path: a loop)."""
    dtype = np.dtype(as_type)
    for number, value in zip(numbers, values, strict=True):
        try:
            with np.errstate(over="ignore", invalid="ignore"):
                if dtype.kind in "iu":
                    np.array(int(value), dtype)
                elif dtype.kind == "f":
                    float(value)
                else:
                    np.array([value], dtype=str).astype(dtype)
        except OverflowError:
            raise InfrecError(
                f"{path}:{number}: {kind} {_shown(value.strip())} is out of range for {dtype}"
            ) from None
        except (ValueError, TypeError):
            hint = " (set dataset.string_ids=true for non-numeric ids)" if "id" in kind else ""
            raise InfrecError(
                f"{path}:{number}: non-numeric {kind} {_shown(value.strip())}{hint}"
            ) from None
