"""``infrec-report <runs dir> [--kind …]``: a study's table and curves from a folder of runs.

The default kind is the fraction-of-data study, made here; ``--kind paper_table`` and
``--kind depth`` hand the runs to :mod:`infrec.paper_table` and :mod:`infrec.depth_study`.

Reads every ``metrics.json`` + ``config.json`` pair under the folder (a Hydra sweep, a DVC study),
averages seeds per (dataset, model, sampler, budget), and adds per run

- ``speedup = full-data fit seconds / this fit seconds`` (``time/fit_best_s``: kernel or Gram
  product plus one solve at the chosen hyper-parameter), and
- ``rel_<metric> = metric / full-data metric`` (quality relative to full data),

where the full-data reference of a (dataset, model) is its ``full`` run, else any run whose
support kept every user and interaction. Writes ``fraction_curve.csv``, one CSV per
(model, sampler) series under ``curves/`` (DVC plots), ``fraction_curve.png``,
``summary.json`` (DVC metrics), and with
``--logger wandb`` a W&B table, line plots and the PNG in the sweep's group.
"""

from __future__ import annotations

import argparse
import csv
import importlib
import json
import logging
from collections import defaultdict
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
from hydra.experimental.callback import Callback

from infrec.errors import InfrecError
from infrec.paths import atomic_path
from infrec.track import write_json

log = logging.getLogger("infrec.report")

KINDS = {
    "fraction_curve": "infrec.report",
    "paper_table": "infrec.paper_table",
    "depth": "infrec.depth_study",
}
"""Study kinds and the module that reports each."""

QUALITY = ("test/hr@10", "test/ndcg@10", "test/hr@100", "test/ndcg@100", "test/psp@10", "test/auc")
COLUMNS = (
    "dataset",
    "model",
    "sampler",
    "budget",
    "seeds",
    "user_share",
    "interaction_share",
    "users",
    "fit_s",
    "sample_s",
    "speedup",
    *QUALITY,
    *(f"rel_{q.split('/')[1]}" for q in QUALITY),
)


def collect_runs(root: str | Path) -> list[dict[str, Any]]:
    """One row per run dir under ``root`` (any depth) holding metrics.json and config.json."""
    rows = []
    for metrics_file in sorted(Path(root).rglob("metrics.json")):
        config_file = metrics_file.with_name("config.json")
        if not config_file.is_file():
            continue
        metrics = json.loads(metrics_file.read_text())
        config = json.loads(config_file.read_text())
        if not any(k.startswith("test/") for k in metrics):
            continue
        sampler = dict(config.get("sampler", {}))
        if sampler.get("name") == "from_file":  # label a saved support by what made it
            sampler = {**sampler, **_support_origin(Path(sampler["path"]))}
        rows.append(
            {
                "dataset": config["dataset"]["name"],
                "model": config["model"]["name"],
                "sampler": sampler.get("name", "full"),
                # a budget left unset (full, an unlabelled support) is the share of users kept
                "budget": sampler.get("budget") or metrics.get("support/user_share", 1.0),
                "seed": config.get("seed"),
                "metrics": metrics,
                "config": config,
            }
        )
    if not rows:
        raise InfrecError(f"{root}: no runs (metrics.json + config.json) found")
    return rows


def _support_origin(path: Path) -> dict[str, Any]:
    """The sampler name and budget recorded in a support file's metadata, when present."""
    from infrec.samplers.support_file import load_support

    if not path.is_file():
        return {}
    origin = load_support(path)[1].get("config", {})
    return {k: origin[k] for k in ("name", "budget") if k in origin}


def _is_full(row: dict[str, Any]) -> bool:
    m = row["metrics"]
    return row["sampler"] == "full" or (
        m.get("support/user_share") == 1.0 and m.get("support/interaction_share") == 1.0
    )


