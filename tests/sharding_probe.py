"""Run by tests/test_sharding.py in a fresh process (the device count is fixed when JAX starts):
∞-AE (exact and Nyström) metrics and the first Distill-CF losses on a small synthetic split,
printed as JSON, so runs with 1 and 4 devices, or several processes, can be compared.

    python -m tests.sharding_probe [COORDINATOR PROCESSES PROCESS_ID]

With the three arguments this process joins a ``jax.distributed`` run first."""

from __future__ import annotations

import json
import sys

import jax
from omegaconf import OmegaConf

from infrec import sharding
from infrec.data.prepare import prepare
from infrec.distillation.loop import DistillSettings, distill
from infrec.evaluate import EvalTask, evaluate, psp_weights
from infrec.models.infinite_ae import InfiniteAE


def main(args: list[str]) -> None:
    if args:
        coordinator, processes, process_id = args
        sharding.initialize(True, coordinator, int(processes), int(process_id))
    cfg = OmegaConf.create(
        {"name": "probe", "format": "synthetic", "users": 301, "items": 120, "interactions": 9000}
    )
    split = prepare(cfg)
    known = split.train + split.val + split.test
    context = (split.train + split.val).tocsr()
    task = EvalTask.build(
        context, split.test, known, psp_weights(split.item_counts), ks=[10], block_users=64
    )
    out: dict = {"devices": jax.device_count(), "process": jax.process_index()}
    for solver, landmarks in (("exact", None), ("nystrom", 50)):
        model = InfiniteAE(1, [5.0], 64, "float32", solver, landmarks, 0)
        ((_, fitted),) = model.candidates(split.train)
        metrics = evaluate(fitted.scorer(context), task)
        out[solver] = {k: metrics[k] for k in ("ndcg@10", "hr@10", "auc")}
    losses: list[float] = []
    settings = DistillSettings(
        gamma=10, tau=2.0, card_reg=1e-3, lr=0.02, steps=3, patience=10, depth=1,
        lambdas=(1.0,), pool_factor=4.0, target_batch=None, val_users=None, log_every=10, seed=0,
    )  # fmt: skip
    distill(
        split, 20, settings, lambda axis, step, v: losses.append(v["loss"]) if "loss" in v else 0
    )
    out["distill_losses"] = losses
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1:])
