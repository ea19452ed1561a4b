"""Validating ∞-AE's λ grid with and without shared context kernel rows (one process, one data set).

    python benchmarks/bench_lambda_grid.py [--users 60000] [--items 17770] [--support 3000]
        [--eval-users 20000] [--repeats 2]

A Netflix-density synthetic split (``dataset=synthetic``, ~200 interactions per user) and a
random-user support; the default λ grid (six values) is validated on ``--eval-users`` sampled
validation users, as ``infrec-train`` does, once with :class:`infrec.models.infinite_ae.KernelRows`
sharing each block's kernel rows across λ and once with sharing off (``KERNEL_CACHE_BYTES = 0``),
alternating, best of ``--repeats``. Printed: the seconds of each, their ratio, and the floor of
what every λ must still do alone (its ``users × support × items`` scoring product, at the GEMM
rate measured here).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from omegaconf import OmegaConf

from infrec.data.prepare import prepare
from infrec.evaluate import EvalTask, evaluate, psp_weights
from infrec.models import infinite_ae
from infrec.models.infinite_ae import InfiniteAE
from infrec.selection import select


def gemm_rate(n: int = 2048) -> float:
    """float32 GEMM FLOP/s of NumPy's BLAS here."""
    a = np.ones((n, n), np.float32)
    a @ a
    start = time.perf_counter()
    a @ a
    return 2 * n**3 / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=60_000)
    parser.add_argument("--items", type=int, default=17_770)
    parser.add_argument("--support", type=int, default=3_000)
    parser.add_argument("--eval-users", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()

    cfg = OmegaConf.create(
        {
            "name": "bench_lambda_grid",
            "format": "synthetic",
            "users": args.users,
            "items": args.items,
            "interactions": 200 * args.users,
        }
    )
    split = prepare(cfg)
    rows = np.sort(np.random.default_rng(0).choice(split.n_users, args.support, replace=False))
    support = split.train[rows]
    known = split.train + split.val + split.test
    task = EvalTask.build(
        split.train, split.val, known, psp_weights(split.item_counts), users=args.eval_users
    )
    model = InfiniteAE(1, [0.0, 1.0, 5.0, 20.0, 50.0, 100.0], 8192, "float32", "exact", None, 0)

    def validate_grid() -> float:
        chosen = select(
            model.candidates(support), lambda f: evaluate(f.scorer(split.train), task), "hr@100"
        )
        return chosen.validate_seconds

    limit = infinite_ae.KERNEL_CACHE_BYTES
    seconds = {"shared": [], "recomputed": []}
    for _ in range(args.repeats):
        for label, cache in (("shared", limit), ("recomputed", 0)):
            infinite_ae.KERNEL_CACHE_BYTES = cache
            seconds[label].append(validate_grid())
    infinite_ae.KERNEL_CACHE_BYTES = limit
    shared, recomputed = min(seconds["shared"]), min(seconds["recomputed"])
    n = len(task.users)
    floor = 6 * 2 * n * args.support * args.items / gemm_rate()
    print(
        f"{split.n_users:,} users × {split.n_items:,} items, {args.support:,} support users, "
        f"{n:,} validation users, 6 λ"
    )
    print(
        f"validation of the grid: shared kernel rows {shared:.1f} s, recomputed {recomputed:.1f} s"
    )
    print(f"speed-up {recomputed / shared:.2f}×; floor (6 scoring GEMMs) {floor:.1f} s")


if __name__ == "__main__":
    main()
