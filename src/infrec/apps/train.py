"""``infrec-train``: prepare → sample → fit (hyper-parameters chosen on validation) → test → track.

``run(cfg)`` does the work and returns the metrics; the Hydra entry point only wraps it. Each run
dir holds ``metrics.json`` (flat numbers, DVC-readable), ``config.json`` (resolved config),
``details.json`` (the validation grid and support metadata) and Hydra's ``.hydra/`` folder.
"""

from __future__ import annotations

import logging
import math
import sys
import time
from pathlib import Path

import hydra
from omegaconf import DictConfig, OmegaConf

from infrec import memory, sharding
from infrec.config import one_line_errors, run_app, run_name, run_tags
from infrec.data.load import load_split
from infrec.evaluate import EvalTask, check_ks, clamp_metric_k, evaluate, metric_key, psp_weights
from infrec.models import build_model
from infrec.models.base import Monitor
from infrec.paths import check_writable, config_dir
from infrec.samplers import build_sampler
from infrec.selection import Validation, select
from infrec.track import build_tracker, format_metrics, heading, write_run

log = logging.getLogger("infrec.train")


def _prefixed(prefix: str, metrics: dict[str, float]) -> dict[str, float]:
    return {f"{prefix}/{k}": v for k, v in metrics.items()}


def describe_meta(meta: dict[str, float]) -> str:
    """A support's metadata as users read it: counts with separators, shares as percentages,
    seconds with a unit."""
    parts = []
    for key, value in meta.items():
        if key.endswith("_share"):
            parts.append(f"{key}={100 * value:.3g}%")
        elif key == "seconds" or key.endswith("_s"):
            parts.append(f"{key}={value:.2f} s")
        elif float(value).is_integer():
            parts.append(f"{key}={int(value):,}")
        else:
            parts.append(f"{key}={value:.4g}")
    return ", ".join(parts)


def objective(metrics: dict[str, float], metric: str) -> float:
    """The validation score sweepers maximise: ``metric``, or at the largest k the run kept."""
    if metric in metrics:
        return metrics[metric]
    base = metric.split("@")[0] + "@"
    kept = [k for k in metrics if k.startswith(base)]
    return metrics[max(kept, key=lambda k: int(k.split("@")[1]))] if kept else math.nan


