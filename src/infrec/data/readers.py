"""One reader per raw format. Each returns :class:`Interactions` in file order.

Ids are parsed as integers unless ``string_ids`` is set (Amazon-style tokens such as ``A1B2C3``);
a non-numeric id or rating, a NaN or infinite rating, or bytes that are not UTF-8 text are
reported with their file and line. Text files may be gzip-compressed (read transparently, by
their first bytes, whatever their name). Parsing is column-wise with NumPy after one split per line.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from infrec.errors import InfrecError


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


def _require_file(path: Path) -> Path:
    path = Path(path)
    if not path.is_file():
        raise InfrecError(
            f"{path}: file not found; set dataset.path to the file (or its folder), "
            "or run `infrec-fetch dataset=<name>` for datasets with a public source"
        )
    return path


GZIP_MAGIC = b"\x1f\x8b"


def read_text(path: Path) -> str:
    """The file's text: UTF-8, gunzipped first when it starts with gzip's magic bytes."""
    raw = path.read_bytes()
    if raw[:2] == GZIP_MAGIC:
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as e:
            raise InfrecError(f"{path}: a damaged gzip file ({e}); download it again") from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw.count(b"\n", 0, e.start) + 1
        raise InfrecError(
            f"{path}:{line}: not UTF-8 text (byte 0x{raw[e.start]:02x} at offset {e.start}); "
            "give a delimited text file (plain or gzip), or set dataset.format for other formats"
        ) from None


def _split_lines(path: Path, sep: str, n_min: int, header: bool) -> tuple[list[list[str]], int]:
    """Split every non-empty line of ``path`` on ``sep``; return rows and the first data line no."""
    if not sep:
        raise InfrecError(
            "dataset.sep is empty; give the field separator, e.g. ',' or '\\t' (' ' splits on "
            "any run of whitespace)"
        )
    lines = read_text(path).splitlines()
    first = 1
    if header and lines:
        lines = lines[1:]
        first = 2
    rows = [ln.split(sep) if sep != " " else ln.split() for ln in lines]
    for offset, row in enumerate(rows):
        if row and row != [""] and len(row) < n_min:
            raise InfrecError(
                f"{path}:{first + offset}: expected at least {n_min} fields separated by "
                f"{sep!r}, got {len(row)} ({lines[offset]!r}); "
                "check dataset.sep and dataset.columns"
            )
    return rows, first


def _column(
    rows: list[list[str]], col: int, path: Path, first_line: int, kind: str, as_type: type
) -> np.ndarray:
    values = [r[col].strip() for r in rows if r and r != [""]]
    try:
        return np.asarray(values).astype(as_type) if values else np.zeros(0, as_type)
    except ValueError:
        line_nos = [first_line + i for i, r in enumerate(rows) if r and r != [""]]
        for line_no, v in zip(line_nos, values, strict=True):
            try:
                as_type(v)
            except ValueError:
                hint = (
                    " (set dataset.string_ids=true for non-numeric ids)" if kind != "rating" else ""
                )
                raise InfrecError(f"{path}:{line_no}: non-numeric {kind} {v!r}{hint}") from None
        raise


def read_delimited(
    path: str | Path,
    *,
    sep: str = ",",
    columns: dict[str, int] | None = None,
    header: bool = False,
    string_ids: bool = False,
) -> Interactions:
    """Generic delimited text: ``columns`` maps user/item/rating/timestamp to 0-based field indices.

    ``user`` and ``item`` are required; ``rating`` and ``timestamp`` are optional.
    """
    path = _require_file(path)
    columns = dict(columns or {"user": 0, "item": 1, "rating": 2})
    for key in ("user", "item"):
        if key not in columns or columns[key] is None:
            raise InfrecError(f"dataset.columns: missing '{key}'; give its 0-based field index")
    columns = {k: int(v) for k, v in columns.items() if v is not None}
    n_min = max(columns.values()) + 1
    rows, first = _split_lines(path, sep, n_min, header)
    id_type = str if string_ids else np.int64
    users = _column(rows, columns["user"], path, first, "user id", id_type)
    items = _column(rows, columns["item"], path, first, "item id", id_type)
    ratings = (
        _column(rows, columns["rating"], path, first, "rating", np.float32)
        if "rating" in columns
        else None
    )
    if ratings is not None and not np.all(np.isfinite(ratings)):
        bad = int(np.flatnonzero(~np.isfinite(ratings))[0])
        line_no = [first + i for i, r in enumerate(rows) if r and r != [""]][bad]
        raise InfrecError(f"{path}:{line_no}: rating {ratings[bad]} is not a finite number")
    stamps = (
        _column(rows, columns["timestamp"], path, first, "timestamp", np.float64)
        if "timestamp" in columns
        else None
    )
    return Interactions(users, items, ratings, stamps, source=str(path))


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
    text = read_text(path)
    head = text[: text.find("\n") if "\n" in text else len(text)].rstrip("\r").split("\t")
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


def read_paper_split(path: str | Path, **_: object) -> Interactions:
    """The paper's published split: a folder with ``total_data.hdf5`` and ``index.npz``."""
    import h5py

    folder = Path(path)
    data_file, index_file = folder / "total_data.hdf5", folder / "index.npz"
    for f in (data_file, index_file):
        _require_file(f)
    with h5py.File(data_file, "r") as h:
        missing = [k for k in ("user", "item") if k not in h]
        if missing:
            raise InfrecError(
                f"{data_file}: missing datasets {missing}; expected user, item, rating"
            )
        users = np.asarray(h["user"][:], np.int64)
        items = np.asarray(h["item"][:], np.int64)
        ratings = np.asarray(h["rating"][:], np.float32) if "rating" in h else None
    with np.load(index_file) as z:
        if "data" not in z:
            raise InfrecError(f"{index_file}: no array 'data' (the per-row split labels)")
        labels = np.asarray(z["data"], np.int64)
    if len(labels) != len(users):
        raise InfrecError(
            f"{index_file}: {len(labels)} split labels for {len(users)} rows of {data_file}"
        )
    return Interactions(users, items, ratings, None, labels, source=str(folder))


READERS: dict[str, Callable[..., Interactions]] = {
    "movielens_dat": read_movielens_dat,
    "movielens_100k": read_movielens_100k,
    "atomic": read_atomic,
    "delimited": read_delimited,
    "paper_split": read_paper_split,
}


def get_reader(fmt: str) -> Callable[..., Interactions]:
    try:
        return READERS[fmt]
    except KeyError:
        raise InfrecError(
            f"dataset.format: unknown format {fmt!r}; choose one of {sorted(READERS)}"
        ) from None
