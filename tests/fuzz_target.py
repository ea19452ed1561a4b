"""Fuzzing targets: the public loaders a mutated file reaches, and what a correct outcome is.

Each target is one public entry point (a reader from :func:`infrec.data.readers.get_reader`,
:func:`~infrec.samplers.support_file.load_support`, :meth:`~infrec.data.matrix.Split.load`,
:func:`~infrec.reports.common.collect_runs`) and the invariants a value it returns must hold.
An outcome is one of:

- ``loaded``: the loader returned and the value holds the target's invariants (then it is used
  as compiled code would use it: a CSR matrix is densified, transposed, summed);
- ``error``: an :class:`~infrec.errors.InfrecError` of one line starting with the path;
- ``bad-error``: an ``InfrecError`` of several lines, or not starting with the path;
- ``bad-load``: the loader returned a value that breaks the invariants (an index out of range,
  a NaN rating, a lossy cast of what the file holds);
- ``traceback``: any other exception;
- ``crash``: told by the parent (``tests/fuzz_cases.py``): the worker died or hung.

Run as ``python tests/fuzz_target.py --worker`` it is a long-lived worker: one JSON case per line
on stdin (``{"target": ..., "path": ...}``), one JSON outcome per line on stdout. Run as
``python tests/fuzz_target.py TARGET PATH`` it replays one case in this process (the outcome is
printed, and a traceback is shown as Python shows it).
"""

from __future__ import annotations

import json
import math
import os
import sys
import traceback
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MEMORY_LIMIT = 4 << 30
"""Address-space limit of a worker: a loader allocating more gets a ``MemoryError``."""

LABELS = (-1, 0, 1, 2)
"""The paper split's per-row labels: dropped, train, validation, test."""

DELIMITED = {
    "sep": ",",
    "columns": {"user": 0, "item": 1, "rating": 2, "timestamp": 3},
    "header": True,
}
"""How the ``delimited`` target reads its CSV (``user,item,rating,timestamp`` after a header)."""


@dataclass(frozen=True)
class Target:
    """A public loader and the checks of what it returns (a list of broken invariants)."""

    load: Callable[[Path], Any]
    check: Callable[[Any, Path], list[str]]


def _reader(fmt: str, **kwargs: Any) -> Callable[[Path], Any]:
    def load(path: Path) -> Any:
        from infrec.data.readers import get_reader

        return get_reader(fmt)(path, **kwargs)

    return load


def _finite(values: Any) -> bool:
    import numpy as np

    return values.dtype.kind in "iu" or bool(np.all(np.isfinite(values)))


def check_interactions(inter: Any, path: Path) -> list[str]:
    """Equal-length 1-D columns: integer ids, finite float ratings and timestamps, known labels
    (for the paper split: the file's values kept exactly)."""
    import numpy as np

    from infrec.data.readers import Interactions

    if not isinstance(inter, Interactions):
        return [f"returned {type(inter).__name__}, not Interactions"]
    problems = []
    n = len(inter.users)
    for name in ("users", "items", "ratings", "timestamps", "split"):
        col = getattr(inter, name)
        if col is None:
            if name in ("users", "items"):
                problems.append(f"{name} is None")
            continue
        if not isinstance(col, np.ndarray) or col.ndim != 1 or len(col) != n:
            problems.append(f"{name}: {getattr(col, 'shape', col)!r}, not 1-D of length {n}")
            continue
        want = "iu" if name in ("users", "items", "split") else "f"
        if col.dtype.kind not in want:
            problems.append(f"{name} has dtype {col.dtype}")
        elif not _finite(col):
            problems.append(f"{name} holds NaN or infinite values")
    if inter.split is not None and not np.isin(inter.split, LABELS).all():
        problems.append(f"split labels outside {LABELS}: {sorted(set(inter.split.tolist()))}")
    if not problems and path.is_dir() and (path / "total_data.hdf5").is_file():
        problems += _paper_split_kept(inter, path)
    return problems


def _paper_split_kept(inter: Any, folder: Path) -> list[str]:
    """The paper split's arrays hold what its files hold (no wrapped or truncated values)."""
    import h5py
    import numpy as np

    problems = []
    with h5py.File(folder / "total_data.hdf5", "r") as h:
        stored = {k: h[k][()] for k in ("user", "item", "rating") if k in h}
    with np.load(folder / "index.npz") as z:
        stored["split"] = z["data"]
    for key, name in (("user", "users"), ("item", "items"), ("rating", "ratings"), ("split",) * 2):
        got = getattr(inter, name)
        if key in stored and got is not None:
            want = np.asarray(stored[key])
            same = want.shape == got.shape and want.dtype.kind in "iufb"
            if same and key == "rating":  # float32 is the reader's precision
                same = bool(np.allclose(want.astype(np.float64), got, rtol=1e-6, atol=0))
            elif same:
                same = bool(np.all(want == got))
            if not same:
                problems.append(f"{name} differ from the file's {key} ({want.dtype} {want.shape})")
    return problems


