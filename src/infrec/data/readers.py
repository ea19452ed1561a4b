"""One reader per raw format. Each returns :class:`Interactions` in file order.

Ids are parsed as integers unless ``string_ids`` is set (Amazon-style tokens such as ``A1B2C3``);
a non-numeric id or rating, a NaN or infinite rating, or bytes that are not UTF-8 text are
reported with their file and line. Text files may be gzip-compressed (read transparently, by
their first bytes, whatever their name). Text is read in bounded blocks and parsed column-wise
(:mod:`infrec.data.text`): memory is one block plus the parsed NumPy columns.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from itertools import compress, repeat
from pathlib import Path

import numpy as np

from infrec.data.text import fields, first_line, line_blocks, parse_column
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
    id_type = str if string_ids else np.int64
    kinds = {
        "user": ("user id", id_type),
        "item": ("item id", id_type),
        "rating": ("rating", np.float32),
        "timestamp": ("timestamp", np.float64),
    }
    parts: dict[str, list[np.ndarray]] = {key: [] for key in columns}
    for block in line_blocks(path):
        lines, numbers = block.lines, block.first + np.arange(len(block.lines))
        if header and block.first == 1:
            lines, numbers = lines[1:], numbers[1:]
        table, numbers = fields(lines, numbers, sep, n_min, path)
        for key, col in columns.items():
            kind, as_type = kinds[key]
            parts[key].append(parse_column(table[:, col], numbers, path, kind, as_type))
        if "rating" in columns:
            check_finite(parts["rating"][-1], numbers, path)
    out = {
        key: np.concatenate(chunks) if chunks else np.zeros(0, kinds[key][1])
        for key, chunks in parts.items()
    }
    return Interactions(
        out["user"], out["item"], out.get("rating"), out.get("timestamp"), source=str(path)
    )


def check_finite(ratings: np.ndarray, numbers: np.ndarray, path: Path) -> None:
    """A NaN or infinite rating is an error naming its line."""
    bad = np.flatnonzero(~np.isfinite(ratings))
    if len(bad):
        raise InfrecError(
            f"{path}:{numbers[bad[0]]}: rating {ratings[bad[0]]} is not a finite number"
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


NETFLIX_FILES = "combined_data_*.txt"


def read_netflix_prize(path: str | Path, **_: object) -> Interactions:
    """The Netflix Prize's ``combined_data_*.txt`` as downloaded (Kaggle's netflix-prize-data):
    a ``MovieID:`` line, then that movie's ``CustomerID,Rating,Date`` rows.

    ``path`` is one such file or the folder holding them (all are read, in name order; the
    folder's other files — probe, qualifying, titles — are not interactions). Dates become
    timestamps in seconds.
    """
    path = Path(path)
    files = sorted(path.glob(NETFLIX_FILES)) if path.is_dir() else [_require_file(path)]
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
                np.array([lines[h][:-1] for h in heads], dtype=str),
                numbers[heads],
                file,
                "movie id",
                np.int64,
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
            days = parse_column(table[:, 2], kept, file, "date", "datetime64[D]")
            parts.append(
                (
                    parse_column(table[:, 0], kept, file, "customer id", np.int64),
                    lookup[owner + 1],
                    parse_column(table[:, 1], kept, file, "rating", np.float32),
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
