"""The dense linear algebra behind ∞-AE, on ML-1M's shape: which implementation each step uses.

    python benchmarks/bench_linalg.py [--path ../shared/datasets/ml-1m-paper]

Times (best of 3, seconds) the steps of one λ of the paper job with the alternatives that were
measured against each other: the U × U Gram product (NumPy/OpenBLAS vs XLA:CPU), the Cholesky
factorisation (SciPy with a C→F copy, ``infrec.linalg.stable_cholesky``, XLA:CPU), the solve
against the U × I support (SciPy ``cho_solve``, ``infrec.linalg.cho_solve``, JAX) and the test
context's Gram matrix (dense product vs the support Gram plus a sparse update). Without the paper's
split it uses random binary data of the same shape and density.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import jax.scipy.linalg as jsl
import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp
from omegaconf import OmegaConf

from infrec.data.prepare import prepare
from infrec.kernels.ntk import ntk_from_gram
from infrec.linalg import cho_solve, gram, stable_cholesky
from infrec.sparse import csr_matmul

ROOT = Path(__file__).resolve().parents[1]


def best_s(f, *args, repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        jax.block_until_ready(f(*args))
        times.append(time.perf_counter() - t0)
    return min(times)


def load(path: str) -> tuple[sp.csr_matrix, sp.csr_matrix, str]:
    """(train, train + validation) of the paper's split, or random data of its shape."""
    if Path(path, "total_data.hdf5").is_file():
        cfg = {"name": "ml-1m-paper", "format": "paper_split", "path": path}
        split = prepare(OmegaConf.create(cfg))
        return split.train, (split.train + split.val).tocsr(), "ml-1m-paper"
    rng = np.random.default_rng(0)
    train = sp.random(6040, 3706, density=0.0354, random_state=rng, format="csr")
    extra = sp.random(6040, 3706, density=0.0045, random_state=rng, format="csr")
    train.data[:], extra.data[:] = 1.0, 1.0
    return train, (train + extra).sign().tocsr(), "random binary 6040 × 3706 (no --path data)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--path", default=str(ROOT.parent / "shared/datasets/ml-1m-paper"))
    args = parser.parse_args()
    train, context, name = load(args.path)
    x = train.toarray().astype(np.float32)
    n, m = x.shape
    print(f"data: {name}, support {n} × {m}, float32")

    g = gram(x)
    sq = g.diagonal().copy()
    k = np.array(ntk_from_gram(g, sq, sq, 1, n0=m))
    k[np.diag_indices(n)] += 5.0 * k.trace() / n  # λ = 5, the paper job's choice

    xj, kj = jnp.asarray(x), jnp.asarray(k)
    xla_gram = jax.jit(lambda a: jnp.dot(a, a.T, precision=jax.lax.Precision.HIGHEST))
    xla_chol = jax.jit(jnp.linalg.cholesky)
    xla_solve = jax.jit(lambda c, b: jsl.cho_solve((c, True), b))

    def scipy_chol(a):
        return sla.cholesky(np.array(a, order="F"), lower=True, check_finite=False)

    chol, _ = stable_cholesky(k, 0.0, 1.0)
    xla_chol(kj).block_until_ready()
    cj = xla_chol(kj)
    xla_gram(xj).block_until_ready()
    xla_solve(cj, xj).block_until_ready()

    change = (context.astype(np.float32) - train.astype(np.float32)).tocsr()
    c = context.toarray().astype(np.float32)
    x_t = jnp.asarray(x).T

    rows = [
        ("gram U×U      numpy (OpenBLAS)", best_s(gram, x)),
        ("              XLA:CPU", best_s(xla_gram, xj)),
        ("cholesky      scipy, C→F copy", best_s(scipy_chol, k)),
        ("              infrec (layout copy)", best_s(stable_cholesky, k, 0.0, 1.0)),
        ("              XLA:CPU", best_s(xla_chol, kj)),
        ("solve U×I     scipy cho_solve", best_s(sla.cho_solve, (chol, True), x)),
        ("              infrec (right-side trsm)", best_s(cho_solve, chol, x)),
        ("              XLA:CPU", best_s(xla_solve, cj, xj)),
        ("context gram  dense C Xᵀ", best_s(gram, c, x)),
        ("              X Xᵀ + sparse (C−X) Xᵀ", best_s(lambda: g + csr_matmul(change, x_t))),
    ]
    for label, seconds in rows:
        print(f"{label:<40}{seconds:7.3f} s")
    a, b = np.ones((4096, 4096), np.float32), np.ones((4096, 4096), np.float32)
    print(f"{'float32 GEMM rate':<40}{2 * 4096**3 / best_s(np.matmul, a, b) / 1e9:7.0f} GFLOP/s")


if __name__ == "__main__":
    main()