def _check_matrix(m: Any, what: str, low: float | None, high: float | None) -> list[str]:
    """A CSR matrix (full structural check) or dense 2-D array, values finite in range; then
    used as compiled code uses it."""
    import numpy as np
    import scipy.sparse as sp

    if sp.issparse(m):
        if m.format != "csr":
            return [f"{what} is {m.format}, not CSR"]
        try:
            m.check_format(full_check=True)
        except (ValueError, TypeError) as e:
            return [f"{what} is not a valid CSR matrix: {e}"]
        values = m.data
    elif isinstance(m, np.ndarray):
        if m.ndim != 2:
            return [f"{what} has {m.ndim} dimensions"]
        values = m
    else:
        return [f"{what} is {type(m).__name__}"]
    if values.dtype.kind != "f" and values.dtype.kind not in "iub":
        return [f"{what} values have dtype {values.dtype}"]
    if values.size and not _finite(values):
        return [f"{what} holds NaN or infinite values"]
    if values.size and low is not None and (values.min() < low or values.max() > high):
        return [f"{what} values outside [{low}, {high}]: {values.min()}…{values.max()}"]
    rows, cols = m.shape
    if sp.issparse(m) and rows * cols <= 1 << 24:
        dense = m.toarray()
        if not np.isclose(dense.sum(), m.sum(), rtol=1e-3):
            return [f"{what} sums differ dense/sparse"]
        m.T.tocsr().sum(axis=0)
    return []


def check_support(loaded: Any, path: Path) -> list[str]:
    """A valid CSR or dense matrix with values in [0, 1] and a metadata mapping."""
    matrix, meta = loaded
    problems = [] if isinstance(meta, dict) else [f"metadata is {type(meta).__name__}"]
    return problems + _check_matrix(matrix, "support", 0.0, 1.0)


def check_split(loaded: Any, path: Path) -> list[str]:
    """Three valid CSR parts of one shape and a ``made_for`` mapping."""
    split, made_for = loaded
    problems = [] if isinstance(made_for, dict) else [f"made_for is {type(made_for).__name__}"]
    shapes = {getattr(split, p).shape for p in ("train", "val", "test")}
    if len(shapes) != 1:
        problems.append(f"parts have different shapes {shapes}")
    for part in ("train", "val", "test"):
        problems += _check_matrix(getattr(split, part), part, None, None)
    if not problems:
        split.item_counts  # noqa: B018 (a bincount over the indices)
    return problems


def check_runs(rows: Any, path: Path) -> list[str]:
    """A non-empty list of runs with text names and finite-or-NaN numeric metrics."""
    if not isinstance(rows, list) or not rows:
        return [f"returned {type(rows).__name__} {rows!r:.80}"]
    problems = []
    for row in rows:
        for key in ("dataset", "model", "sampler"):
            if not isinstance(row.get(key), str):
                problems.append(f"{key} = {row.get(key)!r:.60} is not text")
        budget = row.get("budget")
        if isinstance(budget, bool) or not isinstance(budget, int | float):
            problems.append(f"budget = {budget!r:.60} is not a number")
        for key, value in row["metrics"].items():
            if isinstance(value, bool) or not isinstance(value, int | float):
                problems.append(f"metric {key!r} = {value!r:.60} is not a number")
            elif isinstance(value, float) and math.isinf(value):
                problems.append(f"metric {key!r} is infinite")
    return problems


def _load_support(path: Path) -> Any:
    from infrec.samplers.support_file import load_support

    return load_support(path)


def _load_split(path: Path) -> Any:
    from infrec.data.matrix import Split

    return Split.load(path)


def _collect_runs(path: Path) -> Any:
    from infrec.reports.common import collect_runs

    return collect_runs(path)


TARGETS: dict[str, Target] = {
    "delimited": Target(_reader("delimited", **DELIMITED), check_interactions),
    "atomic": Target(_reader("atomic"), check_interactions),
    "movielens_dat": Target(_reader("movielens_dat"), check_interactions),
    "movielens_100k": Target(_reader("movielens_100k"), check_interactions),
    "netflix_prize": Target(_reader("netflix_prize"), check_interactions),
    "paper_split": Target(_reader("paper_split"), check_interactions),
    "support_csr": Target(_load_support, check_support),
    "support_dense": Target(_load_support, check_support),
    "split_cache": Target(_load_split, check_split),
    "report_runs": Target(_collect_runs, check_runs),
}
"""Every fuzzed entry point by name (the supports' two formats are two targets)."""


