"""infrec's delimited reader against a CSV engine library (``pyarrow.csv``): speed, peak memory
and the edge cases of issue 21 (NUL bytes, quoted fields, two columns, gzip, archives, line
numbers in errors). Prints the edge-case outcomes and a markdown table (docs/readers.md).

    python benchmarks/bench_readers.py [--rows 15000000] [--small 1000000] [--repeat 2]
        [--engines infrec,infrec-general,pyarrow,pyarrow-stream] [--baseline REV]
        [--dir /tmp/infrec-bench] [--edge-only]

Two Netflix-shaped files (``user,item,rating,timestamp``: 480,189 customer ids drawn from
1…2,649,429, 17,770 Zipf-popular movies, ratings 1–5, timestamps 1999–2005) are written once under
``--dir`` and reused. Each reader runs in a fresh Python process that reads the file into the four
NumPy columns infrec uses (int64 ids, float32 ratings, float64 timestamps), started by a small
launcher process that reports ``resource.getrusage(RUSAGE_CHILDREN)``: that one child's peak RSS
and CPU time (user + system, all threads). Wall time includes the interpreter start and imports
(what a user waits for); ``read s`` is timed inside the child, from the engine's imports
(infrec's pull in SciPy, ~0.5 s) to the finished columns. The machine is
shared, so CPU seconds are the steadier figure. Every engine's columns are checked to hold the
same values (their sums). ``--baseline REV`` adds ``infrec@REV``: the readers of that git
revision, extracted into a temporary folder.

Engines: ``infrec`` (:func:`infrec.data.readers.read_delimited`), ``infrec-general`` (the same
with its NumPy fast path off: what blocks with quotes, string ids or odd number syntax cost),
``pyarrow`` (``pyarrow.csv.read_csv``, its threads on), ``pyarrow-stream``
(``pyarrow.csv.open_csv``, batch by batch: bounded memory like infrec's blocks).
"""

from __future__ import annotations

import argparse
import gzip
import importlib.util
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
COLUMNS = {"user": 0, "item": 1, "rating": 2, "timestamp": 3}
NAMES = list(COLUMNS)

# ---------------------------------------------------------------- Netflix-shaped files


def generate(path: Path, rows: int, seed: int = 0, chunk: int = 1_000_000) -> None:
    """``rows`` lines of ``user,item,rating,timestamp`` written to ``path`` (atomically)."""
    rng = np.random.default_rng(seed)
    customers = np.sort(rng.choice(np.arange(1, 2_649_430), 480_189, replace=False))
    popularity = 1.0 / np.arange(1, 17_771) ** 0.9
    popularity /= popularity.sum()
    movies = rng.permutation(17_770) + 1
    t0 = (date(1999, 11, 11) - date(1970, 1, 1)).days * 86400
    t1 = (date(2005, 12, 31) - date(1970, 1, 1)).days * 86400
    tmp = path.with_suffix(".part")
    with tmp.open("w") as f:
        for start in range(0, rows, chunk):
            n = min(chunk, rows - start)
            cols = (
                customers[rng.integers(0, len(customers), n)],
                movies[rng.choice(17_770, n, p=popularity)],
                rng.integers(1, 6, n),
                rng.integers(t0, t1, n) // 86400 * 86400,
            )
            text = map(",".join, zip(*(c.astype(str).tolist() for c in cols), strict=True))
            f.write("\n".join(text) + "\n")
    tmp.replace(path)


# ---------------------------------------------------------------- readers (in the child)


def read_infrec(path: str) -> dict[str, np.ndarray]:
    from infrec.data.readers import read_delimited

    inter = read_delimited(path, sep=",", columns=COLUMNS)
    return {
        "user": inter.users,
        "item": inter.items,
        "rating": inter.ratings,
        "timestamp": inter.timestamps,
    }


def read_infrec_general(path: str) -> dict[str, np.ndarray]:
    """infrec with the NumPy fast path off: the speed of blocks it declines (quotes, string
    ids, signs, spaces, ...), which go field by field through Python's int/float."""
    import infrec.data.readers as readers

    readers.fast_columns = lambda *args, **kwargs: None
    return read_infrec(path)


def _arrow_options(path: str, block_size: int | None = None) -> dict[str, Any]:
    import pyarrow as pa
    import pyarrow.csv as pc

    types = {"user": pa.int64(), "item": pa.int64(), "rating": pa.float32()}
    types["timestamp"] = pa.float64()
    read = pc.ReadOptions(column_names=NAMES, **({"block_size": block_size} if block_size else {}))
    return {
        "read_options": read,
        "parse_options": pc.ParseOptions(delimiter=","),
        "convert_options": pc.ConvertOptions(column_types=types),
    }


