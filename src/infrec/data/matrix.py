"""Sparse user × item matrices and the prepared :class:`Split` (train/val/test CSR)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from infrec.errors import InfrecError
from infrec.paths import atomic_path


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
    order = np.argsort(-dense, axis=1, kind="stable")
    keep = np.arange(n_items)[None, :] < counts[:, None]
    rows = np.repeat(np.arange(n_rows), n_items).reshape(n_rows, n_items)
    out = sp.csr_matrix(
        (np.ones(int(keep.sum()), np.float32), (rows[keep], order[keep])), shape=dense.shape
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

    def save(self, path: Path) -> None:
        """Write atomically as one ``.npz`` (CSR components of the three parts)."""
        arrays: dict[str, np.ndarray] = {"shape": np.asarray(self.train.shape, np.int64)}
        for part in ("train", "val", "test"):
            m = getattr(self, part)
            arrays[f"{part}_indptr"] = m.indptr
            arrays[f"{part}_indices"] = m.indices
        with atomic_path(Path(path)) as tmp, tmp.open("wb") as f:
            np.savez(f, name=np.asarray(self.name), key=np.asarray(self.key), **arrays)

    @classmethod
    def load(cls, path: Path) -> Split:
        with np.load(path) as z:
            shape = tuple(int(s) for s in z["shape"])
            parts = {}
            for part in ("train", "val", "test"):
                indices = z[f"{part}_indices"]
                parts[part] = sp.csr_matrix(
                    (np.ones(len(indices), np.float32), indices, z[f"{part}_indptr"]), shape=shape
                )
            return cls(**parts, name=str(z["name"]), key=str(z["key"]))
