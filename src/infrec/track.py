"""Run records: ``metrics.json`` and the resolved config in the run dir, W&B when asked for.

Every number a run reports goes through :func:`write_run`, so ``metrics.json``, the W&B summary and
DVC's metrics all read the same values. W&B runs offline unless ``logger.mode=online``.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from infrec.errors import InfrecError
from infrec.paths import atomic_path

log = logging.getLogger(__name__)


def write_json(path: Path, obj: Any) -> None:
    with atomic_path(Path(path)) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=True) + "\n")


class Tracker:
    """No-op tracker (``logger=none``); subclasses send the same calls elsewhere."""

    def log(self, metrics: dict[str, float], step: int | None = None) -> None:
        """Record metrics at a step (curves)."""

    def summary(self, metrics: dict[str, float]) -> None:
        """Record a run's final numbers."""

    def finish(self) -> None:
        """Flush and close; always called, also after an error."""


class WandbTracker(Tracker):
    def __init__(self, cfg: Any, run_dir: Path, config: dict):
        import wandb

        mode = str(cfg.get("mode", "offline"))
        if mode not in ("offline", "online", "disabled"):
            raise InfrecError(f"logger.mode={mode!r}: choose offline, online or disabled")
        self._wandb = wandb
        self.run = wandb.init(
            project=cfg.get("project"),
            entity=cfg.get("entity"),
            group=cfg.get("group"),
            name=cfg.get("run_name"),
            tags=list(cfg.get("tags") or []),
            job_type=cfg.get("job_type"),
            mode=mode,
            dir=str(run_dir),
            config=config,
        )

    def log(self, metrics: dict[str, float], step: int | None = None) -> None:
        self.run.log(metrics, step=step)

    def summary(self, metrics: dict[str, float]) -> None:
        for key, value in metrics.items():
            self.run.summary[key] = value

    def finish(self) -> None:
        self._wandb.finish()


def build_tracker(cfg: Any, run_dir: Path, config: dict) -> Tracker:
    name = str(cfg.get("name", "none"))
    if name == "none":
        return Tracker()
    if name == "wandb":
        return WandbTracker(cfg, run_dir, config)
    raise InfrecError(f"logger.name={name!r}: choose none or wandb")


def write_run(run_dir: Path, metrics: dict[str, float], config: dict, extra: dict) -> None:
    """``metrics.json`` (flat numbers), ``config.json`` (resolved) and ``details.json``."""
    run_dir = Path(run_dir)
    write_json(run_dir / "metrics.json", metrics)
    write_json(run_dir / "config.json", config)
    write_json(run_dir / "details.json", extra)


def format_table(metrics: dict[str, float], ks: list[int]) -> str:
    """Console table: metrics ×100 for val and test, then hyper-parameters and seconds."""
    names = [f"{m}@{k}" for m in ("hr", "ndcg", "recall", "psp") for k in ks] + ["auc"]
    width = max(len(n) for n in names) + 2
    lines = [f"{'metric':<{width}}{'val':>9}{'test':>9}"]
    for n in names:
        row = [metrics.get(f"{part}/{n}") for part in ("val", "test")]
        cells = "".join(f"{100 * v:9.2f}" if v is not None else f"{'-':>9}" for v in row)
        lines.append(f"{n:<{width}}{cells}")
    for key in sorted(metrics):
        if key.startswith(("hp/", "time/")):
            lines.append(f"{key:<{width}}{metrics[key]:>18.4g}")
    return "\n".join(lines)