def read_pyarrow(path: str) -> dict[str, np.ndarray]:
    import pyarrow.csv as pc

    table = pc.read_csv(path, **_arrow_options(path))
    return {name: table.column(name).to_numpy() for name in NAMES}


def read_pyarrow_stream(path: str) -> dict[str, np.ndarray]:
    import pyarrow.csv as pc

    parts: dict[str, list[np.ndarray]] = {name: [] for name in NAMES}
    with pc.open_csv(path, **_arrow_options(path, 16 << 20)) as reader:
        for batch in reader:
            for name in NAMES:
                parts[name].append(batch.column(name).to_numpy())
    return {name: np.concatenate(p) for name, p in parts.items()}


ENGINES: dict[str, Callable[[str], dict[str, np.ndarray]]] = {
    "infrec": read_infrec,
    "infrec-general": read_infrec_general,
    "pyarrow": read_pyarrow,
    "pyarrow-stream": read_pyarrow_stream,
}


def worker(engine: str, path: str) -> None:
    """Read ``path`` with ``engine``; print rows and a checksum (the parent compares engines)."""
    t = time.perf_counter()
    cols = ENGINES[engine.split("@")[0]](path)
    seconds = time.perf_counter() - t
    check = {k: float(np.asarray(v, np.float64).sum()) for k, v in cols.items()}
    print(json.dumps({"rows": len(cols["user"]), "seconds": seconds, "sums": check}))


LAUNCHER = """
import json, resource, subprocess, sys, time
t = time.perf_counter()
done = subprocess.run(sys.argv[1:], capture_output=True)
wall = time.perf_counter() - t
use = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"wall": wall, "peak_gb": use.ru_maxrss / 1024**2, "rc": done.returncode,
    "cpu": use.ru_utime + use.ru_stime, "out": done.stdout.decode(), "err": done.stderr.decode()}))
"""
"""Runs one worker and reports ``getrusage(RUSAGE_CHILDREN)``: that worker's alone. It is a small
process of its own because Linux counts, in a child's peak RSS, the memory of the process it was
forked from (a child made by this parent, which generated the files, would inherit its peak)."""


def measure(engine: str, path: Path, src: Path | None) -> dict[str, Any]:
    """One read in a fresh process: wall and CPU time, the child's own peak RSS, rows and column
    sums (the parent checks every engine read the same values)."""
    env = dict(os.environ)
    if src is not None:
        env["PYTHONPATH"] = f"{src}{os.pathsep}{env.get('PYTHONPATH', '')}"
    worker_cmd = [sys.executable, __file__, "--worker", engine, str(path)]
    cmd = [sys.executable, "-S", "-c", LAUNCHER, *worker_cmd]
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True)
    result = json.loads(done.stdout)
    if result["rc"] != 0:
        raise RuntimeError(f"{engine} failed on {path}: {result['err'][-800:]}")
    return {**result, **json.loads(result["out"])}


def baseline_src(rev: str, into: Path) -> Path:
    """The ``src`` folder of git revision ``rev`` (its ``infrec`` package), extracted."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", rev, "src/infrec"], capture_output=True, check=True
    ).stdout
    import tarfile

    with tarfile.open(fileobj=io.BytesIO(archive)) as t:
        t.extractall(into, filter="data")
    return into / "src"


# ---------------------------------------------------------------- edge cases

EDGE_FILES: dict[str, bytes] = {
    "nul": b"u1,i10,5,1\nu2,i11,4,2\nu3,i1\x002,3,3\n",
    "quoted": b'"1","10",5,1\n"2","11",4,2\n',
    "quoted-sep": b'"u1","i,1",5,1\n"u2","say ""hi""",4,2\n',
    "two-columns": b"1,10\n2,11\n3,12\n",
    "gzip": gzip.compress(b"1,10,5,1\n2,11,4,2\n", mtime=0),
    "gzip-as-csv": gzip.compress(b"1,10,5,1\n2,11,4,2\n", mtime=0),
    "bad-line-4": b"1,10,5,1\n2,11,4,2\n3,12,3,3\n4,x,2,4\n",
    "huge-id": b"1,10,5,1\n99999999999999999999,11,4,2\n",
}


def _zip(data: bytes) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("ratings.csv", data)
    return buf.getvalue()


EDGE_FILES["zip"] = _zip(b"1,10,5,1\n2,11,4,2\n")