def run(cfg: DictConfig, run_dir: str | Path | None = None) -> dict[str, float]:
    """Train and evaluate one configuration; write the run record; return its metrics."""
    started = time.perf_counter()
    if run_dir is None:
        run_dir = hydra.core.hydra_config.HydraConfig.get().runtime.output_dir
    run_dir = Path(run_dir)
    lead = sharding.start(cfg.runtime)  # several processes: one mesh; process 0 writes records
    if lead:  # the record's folder, before any heavy work
        check_writable(run_dir, "the run folder")
    # the cut-offs themselves first (the item count bounds them once the data is read)
    selection = metric_key(cfg.selection.metric, check_ks(cfg.eval.ks, sys.maxsize))
    model = build_model(cfg.model, seed=int(cfg.seed), dtype=str(cfg.dtype))
    sampler = build_sampler(cfg.sampler, seed=int(cfg.seed), support_dir=cfg.paths.support_dir)

    lambdas = cfg.model.get("lambdas")
    if lambdas is not None and len(lambdas) == 1:
        log.info("model.lambdas=[%g]: one λ, fixed (nothing is chosen on validation)", lambdas[0])
    split = load_split(cfg)
    ks = check_ks(cfg.eval.ks, split.n_items)
    selection = clamp_metric_k(selection, ks)
    log.info("%s", split.describe())
    prepared = time.perf_counter()

    resolved = OmegaConf.to_container(cfg, resolve=True)
    logger = cfg.logger if lead else {"name": "none"}
    tracker = build_tracker(logger, run_dir, resolved, name=run_name(cfg), tags=run_tags(cfg))
    try:
        support = sampler.sample(split, tracker.record)
        log.info("support: %s", describe_meta(support.meta))
        # the memory plan, before the evaluation tasks and the fit (the heavy work)
        fit_model = model.for_support(support.hints).with_targets(split.train)
        users, items = support.matrix.shape

        # known items (train + val + test) and the test context (train + val), built below
        context_nnz = 2 * (split.train.nnz + split.val.nnz) + split.test.nnz

        def plan(block: int) -> list[memory.Need]:
            return fit_model.memory(support.matrix, block) + memory.evaluation_needs(
                block, split.n_users, items, context_nnz
            )

        block_users = cfg.eval.block_users
        if block_users is None:  # from the memory budget
            block_users = min(memory.choose_block_users(plan, cfg.runtime.memory_gb), split.n_users)
            log.info(
                "evaluation in blocks of %d of %d users (eval.block_users=null: from the memory "
                "budget)",
                block_users,
                split.n_users,
            )
        planned = memory.check(
            plan(int(block_users)),
            cfg.runtime.memory_gb,
            f"model={model.name} on {users:,} support users × {items:,} items",
            fit_model.memory_advice,
        )
        log.info(
            "memory plan: ~%s GB (budget %s GB)",
            memory.gb(planned),
            memory.gb(memory.budget_gb(cfg.runtime.memory_gb)),
        )
        known = split.train + split.val + split.test
        weights = psp_weights(split.item_counts)
        eval_opts = {
            "ks": ks,
            "n_negatives": int(cfg.eval.n_negatives),
            "seed": int(cfg.seed),
            "block_users": int(block_users),
            "users": cfg.eval.get("users"),
        }
        test_context = (split.train + split.val).tocsr()
        val_task = EvalTask.build(split.train, split.val, known, weights, **eval_opts)
        test_task = EvalTask.build(test_context, split.test, known, weights, **eval_opts)
        validation = Validation(lambda fitted: evaluate(fitted.scorer(split.train), val_task))

        def tried(index: int, hp: dict, val: dict[str, float], seconds: float) -> None:
            log.info(
                "%s %s: val %s = %.4f (%.1f s)",
                model.name,
                hp,
                selection,
                val.get(selection, math.nan),
                seconds,
            )
            if set(hp) == {"lambda"}:  # a λ grid: λ itself is the x axis
                tracker.record("lambda", hp["lambda"], _prefixed("val", val))
            else:
                tracker.record("grid", index, {**_prefixed("val", val), **_prefixed("hp", hp)})

        def score(fitted) -> float:  # early stopping of trained models
            return validation(fitted).get(selection, math.nan)

        candidates = fit_model.candidates(support.matrix, Monitor(score, tracker.record))
        chosen = select(candidates, validation, selection, on_candidate=tried)
        t_test = time.perf_counter()
        test = evaluate(chosen.fitted.scorer(test_context), test_task)
        test_s = time.perf_counter() - t_test

        metrics = {
            **_prefixed("val", chosen.val),
            **_prefixed("test", test),
            **{f"hp/{k}": float(v) for k, v in chosen.hp.items()},
            **{f"support/{k}": float(v) for k, v in support.meta.items()},
            "time/prepare_s": prepared - started,
            "time/fit_s": chosen.fit_seconds,
            "time/fit_best_s": chosen.fitted.fit_seconds,
            "time/validate_s": chosen.validate_seconds,
            "time/test_s": test_s,
            "time/total_s": time.perf_counter() - started,
        }
        details = {
            "grid": chosen.grid,
            "dataset": split.describe(),
            "selection": f"val/{selection}",
        }
        if lead:
            write_run(run_dir, metrics, resolved, details)
        tracker.summary(metrics)
    finally:
        tracker.finish()
    if lead:
        print(
            f"\n{heading(model.name, sampler.name, cfg.sampler.get('budget'), split.name)}\n"
            f"{format_metrics(metrics, ks)}\nrun dir: {run_dir}"
        )
    return metrics


@hydra.main(version_base="1.3", config_path=str(config_dir()), config_name="config")
@one_line_errors
def _hydra_main(cfg: DictConfig) -> float:
    return objective(run(cfg), str(cfg.selection.metric))


def main() -> None:
    run_app(_hydra_main)


if __name__ == "__main__":
    main()
