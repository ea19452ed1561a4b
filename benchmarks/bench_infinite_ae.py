"""Wall time and peak RSS of the paper-fidelity ∞-AE job, with phase times and the GEMM rate.

    python benchmarks/bench_infinite_ae.py [--path ../shared/datasets/ml-1m-paper] [--model ease]

Runs exactly ``infrec-train dataset=ml-1m-paper`` (load the split, the 6-λ validation grid, test
metrics) in a fresh process, reading the split from its folder without the prepared-split cache,
and prints wall seconds, peak RSS, the phase times from ``metrics.json`` and the float32 GEMM
throughput measured on the same machine (the authors' code: 118 s, 1.36 GB).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def gemm_gflops(n: int = 4096, repeats: int = 3) -> float:
    """Best-of float32 ``n × n × n`` GEMM throughput (NumPy/OpenBLAS), in GFLOP/s."""
    rng = np.random.default_rng(0)
    a, b = rng.random((n, n), dtype=np.float32), rng.random((n, n), dtype=np.float32)
    best = np.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t0)
    return 2 * n**3 / best / 1e9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--path", default=str(ROOT.parent / "shared/datasets/ml-1m-paper"))
    parser.add_argument("--model", default="infinite_ae")
    args = parser.parse_args()
    if not Path(args.path, "total_data.hdf5").is_file():
        sys.exit(f"{args.path}: no total_data.hdf5; pass --path to the paper's ML-1M split")
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [
            sys.executable,
            "-m",
            "infrec.apps.train",
            "dataset=ml-1m-paper",
            f"dataset.path={args.path}",
            f"model={args.model}",
            "logger=none",
            f"paths.cache_dir={tmp}/cache",
            f"hydra.run.dir={tmp}/run",
        ]
        t0 = time.perf_counter()
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        wall = time.perf_counter() - t0
        if done.returncode != 0:
            sys.exit(done.stderr[-2000:])
        metrics = json.loads(Path(tmp, "run", "metrics.json").read_text())
    peak_gb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024**2
    print(f"model                 {args.model}")
    print(f"wall_s                {wall:.1f}")
    print(f"peak_rss_gb           {peak_gb:.2f}")
    for key in ("prepare_s", "fit_s", "validate_s", "test_s", "total_s"):
        print(f"{key:<22}{metrics[f'time/{key}']:.1f}")
    print(f"test/ndcg@10          {metrics['test/ndcg@10']:.4f}   (λ = {metrics['hp/lambda']:g})")
    print(f"gemm_gflops_float32   {gemm_gflops():.0f}")
    print("authors' ∞-AE code    118 s, 1.36 GB (BRIEF.md, same machine class)")


if __name__ == "__main__":
    main()
