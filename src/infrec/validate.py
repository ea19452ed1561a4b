"""Checks every file the project reads back, before compiled code touches what it holds.

A file handed to infrec — a support from a colleague, a cache left by an older run, a
``metrics.json`` a report reads — is untrusted. SciPy and the kernels index memory with the
numbers such a file holds: a CSR column index past the item count reads out of bounds (a
segmentation fault), a negative one or a non-monotone ``indptr`` gives a traceback deep in a
library. Every reader goes through this module instead, and anything wrong is one
:class:`~infrec.errors.InfrecError` line naming the file and the problem.

- :func:`load_npz`: the arrays of an ``.npz`` (no pickles; a damaged or foreign archive named);
- :func:`check_array`: dtype kind, shape, finiteness and value range of one array;
- :func:`check_csr`: the full structure of a CSR matrix (indptr from 0, non-decreasing, ending at
  nnz; indices in range; shape consistent), returning the matrix only when it holds;
- :func:`check_meta`: types and ranges of a metadata mapping (JSON from a file);
- :func:`read_json`: a JSON file read and decoded, or the one-line error.
"""

from __future__ import annotations

import json
import math
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from infrec.errors import InfrecError

MAX_JSON_BYTES = 64 << 20
"""Larger JSON files than this are not run records; refuse them before reading them whole."""

MAX_INT = 2**63 - 1
"""Integers read from JSON beyond int64 are no count, index or seed (and overflow NumPy)."""

INT_KINDS = "iu"
FLOAT_KINDS = "f"
REAL_KINDS = "iuf"
"""NumPy dtype kinds: integers, floats, either (``b`` bool is neither)."""


def load_npz(path: str | Path, required: tuple[str, ...], what: str) -> dict[str, np.ndarray]:
    """Every array of the ``.npz`` at ``path``, read whole; ``required`` names must be present.

    Pickled objects are refused (``allow_pickle=False``); a missing, truncated, damaged or
    non-zip file is one error naming ``what`` the file should have been.
    """
    path = Path(path)
    if not path.is_file():
        raise InfrecError(f"{path}: {what} not found")
    try:
        with np.load(path, allow_pickle=False) as z:
            if not isinstance(z, np.lib.npyio.NpzFile):
                raise InfrecError(f"{path}: a single .npy array, not {what} (.npz)")
            missing = [k for k in required if k not in z.files]
            if missing:
                raise InfrecError(f"{path}: not {what}: arrays {missing} are missing")
            arrays = {k: z[k] for k in z.files}
    except InfrecError:
        raise
    except Exception as e:  # a foreign archive can fail anywhere in zipfile or NumPy
        raise InfrecError(f"{path}: not {what}, or a damaged copy ({_short(e)})") from None
    for key, value in arrays.items():  # NumPy hands a member without the .npy header as bytes
        if not isinstance(value, np.ndarray):
            raise InfrecError(f"{path}: not {what}: member {key!r} is not a NumPy array")
    return arrays


def _short(e: BaseException) -> str:
    text = str(e).splitlines()[0] if str(e) else type(e).__name__
    return text[:160]


def _name(source: str | Path, what: str) -> str:
    return f"{source}: {what}"


