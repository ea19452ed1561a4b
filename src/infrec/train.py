"""``infrec-train``: prepare → sample → fit (hyper-parameters chosen on validation) → test → track.

``run(cfg)`` does the work and returns the metrics; the Hydra entry point only wraps it. Each run
dir holds ``metrics.json`` (flat numbers, DVC-readable), ``config.json`` (resolved config),
``details.json`` (the validation grid and support metadata) and Hydra's ``.hydra/`` folder.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any
from weakref import WeakKeyDictionary

import hydra
from omegaconf import DictConfig, OmegaConf

from infrec.data.fetch import fetch_dataset, missing_files
from infrec.data.matrix import Split
from infrec.data.prepare import prepare
from infrec.errors import InfrecError
from infrec.evaluate import EvalTask, check_ks, evaluate, psp_weights
from infrec.models import build_model
from infrec.paths import config_dir, project_root
from infrec.samplers import build_sampler
from infrec.track import build_tracker, format_table, write_run

log = logging.getLogger("infrec.train")


def register_resolvers() -> None:
    """``${infrec.root:}``: the project root, so paths hold wherever a command is started."""
    if not OmegaConf.has_resolver("infrec.root"):
        OmegaConf.register_new_resolver("infrec.root", lambda: str(project_root()))


register_resolvers()

METRIC_NAMES = ("hr", "ndcg", "recall", "psp")


def load_split(cfg: Any) -> Split:
    """The prepared split for ``cfg.dataset``, fetching raw files first when they are missing."""
    missing = missing_files(cfg.dataset)
    if missing:
        log.info("%s missing; fetching dataset '%s'", ", ".join(missing), cfg.dataset.name)
        fetch_dataset(cfg.dataset)
    return prepare(cfg.dataset, cache_dir=cfg.paths.cache_dir)


def _selection_key(cfg: Any) -> str:
    metric = str(cfg.selection.metric)
    name = metric.removeprefix("val/")
    base = name.split("@")[0]
    if not metric.startswith("val/") or (base not in METRIC_NAMES and name != "auc"):
        raise InfrecError(f"selection.metric={metric!r}: use val/<hr|ndcg|recall|psp>@k or val/auc")
    return name


def _prefixed(prefix: str, metrics: dict[str, float]) -> dict[str, float]:
    return {f"{prefix}/{k}": v for k, v in metrics.items()}


def run(cfg: DictConfig, run_dir: str | Path | None = None) -> dict[str, float]:
    """Train and evaluate one configuration; write the run record; return its metrics."""
    started = time.perf_counter()
    if run_dir is None:
        run_dir = hydra.core.hydra_config.HydraConfig.get().runtime.output_dir
    run_dir = Path(run_dir)
    selection = _selection_key(cfg)
    model = build_model(cfg.model, dtype=str(cfg.dtype))
    sampler = build_sampler(cfg.sampler, seed=int(cfg.seed))

    split = load_split(cfg)
    ks = check_ks(cfg.eval.ks, split.n_items)
    if "@" in selection and int(selection.split("@")[1]) not in ks:
        raise InfrecError(f"selection.metric={cfg.selection.metric}: k not in eval.ks={ks}")
    log.info("%s", split.describe())
    prepared = time.perf_counter()

    support = sampler.sample(split)
    log.info("support: %s", ", ".join(f"{k}={v:.4g}" for k, v in support.meta.items()))
    known = split.train + split.val + split.test
    weights = psp_weights(split.item_counts)
    eval_opts = {
        "ks": ks,
        "n_negatives": int(cfg.eval.n_negatives),
        "seed": int(cfg.seed),
        "block_users": int(cfg.eval.block_users),
    }
    test_context = (split.train + split.val).tocsr()
    val_task = EvalTask.build(split.train, split.val, known, weights, **eval_opts)
    test_task = EvalTask.build(test_context, split.test, known, weights, **eval_opts)

    resolved = OmegaConf.to_container(cfg, resolve=True)
    tracker = build_tracker(cfg.logger, run_dir, resolved)
    try:
        grid, best, best_hp, best_val = [], None, None, None
        fit_s = validate_s = 0.0
        validated: WeakKeyDictionary = WeakKeyDictionary()  # fitted → validation metrics

        def validate(fitted) -> dict[str, float]:
            if fitted not in validated:
                validated[fitted] = evaluate(fitted.scorer(split.train), val_task)
            return validated[fitted]

        def monitor(fitted) -> float:
            return validate(fitted)[selection]

        t_fit = time.perf_counter()
        for hp, fitted in model.candidates(support.matrix, monitor):
            t_val = time.perf_counter()
            fit_s += t_val - t_fit
            val = validate(fitted)  # trained models: already scored by the monitor
            validate_s += time.perf_counter() - t_val
            grid.append({"hp": hp, "val": val, "fit_seconds": fitted.fit_seconds})
            log.info(
                "%s %s: val %s = %.4f (%.1f s)",
                model.name,
                hp,
                selection,
                val[selection],
                time.perf_counter() - t_fit,
            )
            tracker.log({**_prefixed("val", val), **_prefixed("hp", hp)}, step=len(grid) - 1)
            if best_val is None or val[selection] > best_val[selection]:
                best, best_hp, best_val = fitted, hp, val
            t_fit = time.perf_counter()
        t_test = time.perf_counter()
        test = evaluate(best.scorer(test_context), test_task)
        test_s = time.perf_counter() - t_test

        metrics = {
            **_prefixed("val", best_val),
            **_prefixed("test", test),
            **{f"hp/{k}": float(v) for k, v in best_hp.items()},
            **{f"support/{k}": float(v) for k, v in support.meta.items()},
            "time/prepare_s": prepared - started,
            "time/fit_s": fit_s,
            "time/fit_best_s": best.fit_seconds,
            "time/validate_s": validate_s,
            "time/test_s": test_s,
            "time/total_s": time.perf_counter() - started,
        }
        write_run(run_dir, metrics, resolved, {"grid": grid, "dataset": split.describe()})
        tracker.summary(metrics)
    finally:
        tracker.finish()
    print(f"\n{model.name} on {split.describe()}\n{format_table(metrics, ks)}\nrun dir: {run_dir}")
    return metrics


@hydra.main(version_base="1.3", config_path=str(config_dir()), config_name="config")
def _hydra_main(cfg: DictConfig) -> float:
    try:
        metrics = run(cfg)
    except InfrecError as e:
        log.error("%s", e)
        raise SystemExit(f"error: {e}") from None
    return metrics[str(cfg.selection.metric)]  # the validation score sweepers maximise


def main() -> None:
    _hydra_main()


if __name__ == "__main__":
    main()
