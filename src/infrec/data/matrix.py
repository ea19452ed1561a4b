"""Sparse user × item matrices and the prepared :class:`Split` (train/val/test CSR)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from infrec.errors import InfrecError
from infrec.paths import atomic_path
from infrec.validate import check_csr, check_shape, load_npz, parse_json

SPLIT_FILE = "a prepared split saved by infrec"


def csr_from_pairs(users: np.ndarray, items: np.ndarray, shape: tuple[int, int]) -> sp.csr_matrix:
    """Binary float32 CSR with a 1 at every (user, item) pair; duplicates collapse to 1."""
    m = sp.csr_matrix(
        (np.ones(len(users), np.float32), (users.astype(np.int64), items.astype(np.int64))),
        shape=shape,
    )
    m.sum_duplicates()
    m.data[:] = 1.0
    m.sort_indices()
    return m


def sorted_unique(values: np.ndarray) -> np.ndarray:
    """The distinct values, sorted: one in-place sort and a comparison (``np.unique`` hashes
    integers in NumPy ≥ 2.3, which measured 20× slower on 10⁷ int64 keys)."""
    values = np.sort(values)
    keep = np.ones(len(values), bool)
    np.not_equal(values[1:], values[:-1], out=keep[1:])
    return values[keep]


def group_ranks(groups: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Each row's position (0, 1, …) in its group ordered by ascending ``keys`` (random keys: a
    shuffle). ``groups``: dense ints ≥ 0."""
    order = np.lexsort((keys, groups))
    counts = np.bincount(groups)
    starts = np.cumsum(counts) - counts
    rank = np.empty(len(groups), np.int64)
    rank[order] = np.arange(len(groups)) - starts[groups[order]]
    return rank


def row_index(rows: np.ndarray | slice) -> np.ndarray | slice:
    """``rows`` as a slice when they are consecutive ascending indices, else unchanged.

    Slicing a dense matrix is a view; fancy indexing copies the rows.
    """
    if isinstance(rows, slice):
        return rows
    rows = np.asarray(rows)
    if rows.ndim == 1 and len(rows) and bool(np.all(np.diff(rows) == 1)):
        return slice(int(rows[0]), int(rows[-1]) + 1)
    return rows


def dense_rows(
    m: sp.csr_matrix | np.ndarray, rows: np.ndarray | slice, dtype=np.float32
) -> np.ndarray:
    """Rows of a sparse or dense matrix as a dense C-contiguous array of ``dtype``."""
    block = m[rows]
    if sp.issparse(block):
        return block.toarray().astype(dtype, copy=False)
    return np.ascontiguousarray(block, dtype=dtype)


def binarize(matrix: sp.spmatrix | np.ndarray, per_row: int | None = None) -> sp.csr_matrix:
    """0/1 rows keeping each row's largest entries: ``per_row`` of them, or round(row sum)."""
    dense = matrix.toarray() if sp.issparse(matrix) else np.asarray(matrix, np.float32)
    n_rows, n_items = dense.shape
    if per_row is None:
        counts = np.clip(np.rint(dense.sum(1)).astype(np.int64), 1, n_items)
    else:
        if int(per_row) < 1:
            raise InfrecError(f"sampler.per_row={per_row}: must be ≥ 1")
        counts = np.full(n_rows, min(int(per_row), n_items))
    return top_per_row(dense, counts)


def top_per_row(scores: np.ndarray, counts: np.ndarray) -> sp.csr_matrix:
    """0/1 CSR with a 1 at each row's ``counts[r]`` largest ``scores`` (ties: lower column first).

    Vectorised: one stable argsort of the dense rows, no loop over rows.
    """
    n_rows, n_items = scores.shape
    order = np.argsort(-scores, axis=1, kind="stable")
    keep = np.arange(n_items)[None, :] < np.asarray(counts)[:, None]
    rows = np.repeat(np.arange(n_rows), n_items).reshape(n_rows, n_items)
    out = sp.csr_matrix(
        (np.ones(int(keep.sum()), np.float32), (rows[keep], order[keep])), shape=scores.shape
    )
    out.sort_indices()
    return out


@dataclass(frozen=True)
class Split:
    """A prepared dataset: per-user train/validation/test interactions over the same index space."""

    train: sp.csr_matrix
    val: sp.csr_matrix
    test: sp.csr_matrix
    name: str = ""
    key: str = ""

    @property
    def n_users(self) -> int:
        return self.train.shape[0]

    @property
    def n_items(self) -> int:
        return self.train.shape[1]

    @property
    def item_counts(self) -> np.ndarray:
        """Train interactions per item (the ``n_i`` of the PSP propensities)."""
        return np.bincount(self.train.indices, minlength=self.n_items).astype(np.int64)

    def describe(self) -> str:
        return (
            f"{self.name}: {self.n_users:,} users, {self.n_items:,} items; "
            f"{self.train.nnz:,} train / {self.val.nnz:,} val / {self.test.nnz:,} test interactions"
        )

    def digest(self) -> str:
        """SHA-256 of the three parts' shapes and structure (the cache's content hash)."""
        h = hashlib.sha256(np.asarray(self.train.shape, np.int64).tobytes())
        for part in (self.train, self.val, self.test):
            h.update(part.indptr.astype(np.int64).tobytes())
            h.update(part.indices.astype(np.int64).tobytes())
        return h.hexdigest()

    def save(self, path: Path, made_for: dict[str, Any] | None = None) -> None:
        """Write atomically as one ``.npz``: the CSR components of the three parts, the key and
        what it was made for (``made_for``, JSON), and :meth:`digest`."""
        arrays: dict[str, np.ndarray] = {"shape": np.asarray(self.train.shape, np.int64)}
        for part in ("train", "val", "test"):
            m = getattr(self, part)
            arrays[f"{part}_indptr"] = m.indptr
            arrays[f"{part}_indices"] = m.indices
        arrays["made_for"] = np.asarray(json.dumps(made_for or {}, sort_keys=True, default=str))
        arrays["sha256"] = np.asarray(self.digest())
        with atomic_path(Path(path)) as tmp, tmp.open("wb") as f:
            np.savez(f, name=np.asarray(self.name), key=np.asarray(self.key), **arrays)

    @classmethod
    def load(cls, path: Path) -> tuple[Split, dict[str, Any]]:
        """The split saved at ``path`` and what it was made for, each part's structure checked
        (:func:`infrec.validate.check_csr`) and its content hash compared before use."""
        names = [f"{p}_{c}" for p in ("train", "val", "test") for c in ("indptr", "indices")]
        z = load_npz(path, ("shape", "name", "key", "made_for", "sha256", *names), SPLIT_FILE)
        texts = {}
        for key in ("name", "key", "made_for", "sha256"):
            if z[key].dtype.kind != "U" or z[key].ndim != 0:
                raise InfrecError(f"{path}: {key} is not a text field; not {SPLIT_FILE}")
            texts[key] = str(z[key])
        shape = check_shape(z["shape"], path, "split shape")
        parts = {
            part: check_csr(
                z[f"{part}_indptr"], z[f"{part}_indices"], None, shape, path, f"{part} matrix"
            )
            for part in ("train", "val", "test")
        }
        split = cls(**parts, name=texts["name"], key=texts["key"])
        if split.digest() != texts["sha256"]:
            raise InfrecError(f"{path}: content does not match its stored hash (damaged)")
        made_for = parse_json(texts["made_for"], path, "made_for")
        if not isinstance(made_for, dict):
            raise InfrecError(f"{path}: made_for is not an object; not {SPLIT_FILE}")
        return split, made_for
