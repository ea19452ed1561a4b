"""The depth study: ∞-AE quality against the depth of the network whose NTK it uses.

One row per (dataset, model, setting, depth), seeds averaged (never across settings), with test
metrics ×100 and fit seconds;
written as ``depth.csv`` (a DVC plot), ``depth.png`` (HR@10 and nDCG@10 against depth, like the
slides' Figure 2) and, with the logger on, a W&B table and line plot.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

from infrec.errors import InfrecError
from infrec.reports.common import label_settings, mean_of, pyplot, save_png, write_csv
from infrec.track import Tracker

METRICS = ("hr@10", "ndcg@10", "hr@100", "ndcg@100", "psp@10", "auc")
COLUMNS = ("dataset", "model", "setting", "depth", "seeds", *METRICS, "lambda", "fit_s")


def depth_rows(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    label_settings(runs, also_ignore=["model.depth"])
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for run in runs:
        depth = run["config"]["model"].get("depth")
        if depth is None:
            raise InfrecError(f"model {run['model']} has no depth; the depth study needs ∞-AE")
        groups[(run["dataset"], run["model"], run["setting"], int(depth))].append(run["metrics"])
    rows = []
    for (dataset, model, setting, depth), members in sorted(groups.items()):
        row = {"dataset": dataset, "model": model, "setting": setting, "depth": depth}
        row["seeds"] = len(members)
        row.update({k: 100 * mean_of(members, f"test/{k}") for k in METRICS})
        row["lambda"] = mean_of(members, "hp/lambda")
        row["fit_s"] = mean_of(members, "time/fit_best_s")
        rows.append(row)
    return rows


def plot_png(path: Path, rows: list[dict[str, Any]]) -> None:
    fig, ax = pyplot().subplots(figsize=(5.5, 4))
    for dataset in sorted({r["dataset"] for r in rows}):
        mine = [r for r in rows if r["dataset"] == dataset]
        for metric, style in (("hr@10", "o-"), ("ndcg@10", "s--")):
            ax.plot(
                [r["depth"] for r in mine],
                [r[metric] for r in mine],
                style,
                label=f"{dataset} {metric}",
            )
    ax.set_xlabel("depth (hidden layers of the NTK's network)")
    ax.set_ylabel("test metric ×100")
    ax.set_xticks(sorted({r["depth"] for r in rows}))
    ax.set_title("∞-AE: quality against depth")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    save_png(fig, path)


def render(runs: list[dict[str, Any]], out: Path, tracker: Tracker) -> None:
    """``depth.csv`` and ``depth.png`` (and the tracker's table and curve) from ``runs``."""
    rows = depth_rows(runs)
    write_csv(out / "depth.csv", rows, COLUMNS)
    plot_png(out / "depth.png", rows)
    tracker.table("depth", rows, COLUMNS)
    tracker.lines(
        "depth_curve",
        xs=[[r["depth"] for r in rows]] * 2,
        ys=[[r["hr@10"] for r in rows], [r["ndcg@10"] for r in rows]],
        names=["test hr@10", "test ndcg@10"],
        title="∞-AE: quality against depth",
        xname="depth",
    )
    tracker.image("depth_png", out / "depth.png")
    print(f"{'depth':>5}{'hr@10':>8}{'ndcg@10':>9}{'hr@100':>8}{'lambda':>8}{'fit s':>8}")
    for r in rows:
        print(
            f"{r['depth']:>5}{r['hr@10']:>8.2f}{r['ndcg@10']:>9.2f}{r['hr@100']:>8.2f}"
            f"{r['lambda']:>8g}{r['fit_s']:>8.1f}"
        )
    print(f"report: {out / 'depth.csv'}, {out / 'depth.png'}")
