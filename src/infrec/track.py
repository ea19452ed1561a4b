"""Run records and trackers: ``metrics.json`` and the resolved config in the run dir, and W&B.

Every number a run reports goes through :func:`write_run`, so ``metrics.json``, the W&B summary and
DVC's metrics all read the same values. W&B is reached only through :class:`Tracker` (runs and
study reports alike) and runs offline unless ``logger.mode=online``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from infrec.errors import InfrecError
from infrec.evaluate import RANKING_METRICS
from infrec.paths import write_json_set

log = logging.getLogger(__name__)

WANDB_MODES = ("offline", "online", "disabled")


class Tracker:
    """No-op tracker (``logger=none``); :class:`WandbTracker` sends the same calls to W&B."""

    def record(self, axis: str, step: float, values: Mapping[str, float]) -> None:
        """History on a named step axis: ``values`` at ``axis = step`` (e.g. ``lambda``,
        ``grid`` index, ``epoch``, ``distill_step``), logged as ``<axis>/<key>``; it never
        touches the summary, which is exactly ``metrics.json``."""

    def summary(self, metrics: Mapping[str, float]) -> None:
        """Record a run's final numbers (exactly its ``metrics.json``)."""

    def table(self, key: str, rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> None:
        """Record a table, one row per mapping, in ``columns`` order."""

    def lines(
        self,
        key: str,
        xs: Sequence[Sequence[float]],
        ys: Sequence[Sequence[float]],
        names: Sequence[str],
        title: str,
        xname: str,
    ) -> None:
        """Record a line plot with one line per name."""

    def image(self, key: str, path: Path) -> None:
        """Record a PNG file."""

    def finish(self) -> None:
        """Flush and close; always called, also after an error."""


class WandbTracker(Tracker):
    """A W&B run: ``project``, ``entity``, ``group``, ``run_name``, ``tags``, ``job_type`` and
    ``mode`` come from the logger config (``conf/logger/wandb.yaml``); W&B's variables
    ``WANDB_DIR``, ``WANDB_MODE``, ``WANDB_PROJECT`` and ``WANDB_ENTITY``, when set, win over the
    logger config and the run folder (the others W&B reads itself)."""

    def __init__(
        self,
        cfg: Mapping[str, Any],
        run_dir: Path,
        config: dict,
        name: str | None = None,
        tags: list[str] | None = None,
    ):
        import wandb

        mode = str(cfg.get("mode", "offline"))
        if mode not in WANDB_MODES:
            raise InfrecError(f"logger.mode={mode!r}: choose one of {', '.join(WANDB_MODES)}")
        self._wandb = wandb
        self._axes: set[str] = set()
        settings = {
            "project": cfg.get("project"),
            "entity": cfg.get("entity"),
            "mode": mode,
            "dir": str(run_dir),
        }
        for key in settings:  # W&B's own variable, when set, wins over the logger config
            settings[key] = os.environ.get(f"WANDB_{key.upper()}") or settings[key]
        self.run = wandb.init(
            group=cfg.get("group"),
            name=cfg.get("run_name") or name,
            tags=list(tags if tags is not None else cfg.get("tags") or []),
            job_type=cfg.get("job_type"),
            config=config,
            **settings,
        )

    def record(self, axis: str, step: float, values: Mapping[str, float]) -> None:
        if axis not in self._axes:  # plots of <axis>/* use <axis> as their x axis; history only
            self.run.define_metric(axis, summary="none")
            self.run.define_metric(f"{axis}/*", step_metric=axis, summary="none")
            self._axes.add(axis)
        self.run.log({axis: step, **{f"{axis}/{k}": v for k, v in values.items()}})

    def summary(self, metrics: Mapping[str, float]) -> None:
        for key, value in metrics.items():
            self.run.summary[key] = value

    def table(self, key: str, rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> None:
        data = [[row.get(c) for c in columns] for row in rows]
        self.run.log({key: self._wandb.Table(columns=list(columns), data=data)}, commit=False)

    def lines(self, key, xs, ys, names, title, xname) -> None:
        plot = self._wandb.plot.line_series(
            xs=[list(x) for x in xs],
            ys=[list(y) for y in ys],
            keys=list(names),
            title=title,
            xname=xname,
        )
        self.run.log({key: plot}, commit=False)

    def image(self, key: str, path: Path) -> None:
        self.run.log({key: self._wandb.Image(str(path))}, commit=False)

    def finish(self) -> None:
        self._wandb.finish()


def build_tracker(
    cfg: Mapping[str, Any],
    run_dir: Path,
    config: dict,
    name: str | None = None,
    tags: list[str] | None = None,
) -> Tracker:
    """The tracker ``cfg.name`` names (``none`` or ``wandb``), writing under ``run_dir``; ``name``
    and ``tags`` apply unless the logger config sets ``run_name`` / is given ``tags``."""
    kind = str(cfg.get("name", "none"))
    if kind == "none":
        return Tracker()
    if kind == "wandb":
        Path(run_dir).mkdir(parents=True, exist_ok=True)
        return WandbTracker(cfg, Path(run_dir), config, name=name, tags=tags)
    raise InfrecError(f"logger.name={kind!r}: choose none or wandb")


def write_run(run_dir: Path, metrics: dict[str, float], config: dict, extra: dict) -> None:
    """``metrics.json`` (flat numbers), ``config.json`` (resolved) and ``details.json``, published
    as one record: all three or none (a full disk leaves no half record for a report to read)."""
    run_dir = Path(run_dir)
    write_json_set(
        {
            run_dir / "metrics.json": metrics,
            run_dir / "config.json": config,
            run_dir / "details.json": extra,
        }
    )


def format_metrics(metrics: dict[str, float], ks: list[int]) -> str:
    """Console table of one run: one format per unit — ranking metrics ×100 with two decimals in
    a val and a test column; hyper-parameters as chosen (``%g``); times in seconds on one line."""
    names = [f"{m}@{k}" for m in RANKING_METRICS for k in ks] + ["auc"]
    width = max(len(n) for n in names) + 2
    lines = [f"{'metric (×100)':<{width + 4}}{'val':>5}{'test':>9}"]
    for n in names:
        row = [metrics.get(f"{part}/{n}") for part in ("val", "test")]
        cells = "".join(f"{100 * v:9.2f}" if v is not None else f"{'-':>9}" for v in row)
        lines.append(f"{n:<{width}}{cells}")
    hps = sorted(k for k in metrics if k.startswith("hp/"))
    if hps:
        lines.append("chosen on validation: " + ", ".join(f"{k[3:]}={metrics[k]:g}" for k in hps))
    times = [(label, metrics[k]) for k, label in TIME_ORDER.items() if k in metrics]
    if times:
        lines.append("seconds: " + ", ".join(f"{name} {value:.2f}" for name, value in times))
    return "\n".join(lines)


TIME_ORDER = {
    "time/prepare_s": "prepare",
    "time/fit_s": "fit (every setting)",
    "time/fit_best_s": "fit (chosen)",
    "time/validate_s": "validate",
    "time/test_s": "test",
    "time/total_s": "total",
}
"""The run's phases in the order they happen, as the console lists them."""


def heading(model: str, sampler: str, budget: object, dataset: str) -> str:
    """The run's one-line heading: model, sampler with its budget, dataset."""
    if sampler == "full" or budget is None:
        kept = ""
    elif isinstance(budget, float) and budget <= 1:
        kept = f" ({100 * budget:g}% of users)"
    else:
        kept = f" ({int(budget):,} users)"
    return f"{model} on {dataset}, sampler {sampler}{kept}"
