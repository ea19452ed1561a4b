"""A sparse × dense product and its gradient on ML-1M: XLA segment sum vs infrec.sparse.

    python benchmarks/bench_spmm.py [--path ../shared/datasets/ml-1m-paper] [--dim 64]

LightGCN propagates embeddings over the normalised user-item graph every step; this times one
users ← items product and its gradient both ways (milliseconds, best of 5 after compilation).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from omegaconf import OmegaConf

from infrec.data.prepare import prepare
from infrec.sparse import csr_pair, spmm

ROOT = Path(__file__).resolve().parents[1]


def best_ms(f, *args, repeats: int = 5) -> float:
    jax.block_until_ready(f(*args))
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        jax.block_until_ready(f(*args))
        times.append(time.perf_counter() - t0)
    return 1e3 * min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--path", default=str(ROOT.parent / "shared/datasets/ml-1m-paper"))
    parser.add_argument("--dim", type=int, default=64)
    args = parser.parse_args()
    if not Path(args.path, "total_data.hdf5").is_file():
        sys.exit(f"{args.path}: no total_data.hdf5; pass --path to the paper's ML-1M split")
    m = prepare(
        OmegaConf.create({"name": "ml-1m-paper", "format": "paper_split", "path": args.path})
    ).train
    m.sort_indices()
    rows = jnp.asarray(np.repeat(np.arange(m.shape[0]), np.diff(m.indptr)), jnp.int32)
    cols, vals = jnp.asarray(m.indices, jnp.int32), jnp.asarray(m.data, jnp.float32)
    pair = csr_pair(m)
    x = jax.random.normal(jax.random.key(0), (m.shape[1], args.dim))

    def segment(x, rows, cols, vals):
        return jax.ops.segment_sum(
            vals[:, None] * x[cols], rows, num_segments=m.shape[0], indices_are_sorted=True
        )

    def csr(x, pair):
        return spmm(*pair, x)

    print(f"{m.nnz:,} edges, {m.shape[0]:,} × {m.shape[1]:,}, dim {args.dim}")
    for name, f, extra in (
        ("segment_sum", segment, (rows, cols, vals)),
        ("infrec.sparse", csr, (pair,)),
    ):
        fwd = best_ms(jax.jit(f), x, *extra)
        grad = best_ms(jax.jit(jax.grad(lambda x, *e, f=f: jnp.sum(f(x, *e) ** 2))), x, *extra)
        print(f"{name:<15} forward {fwd:7.1f} ms   forward+gradient {grad:7.1f} ms")


if __name__ == "__main__":
    main()