def _segfault(path: Path) -> Any:
    import ctypes

    return ctypes.string_at(0)  # reads address 0: SIGSEGV


def _raise(path: Path) -> Any:
    raise IndexError("index 7 is out of bounds")


def _two_lines(path: Path) -> Any:
    from infrec.errors import InfrecError

    raise InfrecError(f"{path}: first line\nsecond line")


SELF_TESTS: dict[str, Target] = {
    "_segfault": Target(_segfault, lambda value, path: []),
    "_traceback": Target(_raise, lambda value, path: []),
    "_two_lines": Target(_two_lines, lambda value, path: []),
    "_hang": Target(lambda path: __import__("time").sleep(3600), lambda value, path: []),
}
"""Targets that fail on purpose: the harness must tell each failure as such."""


def _where(tb: Any) -> str:
    """The innermost frame of the traceback inside ``infrec`` (else the innermost), as file:line."""
    frames = traceback.extract_tb(tb)
    ours = [f for f in frames if "/infrec/" in f.filename] or frames
    if not ours:
        return "?"
    f = ours[-1]
    return f"{f.filename.split('/src/')[-1]}:{f.lineno} ({f.name})"


def run_case(target: str, path: Path) -> dict[str, Any]:
    """The outcome of loading ``path`` with ``target`` (see the module docstring)."""
    from infrec.errors import InfrecError

    spec = TARGETS.get(target) or SELF_TESTS[target]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            value = spec.load(path)
        except InfrecError as e:
            message = str(e)
            problems = []
            if len(message.splitlines()) != 1 or "\r" in message:
                problems.append("not one line")
            if not message.startswith(str(path)):
                problems.append("does not start with the path")
            outcome = "bad-error" if problems else "error"
            return {
                "outcome": outcome,
                "type": type(e).__name__,
                "message": message[:400],
                "problems": problems,
                "where": _where(e.__traceback__),
            }
        except BaseException as e:
            return {
                "outcome": "traceback",
                "type": type(e).__name__,
                "message": str(e)[:400],
                "where": _where(e.__traceback__),
            }
        try:
            problems = spec.check(value, path)
        except Exception as e:
            problems = [f"checking it raised {type(e).__name__}: {e}"[:400]]
    noted = sorted({f"{w.category.__name__}: {w.message}"[:200] for w in caught})
    if problems:
        return {
            "outcome": "bad-load",
            "type": "",
            "message": "; ".join(problems)[:400],
            "where": "",
            "warnings": noted,
        }
    return {"outcome": "loaded", "warnings": noted}


def limit_memory(limit: int = MEMORY_LIMIT) -> None:
    """Cap this process's address space (a huge allocation fails instead of swapping)."""
    import resource

    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    cap = limit if hard == resource.RLIM_INFINITY else min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))


def serve() -> None:
    """The worker loop: a JSON case per stdin line, a JSON outcome per stdout line.

    Whatever a loader prints goes to stderr, so stdout carries outcomes only; a segfault prints
    the Python stack to stderr (``faulthandler``) before the process dies. A first line
    ``{"ready": true}`` says the imports are done.
    """
    import faulthandler

    faulthandler.enable()
    limit_memory()
    out = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    import infrec.data.readers  # imported before the first case, not timed with it
    import infrec.reports.common  # noqa: F401

    out.write(json.dumps({"ready": True}) + "\n")  # a case's time limit starts after this
    for line in sys.stdin:
        case = json.loads(line)
        result = run_case(case["target"], Path(case["path"]))
        out.write(json.dumps(result) + "\n")


def main(argv: list[str]) -> int:
    """``--worker``, or ``TARGET PATH`` to replay one case (exit 1 when it is a failure)."""
    if argv == ["--worker"]:
        serve()
        return 0
    if len(argv) != 2 or argv[0] not in TARGETS:
        print(f"usage: fuzz_target.py --worker | TARGET PATH  (TARGET: {', '.join(TARGETS)})")
        return 2
    target, path = argv[0], Path(argv[1])
    result = run_case(target, path)
    print(json.dumps(result, indent=1))
    if result["outcome"] == "traceback":
        TARGETS[target].load(path)  # shown as Python shows it
    return 0 if result["outcome"] in ("loaded", "error") else 1


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    sys.exit(main(sys.argv[1:]))
