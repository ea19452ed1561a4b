"""Supports as artifacts: one ``.npz`` (sparse or dense matrix + JSON metadata), written atomically.

Metadata records where a support came from (dataset name and split hash, item count, sampler
config, seed, and for Distill-CF the best step and validation metric), so ``from_file`` can refuse a
support made for another dataset. (:func:`infrec.data.matrix.binarize` turns a real-valued support
into 0/1 rows for models that need them.)
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
