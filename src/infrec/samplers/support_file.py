"""Supports as artifacts: one ``.npz`` (sparse or dense matrix + JSON metadata), written atomically.

Metadata records where a support came from (dataset name and split hash, item count, sampler
config, seed, and for Distill-CF the best step and validation metric), so ``from_file`` can refuse a
support made for another dataset. (:func:`infrec.data.matrix.binarize` turns a real-valued support
into 0/1 rows for models that need them.)

Every support read back — ``sampler=from_file`` or Distill-CF's cache — is untrusted and goes
through :func:`load_support`: the archive (no pickles), the CSR structure or the dense array,
values finite and in ``[0, 1]``, metadata types and ranges (:mod:`infrec.validate`). The file also
stores a SHA-256 of its matrix, so a matrix swapped into another file's metadata is caught.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from infrec.errors import InfrecError
from infrec.paths import atomic_path
from infrec.validate import (
    check_array,
    check_csr,
    check_meta,
    check_shape,
    load_npz,
    parse_json,
)

WHAT = "a support file saved by infrec"
META_FIELDS = {
    "dataset": (str, None, None),
    "split_key": (str, None, None),
    "best_step": (int, 0, None),
    "steps_run": (int, 0, None),
    "gamma": (int, 1, None),
    "best_lambda": ((int, float), 0, None),
    "best_val_hr": ((int, float), 0, 1),
    "seconds": ((int, float), 0, None),
    "seconds_per_step": ((int, float), 0, None),
    "config": (dict, None, None),
    "history": (list, None, None),
    "init_users": (list, None, None),
}
"""What a support's metadata may hold (all optional) and their types and ranges."""


def matrix_digest(matrix: sp.csr_matrix | np.ndarray) -> str:
    """SHA-256 of a support's shape, structure and float32 values (the content hash)."""
    h = hashlib.sha256()
    if sp.issparse(matrix):
        m = sp.csr_matrix(matrix)
        parts = [np.asarray(m.shape, np.int64), m.indptr.astype(np.int64)]
        parts += [m.indices.astype(np.int64), m.data.astype(np.float32)]
    else:
        dense = np.ascontiguousarray(matrix, np.float32)
        parts = [np.asarray(dense.shape, np.int64), dense]
    for part in parts:
        h.update(np.ascontiguousarray(part).tobytes())
    return h.hexdigest()


def save_support(path: str | Path, matrix: sp.spmatrix | np.ndarray, meta: dict[str, Any]) -> Path:
    """Write ``matrix`` (CSR or dense) and ``meta`` to ``path``; never leaves a half file."""
    path = Path(path)
    with atomic_path(path) as tmp:
        write_support(tmp, matrix, meta)
    return path


def write_support(path: Path, matrix: sp.spmatrix | np.ndarray, meta: dict[str, Any]) -> None:
    """Write a support file at ``path`` as it is (callers stage it: :func:`save_support`,
    or a set of files published together)."""
    if sp.issparse(matrix):
        m = sp.csr_matrix(matrix)
        m.data = m.data.astype(np.float32)
        arrays = {
            "format": np.asarray("csr"),
            "data": m.data,
            "indices": m.indices,
            "indptr": m.indptr,
            "shape": np.asarray(m.shape, np.int64),
        }
    else:
        m = np.asarray(matrix, np.float32)
        arrays = {"format": np.asarray("dense"), "dense": m}
    text = json.dumps(meta, default=str)
    with Path(path).open("wb") as f:
        np.savez_compressed(f, meta=np.asarray(text), sha256=np.asarray(matrix_digest(m)), **arrays)


def _text(arrays: dict[str, np.ndarray], key: str, path: Path) -> str:
    value = arrays[key]
    if value.dtype.kind != "U" or value.ndim != 0:
        raise InfrecError(f"{path}: {key} is not a text field ({value.dtype}, shape {value.shape})")
    return str(value)


def load_support(path: str | Path) -> tuple[sp.csr_matrix | np.ndarray, dict[str, Any]]:
    """The matrix and metadata saved by :func:`save_support`, each checked before use.

    A missing, damaged or foreign file, a broken CSR structure, values outside ``[0, 1]``, NaN,
    metadata of the wrong type or range, or a matrix whose content hash differs from the one
    stored is one :class:`~infrec.errors.InfrecError` naming the file.
    """
    path = Path(path)
    if not path.is_file():
        raise InfrecError(f"{path}: support file not found; set sampler.path to a saved .npz")
    arrays = load_npz(path, ("format", "meta"), WHAT)
    fmt = _text(arrays, "format", path)
    meta = check_meta(parse_json(_text(arrays, "meta", path), path, "metadata"), path, META_FIELDS)
    if fmt == "csr":
        for key in ("data", "indices", "indptr", "shape"):
            if key not in arrays:
                raise InfrecError(f"{path}: not {WHAT}: the CSR array {key!r} is missing")
        shape = check_shape(arrays["shape"], path, "support shape")
        matrix = check_csr(
            arrays["indptr"],
            arrays["indices"],
            arrays["data"],
            shape,
            path,
            "support",
            low=0.0,
            high=1.0,
        )
    elif fmt == "dense":
        if "dense" not in arrays:
            raise InfrecError(f"{path}: not {WHAT}: the dense array is missing")
        dense = check_array(arrays["dense"], path, "support values", ndim=2, low=0.0, high=1.0)
        matrix = np.asarray(dense, np.float32)
    else:
        raise InfrecError(f"{path}: unknown support format {fmt!r} (csr or dense)")
    if "sha256" in arrays:  # files from before the content hash load without the check
        stored = _text(arrays, "sha256", path)
        if stored != matrix_digest(matrix):
            raise InfrecError(
                f"{path}: the support matrix does not match the content hash stored with it "
                "(the file was edited or its matrix swapped); make it again"
            )
    return matrix, meta


def check_fits(path: str | Path, matrix: sp.csr_matrix | np.ndarray, meta: dict, split) -> None:
    """A support loaded from ``path`` was made for ``split``: its item count, and its split
    hash when the file records one, match (a support of another dataset is refused)."""
    if matrix.shape[1] != split.n_items:
        raise InfrecError(
            f"{path}: support has {matrix.shape[1]} items, dataset '{split.name}' has "
            f"{split.n_items}; it was made for another dataset"
        )
    if meta.get("split_key") and split.key and meta["split_key"] != split.key:
        raise InfrecError(
            f"{path}: made from dataset '{meta.get('dataset')}' "
            f"(split {meta['split_key']}), not '{split.name}' (split {split.key})"
        )