def summarise(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Seed-averaged rows with speed-up and quality relative to full data."""
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for row in rows:
        groups[(row["dataset"], row["model"], row["sampler"], float(row["budget"]))].append(row)
    reference: dict[tuple, dict[str, float]] = {}
    for row in sorted(rows, key=lambda r: r["sampler"] != "full"):
        if _is_full(row):
            reference.setdefault((row["dataset"], row["model"]), row["metrics"])
    table = []
    for (dataset, model, sampler, budget), members in sorted(groups.items()):

        def mean(key: str, members=members) -> float:
            return float(np.mean([m["metrics"].get(key, np.nan) for m in members]))

        out: dict[str, Any] = {
            "dataset": dataset,
            "model": model,
            "sampler": sampler,
            "budget": budget,
            "seeds": len(members),
            "user_share": mean("support/user_share"),
            "interaction_share": mean("support/interaction_share"),
            "users": mean("support/users"),
            "fit_s": mean("time/fit_best_s"),
            "sample_s": mean("support/seconds"),
        }
        for q in QUALITY:
            out[q] = mean(q)
        ref = reference.get((dataset, model))
        out["speedup"] = ref["time/fit_best_s"] / out["fit_s"] if ref else float("nan")
        for q in QUALITY:
            out[f"rel_{q.split('/')[1]}"] = out[q] / ref[q] if ref and ref.get(q) else float("nan")
        table.append(out)
    return table


def write_csv(path: Path, rows: list[dict[str, Any]], columns: tuple[str, ...]) -> None:
    with atomic_path(path) as tmp, tmp.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(columns), extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow(
                {k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in row.items()}
            )


def series(table: list[dict[str, Any]]) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """Rows grouped by (model, sampler), sorted by the share of users kept."""
    out: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for row in table:
        out[(row["model"], row["sampler"])].append(row)
    return {k: sorted(v, key=lambda r: r["user_share"]) for k, v in sorted(out.items())}


def pyplot():
    """matplotlib's pyplot on the file-only Agg backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_png(fig, path: Path) -> None:
    """Lay out, write atomically and close a figure."""
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    pyplot().close(fig)


def plot_png(path: Path, table: list[dict[str, Any]], metric: str = "test/hr@10") -> None:
    """One panel per model: ``metric`` ×100 against % users kept (log x), a line per sampler."""
    plt = pyplot()
    lines = series(table)
    models = sorted({m for m, _ in lines})
    fig, axes = plt.subplots(1, len(models), figsize=(5.5 * len(models), 4), squeeze=False)
    for ax, model in zip(axes[0], models, strict=True):
        for (m, sampler), rows in lines.items():
            if m == model:
                ax.plot(
                    [100 * r["user_share"] for r in rows],
                    [100 * r[metric] for r in rows],
                    marker="o",
                    label=sampler,
                )
        ax.set_xscale("log")
        ax.set_xlabel("% users kept")
        ax.set_ylabel(f"{metric} ×100")
        ax.set_title(model)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    save_png(fig, path)


@contextmanager
def wandb_report_run(out_dir: Path, project: str, group: str | None, mode: str):
    """A W&B run (job type ``report``) in the sweep's group, finished whatever happens."""
    import wandb

    run = wandb.init(
        project=project,
        group=group,
        job_type="report",
        mode=mode,
        dir=str(out_dir),
        name=f"report-{group}" if group else "report",
    )
    try:
        yield run
    finally:
        wandb.finish()


def wandb_table(rows: list[dict[str, Any]], columns: tuple[str, ...]):
    import wandb

    return wandb.Table(columns=list(columns), data=[[r.get(c) for c in columns] for r in rows])


def log_wandb(
    table: list[dict[str, Any]], png: Path, project: str, group: str | None, mode: str
) -> None:
    """The table, line plots per model and the PNG, in the sweep's group."""
    import wandb

    with wandb_report_run(png.parent, project, group, mode) as run:
        run.log({"fraction_curve": wandb_table(table, COLUMNS)})
        for model in sorted({r["model"] for r in table}):
            lines = {s: rows for (m, s), rows in series(table).items() if m == model}
            run.log(
                {
                    f"curve/{model}": wandb.plot.line_series(
                        xs=[[r["user_share"] for r in rows] for rows in lines.values()],
                        ys=[[r["test/hr@10"] for r in rows] for rows in lines.values()],
                        keys=list(lines),
                        title=f"{model}: test HR@10 vs share of users",
                        xname="user_share",
                    )
                }
            )
        run.log({"fraction_curve_png": wandb.Image(str(png))})


def report(
    root: str | Path,
    out_dir: str | Path | None = None,
    logger: str = "none",
    project: str = "infrec",
    group: str | None = None,
    mode: str = "offline",
    kind: str = "fraction_curve",
) -> Path:
    """Aggregate the runs under ``root`` into ``out_dir`` (default ``root/report``).

    ``kind`` picks the study: ``fraction_curve`` (this module), ``paper_table``
    (:mod:`infrec.paper_table`) or ``depth`` (:mod:`infrec.depth_study`).
    """
    out = Path(out_dir) if out_dir else Path(root) / "report"
    if kind not in KINDS:
        raise InfrecError(f"report kind {kind!r}: choose one of {sorted(KINDS)}")
    if kind != "fraction_curve":
        module = importlib.import_module(KINDS[kind])
        return module.report(collect_runs(root), out, logger, project, group, mode)
    table = summarise(collect_runs(root))
    write_csv(out / "fraction_curve.csv", table, COLUMNS)
    for (model, sampler), rows in series(table).items():
        write_csv(
            out / "curves" / f"{model}-{sampler}.csv",
            rows,
            ("user_share", "interaction_share", "speedup", *QUALITY),
        )
    plot_png(out / "fraction_curve.png", table)
    write_json(
        out / "summary.json",
        {
            f"{r['model']}/{r['sampler']}/{r['budget']:g}/{key}": r[key]
            for r in table
            for key in ("test/hr@10", "test/ndcg@10", "speedup")
        },
    )
    if logger == "wandb":
        log_wandb(table, out / "fraction_curve.png", project, group, mode)
    print(format_table(table))
    print(f"report: {out / 'fraction_curve.csv'}, {out / 'fraction_curve.png'}")
    return out


def format_table(table: list[dict[str, Any]]) -> str:
    lines = [
        f"{'model':<12}{'sampler':<19}{'budget':>8}{'users%':>8}{'hr@10':>8}{'rel':>7}"
        f"{'speedup':>9}"
    ]
    for r in table:
        lines.append(
            f"{r['model']:<12}{r['sampler']:<19}{r['budget']:>8.4g}{100 * r['user_share']:>8.2f}"
            f"{100 * r['test/hr@10']:>8.2f}{r['rel_hr@10']:>7.3f}{r['speedup']:>9.1f}"
        )
    return "\n".join(lines)


class ReportCallback(Callback):
    """Hydra callback: aggregate a multirun's sweep dir when the sweep ends."""

    def __init__(self, kind: str = "fraction_curve"):
        self.kind = kind

    def on_multirun_end(self, config: Any, **kwargs: Any) -> None:
        logger = config.logger
        report(
            config.hydra.sweep.dir,
            logger=str(logger.name),
            project=str(logger.get("project", "infrec")),
            group=logger.get("group"),
            mode=str(logger.get("mode", "offline")),
            kind=self.kind,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description="Aggregate a study's runs into tables and plots")
    parser.add_argument("runs", help="folder holding run dirs (metrics.json + config.json)")
    parser.add_argument("--kind", choices=sorted(KINDS), default="fraction_curve")
    parser.add_argument("--out", help="output folder (default: <runs>/report)")
    parser.add_argument("--logger", choices=["none", "wandb"], default="none")
    parser.add_argument("--project", default="infrec")
    parser.add_argument("--group", default=None)
    parser.add_argument("--mode", default="offline", choices=["offline", "online"])
    args = parser.parse_args()
    try:
        report(args.runs, args.out, args.logger, args.project, args.group, args.mode, args.kind)
    except InfrecError as e:
        raise SystemExit(f"error: {e}") from None


if __name__ == "__main__":
    main()