def check_array(
    array: Any,
    source: str | Path,
    what: str,
    *,
    kinds: str = REAL_KINDS,
    ndim: int | None = None,
    shape: tuple[int | None, ...] | None = None,
    finite: bool = True,
    low: float | None = None,
    high: float | None = None,
) -> np.ndarray:
    """``array`` as a NumPy array when its dtype kind is one of ``kinds``, its rank ``ndim``,
    its shape ``shape`` (``None`` entries free), every value finite and inside ``[low, high]``.
    """
    arr = np.asarray(array) if not isinstance(array, np.ndarray) else array
    label = _name(source, what)
    if arr.dtype.kind not in kinds:
        raise InfrecError(f"{label} has dtype {arr.dtype}, expected {_kinds(kinds)}")
    if ndim is not None and arr.ndim != ndim:
        raise InfrecError(f"{label} has {arr.ndim} dimensions, expected {ndim}")
    if shape is not None and not _shape_fits(arr.shape, shape):
        want_text = "×".join("*" if s is None else str(s) for s in shape)
        raise InfrecError(f"{label} has shape {arr.shape}, expected {want_text}")
    if arr.size == 0:
        return arr
    if finite and arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
        raise InfrecError(f"{label} holds NaN or infinite values")
    too_low = low is not None and arr.min() < low
    if too_low or (high is not None and arr.max() > high):
        found = (arr.min() if too_low else arr.max()).item()
        bounds = f"[{'-∞' if low is None else low}, {'∞' if high is None else high}]"
        raise InfrecError(f"{label} must lie in {bounds}; found {found!r}")
    return arr


def _shape_fits(got: tuple[int, ...], want: tuple[int | None, ...]) -> bool:
    return len(got) == len(want) and all(
        w is None or g == w for g, w in zip(got, want, strict=True)
    )


def _kinds(kinds: str) -> str:
    names = {"i": "integers", "u": "integers", "f": "floats", "b": "booleans", "U": "text"}
    return " or ".join(dict.fromkeys(names.get(k, k) for k in kinds))


def check_shape(shape: Any, source: str | Path, what: str = "shape") -> tuple[int, int]:
    """A matrix shape: two non-negative integers."""
    arr = check_array(shape, source, what, kinds=INT_KINDS, shape=(2,), low=0)
    if arr.max(initial=0) > np.iinfo(np.int64).max // 2:
        raise InfrecError(f"{_name(source, what)} {tuple(arr)} is not a plausible shape")
    return int(arr[0]), int(arr[1])


def check_csr(
    indptr: Any,
    indices: Any,
    data: Any,
    shape: tuple[int, int],
    source: str | Path,
    what: str = "matrix",
    *,
    low: float | None = None,
    high: float | None = None,
) -> sp.csr_matrix:
    """A CSR matrix from its components, only after its whole structure is checked.

    ``indptr`` has ``rows + 1`` integer entries, starts at 0, never decreases and ends at nnz;
    ``indices`` are integers in ``[0, cols)``; ``data`` (``None``: all ones) has nnz finite
    values inside ``[low, high]``. SciPy checks less and indexes with the rest, so nothing is
    handed to it before this holds.
    """
    rows, cols = shape
    label = _name(source, what)
    indptr = check_array(indptr, source, f"{what} indptr", kinds=INT_KINDS, ndim=1)
    indices = check_array(indices, source, f"{what} indices", kinds=INT_KINDS, ndim=1)
    if len(indptr) != rows + 1:
        raise InfrecError(f"{label}: indptr has {len(indptr)} entries for {rows} rows")
    nnz = len(indices)
    if indptr[0] != 0:
        raise InfrecError(f"{label}: indptr starts at {indptr[0]}, not 0")
    if indptr[-1] != nnz:
        raise InfrecError(f"{label}: indptr ends at {indptr[-1]}, but there are {nnz} indices")
    if rows and np.any(np.diff(indptr) < 0):
        row = int(np.flatnonzero(np.diff(indptr) < 0)[0])
        raise InfrecError(f"{label}: indptr decreases at row {row}")
    if nnz and (indices.min() < 0 or indices.max() >= cols):
        bad = indices.min() if indices.min() < 0 else indices.max()
        raise InfrecError(f"{label}: column index {bad} outside 0…{cols - 1}")
    if data is None:
        data = np.ones(nnz, np.float32)
    else:
        data = check_array(data, source, f"{what} values", ndim=1, low=low, high=high)
        if len(data) != nnz:
            raise InfrecError(f"{label}: {len(data)} values for {nnz} indices")
    index_type = np.int32 if max(cols, nnz) < np.iinfo(np.int32).max else np.int64
    return sp.csr_matrix(
        (
            np.asarray(data, np.float32),
            indices.astype(index_type, copy=False),
            indptr.astype(index_type, copy=False),
        ),
        shape=(rows, cols),
    )


