"""Seconds per Distill-CF step on the paper's ML-1M split (μ = 500, γ = 200, all 6,040 targets).

    python benchmarks/bench_distill_step.py [--path ../shared/datasets/ml-1m-paper] [--steps 10]
        [--literal-steps 2]

Times the jitted step (sampling, ∞-AE inner solve, loss, gradient, Adam) after compilation, for
the pooled multi-Gumbel estimator (``pool_factor: 4``), the expected support (no noise,
``pool_factor: 0``) and the literal estimator (independent noise per row and sample,
``pool_factor: null``), and prints the float32 GEMM rate of the machine beside them.
The authors' code: about 7.7 s per step on the machine class BRIEF.md measured, 21.0–21.6 s on
the 2-core machine of 2026-12-05; ``benchmarks/authors.py`` times it side by side.
"""

from __future__ import annotations

import argparse
import sys
import time
from functools import partial
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax
from omegaconf import OmegaConf

from infrec.data.prepare import prepare
from infrec.distillation.estimator import distill_loss
from infrec.sparse import csr_pair

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from bench_infinite_ae import gemm_gflops  # noqa: E402


def time_steps(targets, csr, logits, pool, steps: int, mean_card: float) -> float:
    loss = partial(
        distill_loss, gamma=200, tau=10.0, pool=pool, depth=1, card_reg=1e-3, mean_card=mean_card
    )
    opt = optax.adam(0.04)

    @jax.jit
    def step(logits, state, key, targets, csr):
        value, grad = jax.value_and_grad(loss)(
            logits, key, targets, jnp.float32(1.0), targets_csr=csr
        )
        updates, state = opt.update(grad, state, logits)
        return optax.apply_updates(logits, updates), state, value

    state = opt.init(logits)
    logits, state, value = step(logits, state, jax.random.key(0), targets, csr)  # compile
    value.block_until_ready()
    start = time.perf_counter()
    for i in range(steps):
        logits, state, value = step(logits, state, jax.random.key(i + 1), targets, csr)
        value.block_until_ready()
    return (time.perf_counter() - start) / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--path", default=str(ROOT.parent / "shared/datasets/ml-1m-paper"))
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--literal-steps", type=int, default=2)
    args = parser.parse_args()
    cfg = OmegaConf.create({"name": "ml-1m-paper", "format": "paper_split", "path": args.path})
    split = prepare(cfg)
    targets = jnp.asarray(split.train.toarray())
    rows = np.sort(np.random.default_rng(42).choice(split.n_users, 500, replace=False))
    logits = targets[rows]
    mean_card = split.train.nnz / split.n_users
    csr = csr_pair(split.train)
    pooled = time_steps(targets, csr, logits, 800, args.steps, mean_card)
    print(f"pooled estimator (default)   {pooled:.2f} s/step over {args.steps} steps")
    expected = time_steps(targets, csr, logits, 0, args.steps, mean_card)
    print(f"expected support (no noise) {expected:.2f} s/step over {args.steps} steps")
    dense = time_steps(targets, None, logits, 800, args.steps, mean_card)
    print(f"  … with dense target Gram   {dense:.2f} s/step (the path mini-batched targets use)")
    if args.literal_steps:
        literal = time_steps(targets, csr, logits, None, args.literal_steps, mean_card)
        print(f"literal estimator            {literal:.2f} s/step over {args.literal_steps} steps")
    print(f"gemm_gflops_float32          {gemm_gflops():.0f}")
    print("authors' Distill-CF code     time it side by side: benchmarks/authors.py")


if __name__ == "__main__":
    main()