STRING_IDS = ("nul", "quoted-sep")
"""Edge files whose ids are tokens (read with ``string_ids`` / string columns)."""


def _edge_infrec(path: Path, case: str) -> str:
    from infrec.data.readers import read_delimited

    columns = None if case == "two-columns" else COLUMNS
    inter = read_delimited(path, sep=",", columns=columns, string_ids=case in STRING_IDS)
    return f"users {inter.users.tolist()} items {inter.items.tolist()}"


def _edge_pyarrow(path: Path, case: str) -> str:
    import pyarrow as pa
    import pyarrow.csv as pc

    opts = _arrow_options(str(path))
    if case in STRING_IDS:
        types = {**opts["convert_options"].column_types, "user": pa.string(), "item": pa.string()}
        opts["convert_options"] = pc.ConvertOptions(column_types=types)
    if case == "two-columns":
        opts = {"read_options": pc.ReadOptions(autogenerate_column_names=True)}
    table = pc.read_csv(path, **opts)
    cols = table.columns
    return f"users {cols[0].to_pylist()} items {cols[1].to_pylist()}"


def edge_cases(folder: Path) -> list[tuple[str, str, str]]:
    """(case, engine, outcome) for every edge file and every engine that can be imported."""
    rows = []
    for case, data in EDGE_FILES.items():
        name = f"{case}.csv.gz" if case == "gzip" else f"{case}.csv"
        path = folder / name
        path.write_bytes(data)
        for engine, read in (("infrec", _edge_infrec), ("pyarrow", _edge_pyarrow)):
            try:
                outcome = read(path, case)
            except ImportError:
                continue
            except Exception as e:  # the outcome is what is reported
                text = str(e).replace(str(folder) + "/", "").splitlines()[0][:110]
                text = "".join(c if c.isascii() and c.isprintable() else "?" for c in text)
                outcome = f"{type(e).__name__}: {text}"
            rows.append((case, engine, outcome))
    return rows


# ---------------------------------------------------------------- main


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=15_000_000)
    ap.add_argument("--small", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--engines", default="infrec,infrec-general,pyarrow,pyarrow-stream")
    ap.add_argument("--baseline", help="also time infrec at this git revision (infrec@REV)")
    ap.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "infrec-bench")
    ap.add_argument("--edge-only", action="store_true")
    ap.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        worker(*args.worker)
        return
    args.dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        print("edge cases (case | engine | outcome):")
        for case, engine, outcome in edge_cases(Path(tmp)):
            print(f"  {case:12s} | {engine:8s} | {outcome}")
    if args.edge_only:
        return
    engines = args.engines.split(",")
    if importlib.util.find_spec("pyarrow") is None:
        print("\n(pyarrow is not installed — `pip install pyarrow` to compare; infrec only)")
        engines = [e for e in engines if not e.startswith("pyarrow")]
    with tempfile.TemporaryDirectory() as tmp:
        srcs: dict[str, Path | None] = dict.fromkeys(engines)
        if args.baseline:
            engines.insert(0, f"infrec@{args.baseline}")
            srcs[engines[0]] = baseline_src(args.baseline, Path(tmp))
        print("\n| file rows | engine | wall s (runs) | read s | CPU s | peak RSS GB | rows read |")
        print("|---:|---|---:|---:|---:|---:|---:|")
        for rows in (args.small, args.rows):
            path = args.dir / f"netflix-shaped-{rows}.csv"
            if not path.is_file():
                t = time.perf_counter()
                generate(path, rows)
                size = path.stat().st_size / 1e9
                print(f"(wrote {path}: {size:.2f} GB in {time.perf_counter() - t:.0f} s)")
            sums = None
            for engine in engines:
                runs = [measure(engine, path, srcs[engine]) for _ in range(args.repeat)]
                same = sums is None or all(
                    np.isclose(runs[0]["sums"][k], sums[k], rtol=1e-9) for k in sums
                )
                sums = sums or runs[0]["sums"]
                walls = ", ".join(f"{r['wall']:.1f}" for r in runs)
                print(
                    f"| {rows:,} | {engine} | {_median(runs, 'wall'):.1f} ({walls}) | "
                    f"{_median(runs, 'seconds'):.1f} | {_median(runs, 'cpu'):.1f} | "
                    f"{max(r['peak_gb'] for r in runs):.2f} | "
                    f"{runs[0]['rows']:,}{'' if same else ' COLUMNS DIFFER'} |"
                )


def _median(runs: list[dict[str, Any]], key: str) -> float:
    return statistics.median(r[key] for r in runs)


if __name__ == "__main__":
    main()
