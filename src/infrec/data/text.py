"""Delimited text read in bounded blocks and parsed column-wise (no Python object per field kept).

A file (plain or gzip, told by its first bytes) is read ``BLOCK_BYTES`` at a time and cut at the
last line break, so memory is one block's lines plus the NumPy columns of what was parsed — not
every row as Python strings (which took 4.3 GB at 12 M rows). A block whose non-empty lines all
have the same field count is split with two C-level string operations (each separator and line
break becomes one, then one split) into a ``lines × fields`` string array; ragged blocks are split
line by line. Errors name the file and line: bytes that are not UTF-8, a damaged gzip stream, a
line with too few fields.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import compress, repeat
from pathlib import Path
from typing import BinaryIO

import numpy as np

from infrec.errors import InfrecError

GZIP_MAGIC = b"\x1f\x8b"
BLOCK_BYTES = 16 << 20
"""Bytes read per block (a block's lines and string fields take ~5–10× this while parsed)."""


@dataclass(frozen=True)
class Lines:
    """Consecutive lines of a file (line breaks removed) and the number of the first one."""

    lines: list[str]
    first: int


def _open(path: Path) -> BinaryIO:
    with path.open("rb") as f:
        magic = f.read(2)
    return gzip.open(path, "rb") if magic == GZIP_MAGIC else path.open("rb")


def _decode(raw: bytes, path: Path, first_line: int, offset: int) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = first_line + raw.count(b"\n", 0, e.start)
        raise InfrecError(
            f"{path}:{line}: not UTF-8 text (byte 0x{raw[e.start]:02x} at offset "
            f"{offset + e.start}); give a delimited text file (plain or gzip), or set "
            "dataset.format for other formats"
        ) from None


def line_blocks(path: Path, block_bytes: int | None = None) -> Iterator[Lines]:
    """The file's lines, a block of whole lines at a time (``\\r\\n`` read as ``\\n``);
    ``block_bytes`` is :data:`BLOCK_BYTES` unless given, read when called (tests shrink it)."""
    block_bytes = block_bytes or BLOCK_BYTES
    carry, line_no, offset = b"", 1, 0
    with _open(path) as f:
        while True:
            try:
                chunk = f.read(block_bytes)
            except (OSError, EOFError) as e:
                raise InfrecError(f"{path}: a damaged gzip file ({e}); download it again") from None
            data = carry + chunk
            cut = len(data) if not chunk else data.rfind(b"\n") + 1
            if cut == 0 and chunk:  # no line break yet: read on
                carry = data
                continue
            body, carry = data[:cut], data[cut:]
            if body:
                text = _decode(body, path, line_no, offset).replace("\r\n", "\n")
                lines = text.removesuffix("\n").split("\n")
                yield Lines(lines, line_no)
                line_no += len(lines)
                offset += len(body)
            if not chunk:
                return


def first_line(path: Path) -> str:
    """The file's first line (a header), reading one block at most."""
    for block in line_blocks(path, 1 << 16):
        return block.lines[0]
    return ""


def fields(
    lines: list[str], numbers: np.ndarray, sep: str, n_min: int, path: Path
) -> tuple[np.ndarray, np.ndarray]:
    """(``rows × n_min`` field strings, their line numbers) of the non-empty ``lines``.

    ``numbers`` are the lines' numbers in the file; ``sep == " "`` splits on any run of
    whitespace. A non-empty line with fewer than ``n_min`` fields is an error naming it.
    """
    if not sep:
        raise InfrecError(
            "dataset.sep is empty; give the field separator, e.g. ',' or '\\t' (' ' splits on "
            "any run of whitespace)"
        )
    if sep == " ":
        rows = [ln.split() for ln in lines]
        counts = np.fromiter(map(len, rows), np.int64, len(rows))
        blank = counts == 0
    else:
        blank = np.fromiter(map(len, lines), np.int64, len(lines)) == 0
        counts = np.fromiter(map(str.count, lines, repeat(sep)), np.int64, len(lines)) + 1
    short = np.flatnonzero((counts < n_min) & ~blank)
    if len(short):
        bad = int(short[0])
        raise InfrecError(
            f"{path}:{numbers[bad]}: expected at least {n_min} fields separated by {sep!r}, "
            f"got {counts[bad]} ({lines[bad]!r}); check dataset.sep and dataset.columns"
        )
    keep = np.flatnonzero(~blank)
    numbers = np.asarray(numbers)[keep]
    if len(keep) == 0:
        return np.zeros((0, n_min), str), numbers
    n_fields = counts[keep]
    if sep != " " and n_fields.min() == n_fields.max():
        kept = lines if len(keep) == len(lines) else list(compress(lines, ~blank))
        tokens = "\n".join(kept).replace(sep, "\n").split("\n")
        table = np.array(tokens).reshape(len(keep), int(n_fields[0]))
        return table[:, :n_min], numbers
    rows = [rows[i] for i in keep] if sep == " " else [lines[i].split(sep) for i in keep]
    return np.array([r[:n_min] for r in rows]), numbers


def parse_column(
    values: np.ndarray, numbers: np.ndarray, path: Path, kind: str, as_type: type | str
) -> np.ndarray:
    """``values`` (strings) as ``as_type``; a value that is not one names its line."""
    if as_type is str:
        return np.char.strip(values)
    try:
        return values.astype(as_type)
    except ValueError:
        for number, value in zip(numbers, values, strict=True):
            try:
                np.array([value]).astype(as_type)
            except ValueError:
                hint = " (set dataset.string_ids=true for non-numeric ids)" if "id" in kind else ""
                raise InfrecError(
                    f"{path}:{number}: non-numeric {kind} {value.strip()!r}{hint}"
                ) from None
        raise
