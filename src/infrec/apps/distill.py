"""``infrec-distill``: Distill-CF on a dataset → a support file (and its binarised export).

The support is cached under ``paths.support_dir`` keyed by the split and the sampler config (so
``infrec-train sampler=distill_cf`` with the same settings reuses it) and copied into the run dir as
``support.npz`` with ``support_binary.npz`` (top round(row sum) entries per synthetic user as 1s)
and ``metrics.json`` (best step, validation HR@100, seconds per step).
"""

from __future__ import annotations

import logging
from pathlib import Path

import hydra
from omegaconf import DictConfig, OmegaConf

from infrec import sharding
from infrec.config import one_line_errors, run_app, run_tags
from infrec.data.load import load_split
from infrec.data.matrix import binarize
from infrec.errors import InfrecError
from infrec.paths import atomic_files, check_writable, config_dir, json_text
from infrec.samplers import build_sampler
from infrec.samplers.support_file import write_support
from infrec.track import build_tracker

log = logging.getLogger("infrec.distill")


def run(cfg: DictConfig, run_dir: str | Path | None = None) -> Path:
    """Distil, save the support artifacts into ``run_dir``; return the support's path."""
    if run_dir is None:
        run_dir = hydra.core.hydra_config.HydraConfig.get().runtime.output_dir
    run_dir = Path(run_dir)
    lead = sharding.start(cfg.runtime)  # several processes: one mesh; process 0 writes files
    if cfg.sampler.name != "distill_cf":
        raise InfrecError(f"infrec-distill needs sampler=distill_cf, got {cfg.sampler.name}")
    sampler = build_sampler(cfg.sampler, seed=int(cfg.seed), support_dir=cfg.paths.support_dir)
    if lead:  # before the distillation, not after it
        check_writable(run_dir, "the run folder")
    split = load_split(cfg)
    resolved = OmegaConf.to_container(cfg, resolve=True)
    name = f"{split.name}-distill_cf-{cfg.sampler.budget}"
    logger = cfg.logger if lead else {"name": "none"}
    tracker = build_tracker(logger, run_dir, resolved, name=name, tags=run_tags(cfg))
    try:
        support = sampler.sample(split, tracker.record)
        metrics = {f"distill/{k}": v for k, v in support.meta.items()}
        tracker.summary(metrics)
    finally:
        tracker.finish()
    if not lead:
        return run_dir / "support.npz"
    meta = {
        "dataset": split.name,
        "split_key": split.key,
        "config": OmegaConf.to_container(cfg.sampler, resolve=True),
        **support.meta,
    }
    path, binary, metrics_file = (
        run_dir / name for name in ("support.npz", "support_binary.npz", "metrics.json")
    )
    with atomic_files([path, binary, metrics_file]) as tmps:  # the three files, or none
        write_support(tmps[0], support.matrix, meta)
        write_support(tmps[1], binarize(support.matrix), meta)
        tmps[2].write_text(json_text(metrics))
    print(f"Distill-CF support ({support.matrix.shape[0]} users) for {split.name}: {path}")
    return path


@hydra.main(version_base="1.3", config_path=str(config_dir()), config_name="distill")
@one_line_errors
def _hydra_main(cfg: DictConfig) -> None:
    run(cfg)


def main() -> None:
    run_app(_hydra_main, "distill")


if __name__ == "__main__":
    main()
