"""Supports as artifacts: one ``.npz`` (sparse or dense matrix + JSON metadata), written atomically.

Metadata records where a support came from (dataset name and split hash, item count, sampler
config, seed, and for Distill-CF the best step and validation metric), so ``from_file`` can refuse a
support made for another dataset. :func:`binarize` exports the top entries of each row as 0/1 data
for models that need it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from infrec.errors import InfrecError
from infrec.paths import atomic_path


def save_support(path: str | Path, matrix: sp.spmatrix | np.ndarray, meta: dict[str, Any]) -> Path:
    """Write ``matrix`` (CSR or dense) and ``meta`` to ``path``; never leaves a half file."""
    path = Path(path)
    if sp.issparse(matrix):
        m = sp.csr_matrix(matrix)
        arrays = {
            "format": np.asarray("csr"),
            "data": m.data.astype(np.float32),
            "indices": m.indices,
            "indptr": m.indptr,
            "shape": np.asarray(m.shape),
        }
    else:
        arrays = {"format": np.asarray("dense"), "dense": np.asarray(matrix, np.float32)}
    with atomic_path(path) as tmp, tmp.open("wb") as f:
        np.savez_compressed(f, meta=np.asarray(json.dumps(meta, default=str)), **arrays)
    return path


def load_support(path: str | Path) -> tuple[sp.csr_matrix | np.ndarray, dict[str, Any]]:
    """The matrix and metadata saved by :func:`save_support`."""
    path = Path(path)
    if not path.is_file():
        raise InfrecError(f"{path}: support file not found; set sampler.path to a saved .npz")
    try:
        with np.load(path, allow_pickle=False) as z:
            fmt = str(z["format"])
            meta = json.loads(str(z["meta"]))
            if fmt == "csr":
                shape = tuple(int(s) for s in z["shape"])
                matrix = sp.csr_matrix((z["data"], z["indices"], z["indptr"]), shape=shape)
            elif fmt == "dense":
                matrix = np.asarray(z["dense"], np.float32)
            else:
                raise InfrecError(f"{path}: unknown support format {fmt!r}")
    except (KeyError, ValueError, OSError) as e:
        raise InfrecError(f"{path}: not a support file saved by infrec ({e})") from None
    return matrix, meta


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