Spec = tuple[type | tuple[type, ...], float | None, float | None]
"""A metadata field's allowed types and its ``[low, high]`` range (``None``: unbounded)."""


def check_meta(meta: Any, source: str | Path, fields: Mapping[str, Spec]) -> dict[str, Any]:
    """``meta`` when it is a mapping whose present ``fields`` have their types and ranges.

    Fields are optional (older files lack some); ``bool`` never counts as a number; a float
    field must be finite; an integer field accepts a whole float (``480.0``: JSON writers and
    older supports wrote counts so) and holds it as an ``int`` afterwards.
    """
    if not isinstance(meta, dict):
        raise InfrecError(f"{source}: metadata is {type(meta).__name__}, expected an object")
    for key, (types, low, high) in fields.items():
        if key not in meta or meta[key] is None:
            continue
        value = meta[key]
        allowed = types if isinstance(types, tuple) else (types,)
        numeric = any(t in (int, float) for t in allowed)
        if allowed == (int,) and isinstance(value, float) and value.is_integer():
            value = meta[key] = int(value)  # a count written as 480.0 is the count 480
        if (isinstance(value, bool) and bool not in allowed) or not isinstance(value, allowed):
            names = " or ".join(t.__name__ for t in allowed)
            raise InfrecError(f"{source}: metadata {key}={_shown(value)} is not {names}")
        if numeric and isinstance(value, int | float):
            if isinstance(value, float) and not math.isfinite(value):
                raise InfrecError(f"{source}: metadata {key}={value!r} is not finite")
            if (low is not None and value < low) or (high is not None and value > high):
                raise InfrecError(
                    f"{source}: metadata {key}={_shown(value)} outside [{low}, {high}]"
                )
            if isinstance(value, int) and abs(value) > MAX_INT:
                raise InfrecError(f"{source}: metadata {key}={_shown(value)} is out of range")
    return meta


def _shown(value: Any) -> str:
    """A value for an error line: its repr, cut to 60 characters."""
    if isinstance(value, int) and abs(value) >= 10**30:
        return f"an integer of {len(str(abs(value)))} digits"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def parse_json(text: str | bytes, source: str | Path, what: str) -> Any:
    """Decoded JSON text; anything else is one error naming ``source``."""
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as e:
        raise InfrecError(f"{source}: {what} is not valid JSON ({_short(e)})") from None


def read_json(path: str | Path, what: str = "JSON file") -> Any:
    """A JSON file's content, read whole; a missing, unreadable, huge or malformed file is one
    error naming it."""
    path = Path(path)
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):  # a named pipe would be waited on for ever
            raise InfrecError(f"{path}: {what} is not a regular file")
        size = info.st_size
        if size > MAX_JSON_BYTES:
            raise InfrecError(f"{path}: {what} of {size:,} bytes is too large to be one")
        raw = path.read_bytes()
    except OSError as e:
        raise InfrecError(f"{path}: cannot read {what} ({e.strerror or e})") from None
    return parse_json(raw, path, what)


def check_number_map(obj: Any, source: str | Path, what: str) -> dict[str, float]:
    """A flat ``{name: number}`` mapping (``metrics.json``): numbers, NaN allowed (a metric a
    run could not compute), never infinite."""
    if not isinstance(obj, dict):
        raise InfrecError(f"{source}: {what} is {type(obj).__name__}, expected an object")
    for key, value in obj.items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InfrecError(f"{source}: {what} entry {key!r} = {_shown(value)} is not a number")
        if isinstance(value, int) and abs(value) > MAX_INT:
            raise InfrecError(f"{source}: {what} entry {key!r} = {_shown(value)} is out of range")
        if isinstance(value, float) and math.isinf(value):
            raise InfrecError(f"{source}: {what} entry {key!r} = {value!r} is not finite")
    return obj
