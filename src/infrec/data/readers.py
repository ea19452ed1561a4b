"""One reader per raw format. Each returns :class:`Interactions` in file order.

Ids are parsed as integers unless ``string_ids`` is set (Amazon-style tokens such as ``A1B2C3``);
a non-numeric or out-of-range id or rating, a NaN or infinite rating or timestamp, bytes that are
not UTF-8 text, a NUL byte, or an archive handed as a text file are reported with their file and
line as one :class:`~infrec.errors.InfrecError`. Text files may be gzip-compressed (read
transparently, by their first bytes, whatever their name). Text is read in bounded blocks and
parsed column-wise (:mod:`infrec.data.text`): memory is one block plus the parsed NumPy columns.
The paper's published split (HDF5 + ``.npz``) is checked with :mod:`infrec.validate` before use.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from itertools import compress, repeat
from pathlib import Path
from typing import Any

import numpy as np

from infrec.data.text import (
    Lines,
    check_sep,
    fast_columns,
    field_count,
    fields,
    first_line,
    line_blocks,
    parse_column,
)
from infrec.errors import InfrecError
from infrec.validate import INT_KINDS, REAL_KINDS, check_array, load_npz


@dataclass(frozen=True)
class Interactions:
    """Raw (user, item[, rating, timestamp]) rows, one per line of the source file."""

    users: np.ndarray
    items: np.ndarray
    ratings: np.ndarray | None = None
    timestamps: np.ndarray | None = None
    split: np.ndarray | None = None
    """Published split labels (0 train, 1 validation, 2 test, -1 dropped), used as-is."""
    source: str = ""

    def __len__(self) -> int:
        return len(self.users)


def _require_file(path: str | Path) -> Path:
    """``path`` when it is a regular file; a folder, a missing path or a special file (a FIFO
    would block the read forever) is one error naming it."""
    path = Path(path)
    if path.is_dir():
        raise InfrecError(
            f"{path}: a folder, not a file; set dataset.path to the ratings file (or "
            "dataset.filename to its name in this folder)"
        )
    if not path.is_file():
        raise InfrecError(
            f"{path}: file not found; set dataset.path to the file (or its folder), "
            "or run `infrec-fetch dataset=<name>` for datasets with a public source"
            if not path.exists()
            else f"{path}: not a regular file (a pipe or device); point dataset.path at a file"
        )
    return path


KINDS: dict[str, tuple[str, Any]] = {
    "user": ("user id", np.int64),
    "item": ("item id", np.int64),
    "rating": ("rating", np.float32),
    "timestamp": ("timestamp", np.float64),
}
"""Each column a delimited file may have: what it is called in errors, and its type."""
RATED = {"user": 0, "item": 1, "rating": 2}
"""The columns of a file of three or more fields a line, when ``dataset.columns`` is not given."""
IMPLICIT = {"user": 0, "item": 1}
"""The columns of a file of exactly two fields a line (implicit feedback, no rating)."""


def check_columns(columns: Any) -> dict[str, int]:
    """``dataset.columns`` as ``{column: 0-based field index}``: a mapping of the known columns
    (user and item required) to distinct non-negative integers."""
    if not isinstance(columns, Mapping):
        raise InfrecError(
            f"dataset.columns={columns!r} is not a mapping; give e.g. {{user: 0, item: 1}}"
        )
    unknown = sorted(set(map(str, columns)) - set(KINDS))
    if unknown:
        raise InfrecError(f"dataset.columns: unknown {unknown}; the columns are {list(KINDS)}")
    for key in ("user", "item"):
        if columns.get(key) is None:
            raise InfrecError(f"dataset.columns: missing '{key}'; give its 0-based field index")
    out = {}
    for key, value in columns.items():
        if value is None:
            continue
        try:
            index = operator.index(value) if not isinstance(value, bool) else -1
        except TypeError:
            index = -1
        if index < 0:
            raise InfrecError(
                f"dataset.columns.{key}={value!r} is not a 0-based field index (0, 1, 2, ...)"
            )
        out[str(key)] = index
    if len(set(out.values())) != len(out):
        raise InfrecError(f"dataset.columns={out} names one field twice")
    return out


def read_delimited(
    path: str | Path,
    *,
    sep: str = ",",
    columns: Mapping[str, int] | None = None,
    header: bool = False,
    string_ids: bool = False,
) -> Interactions:
    """Generic delimited text: ``columns`` maps user/item/rating/timestamp to 0-based field indices.

    ``user`` and ``item`` are required; ``rating`` and ``timestamp`` are optional; fields past
    the last one named are ignored. Without ``columns`` the first non-empty data line decides:
    exactly two fields read the file as ``user,item`` — implicit feedback, no ratings — and then
    every line must have two; three or more read ``user,item,rating``. A given ``columns`` keeps
    its meaning whatever the file holds. Quoted fields (RFC 4180) are read for one-character
    separators; ``sep=' '`` splits on any run of whitespace.
    """
    path = _require_file(path)
    check_sep(sep)
    cols = None if columns is None else check_columns(columns)
    id_type = str if string_ids else np.int64
    n_max, hint = None, "check dataset.sep and dataset.columns"
    parts: dict[str, list[np.ndarray]] = {}
    for block in line_blocks(path):
        if header and block.first == 1:
            block = block.without_first()
        if cols is None:
            lines = block.lines
            k = next((k for k, ln in enumerate(lines) if (ln.split() if sep == " " else ln)), -1)
            if k < 0:
                continue
            if field_count(lines[k], sep) == 2:
                cols, n_max = IMPLICIT, 2
                hint = (
                    f"line {block.first + k} has 2 fields, so the file is read as user,item "
                    "without ratings; give dataset.columns to say which field is which"
                )
            else:
                cols = RATED
        types = {key: id_type if "id" in KINDS[key][0] else KINDS[key][1] for key in cols}
        for key, values in _block_columns(block, cols, types, sep, n_max, hint, path).items():
            parts.setdefault(key, []).append(values)
    out = {
        key: np.concatenate(parts[key])
        if parts.get(key)
        else np.zeros(0, id_type if key in IMPLICIT else KINDS[key][1])
        for key in (cols or RATED)
    }
    return Interactions(
        out["user"], out["item"], out.get("rating"), out.get("timestamp"), source=str(path)
    )


def _block_columns(
    block: Lines,
    cols: dict[str, int],
    types: dict[str, Any],
    sep: str,
    n_max: int | None,
    hint: str,
    path: Path,
) -> dict[str, np.ndarray]:
    """One block's columns: by :func:`~infrec.data.text.fast_columns` when the block is plain
    numbers, else field by field through the general path (which reports what is wrong)."""
    n_min = max(cols.values()) + 1
    if str not in types.values():
        wanted = {cols[key]: np.dtype(types[key]) for key in cols}
        fast = fast_columns(block, sep, wanted, n_min, n_max)
        if fast is not None:
            return {key: fast[cols[key]] for key in cols}
    numbers = block.first + np.arange(block.count)
    table, kept = fields(block.lines, numbers, sep, n_min, path, n_max, hint)
    out = {}
    for key, col in cols.items():
        out[key] = parse_column(table[col], kept, path, KINDS[key][0], types[key])
        if key in ("rating", "timestamp"):
            check_finite(out[key], kept, path, KINDS[key][0])
    return out


def check_finite(values: np.ndarray, numbers: np.ndarray, path: Path, kind: str = "rating") -> None:
    """A NaN or infinite value (a rating, a timestamp) is an error naming its line."""
    bad = np.flatnonzero(~np.isfinite(values))
    if len(bad):
        raise InfrecError(
            f"{path}:{numbers[bad[0]]}: {kind} {values[bad[0]]} is not a finite number"
        )


def read_movielens_dat(path: str | Path, **_: object) -> Interactions:
    """MovieLens 1M/10M ``ratings.dat``: ``user::item::rating::timestamp``."""
    return read_delimited(
        path, sep="::", columns={"user": 0, "item": 1, "rating": 2, "timestamp": 3}
    )


def read_movielens_100k(path: str | Path, **_: object) -> Interactions:
    """MovieLens-100K ``u.data``: tab-separated ``user item rating timestamp``."""
    return read_delimited(
        path, sep="\t", columns={"user": 0, "item": 1, "rating": 2, "timestamp": 3}
    )


def read_atomic(path: str | Path, *, string_ids: bool = False, **_: object) -> Interactions:
    """RecBole atomic ``.inter``: a tab-separated header of ``name:type`` fields, then rows.

    The user and item columns are the first fields named ``user_id``/``item_id`` (any type);
    rating and timestamp are used when present.
    """
    path = _require_file(path)
    head = first_line(path).split("\t")
    names = [h.split(":")[0] for h in head]
    wanted = {"user": "user_id", "item": "item_id", "rating": "rating", "timestamp": "timestamp"}
    columns = {k: names.index(v) for k, v in wanted.items() if v in names}
    for key in ("user", "item"):
        if key not in columns:
            raise InfrecError(
                f"{path}:1: RecBole header {head} has no '{wanted[key]}' field; "
                "is this an atomic .inter file?"
            )
    return read_delimited(path, sep="\t", columns=columns, header=True, string_ids=string_ids)


PAPER_FILES = ("total_data.hdf5", "index.npz")
MAX_INFLATION = 1000
"""An HDF5 array may declare at most this many times its file's size (plus 64 MiB): compressed
real data stays far below it, and a damaged header declaring terabytes is refused before NumPy
tries to allocate them."""


def read_paper_split(path: str | Path, **_: object) -> Interactions:
    """The paper's published split: a folder with ``total_data.hdf5`` (1-D ``user``/``item``
    arrays of non-negative integers, an optional finite ``rating``) and ``index.npz`` (``data``:
    one label per row, -1 dropped, 0 train, 1 validation, 2 test). Both are checked before use;
    a file that is not HDF5, a damaged one, or arrays of the wrong type, shape or range are one
    error naming the file."""
    folder = Path(path)
    if not folder.is_dir():
        raise InfrecError(
            f"{folder}: the paper's split is a folder holding {' and '.join(PAPER_FILES)}; "
            "point dataset.path at that folder"
        )
    data_file, index_file = (_require_file(folder / name) for name in PAPER_FILES)
    arrays = _read_hdf5(data_file)
    big = np.iinfo(np.int64).max
    users, items = (
        check_array(arrays[k], data_file, f"'{k}'", kinds=INT_KINDS, ndim=1, low=0, high=big)
        for k in ("user", "item")
    )
    ratings = arrays.get("rating")
    if ratings is not None:
        f32 = float(np.finfo(np.float32).max)
        ratings = check_array(
            ratings, data_file, "'rating'", kinds=REAL_KINDS, ndim=1, low=-f32, high=f32
        )
    for name, values in (("item", items), ("rating", ratings)):
        if values is not None and len(values) != len(users):
            raise InfrecError(f"{data_file}: {len(values)} {name}s for {len(users)} users")
    what = "the paper's split labels (index.npz with an array 'data')"
    raw = load_npz(index_file, ("data",), what)["data"]
    labels = check_array(
        raw, index_file, "split labels 'data'", kinds=INT_KINDS, ndim=1, low=-1, high=2
    )
    if len(labels) != len(users):
        raise InfrecError(
            f"{index_file}: {len(labels)} split labels for {len(users)} rows of {data_file}"
        )
    return Interactions(
        users.astype(np.int64),
        items.astype(np.int64),
        None if ratings is None else ratings.astype(np.float32),
        None,
        labels.astype(np.int64),
        source=str(folder),
    )


def _read_hdf5(file: Path) -> dict[str, np.ndarray]:
    """The ``user``, ``item`` and (if present) ``rating`` arrays of an HDF5 file, read whole
    after their declared type and size are checked; anything h5py cannot read is one error."""
    import h5py

    limit = MAX_INFLATION * file.stat().st_size + (64 << 20)
    try:
        with h5py.File(file, "r") as h:
            missing = [k for k in ("user", "item") if k not in h]
            if missing:
                raise InfrecError(
                    f"{file}: missing datasets {missing}; expected user, item, rating"
                )
            out = {}
            for key in ("user", "item", "rating"):
                if key not in h:
                    continue
                node = h[key]
                if not isinstance(node, h5py.Dataset):
                    raise InfrecError(f"{file}: '{key}' is a {type(node).__name__}, not an array")
                if node.dtype.kind not in REAL_KINDS:
                    raise InfrecError(f"{file}: '{key}' has dtype {node.dtype}, not numbers")
                if node.size * node.dtype.itemsize > limit:
                    raise InfrecError(
                        f"{file}: '{key}' declares {node.shape} values, more than a file of "
                        f"{file.stat().st_size:,} bytes holds; a damaged copy?"
                    )
                out[key] = np.asarray(node[()])
            return out
    except InfrecError:
        raise
    except (OSError, RuntimeError, KeyError, ValueError, TypeError, MemoryError) as e:
        text = (str(e).splitlines() or [type(e).__name__])[0][:160]
        raise InfrecError(f"{file}: not an HDF5 file, or a damaged copy ({text})") from None


NETFLIX_FILES = "combined_data_*.txt"


def read_netflix_prize(path: str | Path, **_: object) -> Interactions:
    """The Netflix Prize's ``combined_data_*.txt`` as downloaded (Kaggle's netflix-prize-data):
    a ``MovieID:`` line, then that movie's ``CustomerID,Rating,Date`` rows.

    ``path`` is one such file or the folder holding them (all are read, in name order; the
    folder's other files — probe, qualifying, titles — are not interactions). Dates become
    timestamps in seconds.
    """
    path = Path(path)
    files = sorted(path.glob(NETFLIX_FILES)) if path.is_dir() else [path]
    files = [_require_file(f) for f in files]
    if not files:
        raise InfrecError(
            f"{path}: no {NETFLIX_FILES} files in this folder; point dataset.path at the "
            "unpacked Kaggle download (netflix-prize-data)"
        )
    parts: list[tuple[np.ndarray, ...]] = []
    for file in files:
        movie = None
        for block in line_blocks(file):
            lines, numbers = block.lines, block.first + np.arange(len(block.lines))
            is_movie = np.fromiter(map(str.endswith, lines, repeat(":")), bool, len(lines))
            heads = np.flatnonzero(is_movie)
            ids = parse_column(
                [lines[h][:-1] for h in heads], numbers[heads], file, "movie id", np.int64
            )
            rows = np.flatnonzero(~is_movie)
            owner = (np.cumsum(is_movie) - 1)[rows]  # each row's movie, -1: the carried one
            table, kept = fields(list(compress(lines, ~is_movie)), numbers[rows], ",", 3, file)
            owner = owner[np.searchsorted(numbers[rows], kept)]
            if movie is None and len(owner) and owner[0] < 0:
                raise InfrecError(
                    f"{file}:{kept[0]}: a rating row before any 'MovieID:' line; is this a "
                    f"Netflix Prize {NETFLIX_FILES} file?"
                )
            lookup = np.concatenate([[-1 if movie is None else movie], ids])
            days = parse_column(table[2], kept, file, "date", "datetime64[D]")
            parts.append(
                (
                    parse_column(table[0], kept, file, "customer id", np.int64),
                    lookup[owner + 1],
                    parse_column(table[1], kept, file, "rating", np.float32),
                    days.astype(np.int64).astype(np.float64) * 86400.0,
                )
            )
            check_finite(parts[-1][2], kept, file)
            movie = int(ids[-1]) if len(ids) else movie
    users, items, ratings, stamps = (
        np.concatenate([p[j] for p in parts]) if parts else np.zeros(0) for j in range(4)
    )
    return Interactions(
        users.astype(np.int64), items.astype(np.int64), ratings, stamps, source=str(path)
    )


READERS: dict[str, Callable[..., Interactions]] = {
    "movielens_dat": read_movielens_dat,
    "movielens_100k": read_movielens_100k,
    "atomic": read_atomic,
    "delimited": read_delimited,
    "paper_split": read_paper_split,
    "netflix_prize": read_netflix_prize,
}

FOLDER_FORMATS = ("paper_split", "netflix_prize")
"""Formats whose ``dataset.path`` may be a folder (read whole, not one ``dataset.filename``)."""


def get_reader(fmt: str) -> Callable[..., Interactions]:
    try:
        return READERS[fmt]
    except KeyError:
        raise InfrecError(
            f"dataset.format: unknown format {fmt!r}; choose one of {sorted(READERS)}"
        ) from None
