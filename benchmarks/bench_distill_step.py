"""Seconds per Distill-CF step on the paper's ML-1M split (μ = 500, γ = 200, all 6,040 targets).

    python benchmarks/bench_distill_step.py [--path ../shared/datasets/ml-1m-paper] [--steps 10]
        [--literal-steps 2]
    python benchmarks/bench_distill_step.py --cost 2000 1024 17770   # a step's FLOPs at a shape

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


def make_step(pool: int | None, mean_card: float):
    """The jitted Distill-CF step (γ = 200, τ = 10, depth 1, Adam) and its optimiser."""
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

    return step, opt


def step_cost(mu: int, batch: int, items: int, pool: int) -> dict[str, float]:
    """XLA's count of the step's FLOPs and bytes at μ synthetic users, a dense batch of real
    targets and ``items`` items (nothing runs): the floor a step time is read against."""
    step, opt = make_step(pool, mean_card=100.0)
    logits = jax.ShapeDtypeStruct((mu, items), jnp.float32)
    targets = jax.ShapeDtypeStruct((batch, items), jnp.float32)
    state = jax.eval_shape(opt.init, logits)
    compiled = step.lower(logits, state, jax.random.key(0), targets, None).compile()
    cost = compiled.cost_analysis()
    cost = cost[0] if isinstance(cost, list) else cost
    return {"flops": float(cost["flops"]), "bytes": float(cost.get("bytes accessed", 0.0))}


def time_steps(targets, csr, logits, pool, steps: int, mean_card: float) -> float:
    step, opt = make_step(pool, mean_card)
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
    parser.add_argument(
        "--cost",
        nargs=3,
        type=int,
        metavar=("MU", "BATCH", "ITEMS"),
        help="print the step's FLOPs and bytes at these shapes (pool 800 and 0) and the GEMM "
        "rate, and stop: e.g. --cost 2000 1024 17770 for the Netflix-shaped rows",
    )
    args = parser.parse_args()
    if args.cost:
        for pool in (800, 0):
            cost = step_cost(*args.cost, pool=pool)
            print(
                f"μ, batch, items = {args.cost}, pool {pool}: {cost['flops'] / 1e12:.3f} TFLOP, "
                f"{cost['bytes'] / 1e9:.1f} GB a step"
            )
        print(f"gemm_gflops_float32          {gemm_gflops():.0f}")
        return
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
