"""The depth study: ∞-AE quality against the depth of the network whose NTK it uses.

One row per (dataset, model, setting, depth), seeds averaged (never across settings), with test
metrics ×100 (said in the column names), their spread over seeds (blank for one seed) and fit
seconds (compilation set apart, :mod:`infrec.selection`); written as ``depth.csv``,
``depth.png`` (HR@10 and nDCG@10 against depth, like the slides' Figure 2; the title names the
dataset) and, with the logger on, a W&B table and line plot in the same units.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

from infrec.errors import InfrecError
from infrec.reports.common import (
    blanks,
    label_settings,
    mean_of,
    pyplot,
    save_png,
    sd_of,
    write_csv,
)
from infrec.track import Tracker

METRICS = ("hr@10", "ndcg@10", "hr@100", "ndcg@100", "psp@10", "auc")
X100 = " (×100)"
PLOTTED = {"hr@10": "HR@10", "ndcg@10": "nDCG@10"}
COLUMNS = (
    "dataset",
    "model",
    "setting",
    "depth",
    "seeds",
    *(f"{m}{X100}" for m in METRICS),
    *(f"{m} sd{X100}" for m in PLOTTED),
    "lambda",
    "fit_s",
)


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
        row.update({f"{k}{X100}": 100 * mean_of(members, f"test/{k}") for k in METRICS})
        row.update({f"{k} sd{X100}": 100 * sd_of(members, f"test/{k}") for k in PLOTTED})
        row["lambda"] = mean_of(members, "hp/lambda")
        row["fit_s"] = mean_of(members, "time/fit_best_s")
        rows.append(row)
    return rows


def plot_png(path: Path, rows: list[dict[str, Any]]) -> None:
    """Test HR@10 and nDCG@10 ×100 against depth, a line per (dataset, setting) and metric."""
    fig, ax = pyplot().subplots(figsize=(6.4, 4.4))
    lines = sorted({(r["dataset"], r["setting"]) for r in rows})
    for dataset, setting in lines:
        mine = [r for r in rows if (r["dataset"], r["setting"]) == (dataset, setting)]
        for (metric, name), style in zip(PLOTTED.items(), ("o-", "s--"), strict=True):
            who = " ".join(p for p in (dataset if len(lines) > 1 else "", setting) if p)
            ax.plot(
                [r["depth"] for r in mine],
                [r[f"{metric}{X100}"] for r in mine],
                style,
                label=f"{who} test {name}".strip(),
            )
    ax.set_xlabel("depth (hidden layers of the NTK's network)")
    ax.set_ylabel("test metric (×100)")
    depths = sorted({r["depth"] for r in rows})
    ax.set_xticks(depths)
    if depths:
        ax.set_xlim(depths[0] - 0.5, depths[-1] + 0.5)  # every point inside
    datasets = ", ".join(sorted({r["dataset"] for r in rows}))
    ax.set_title(f"∞-AE on {datasets}: test quality against depth")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    save_png(fig, path)


def render(runs: list[dict[str, Any]], out: Path, tracker: Tracker) -> None:
    """``depth.csv`` and ``depth.png`` (and the tracker's table and curve) from ``runs``."""
    rows = depth_rows(runs)
    write_csv(out / "depth.csv", rows, COLUMNS)
    plot_png(out / "depth.png", rows)
    tracker.table("depth", blanks(rows), COLUMNS)
    datasets = ", ".join(sorted({r["dataset"] for r in rows}))
    tracker.lines(
        "depth_curve",
        xs=[[r["depth"] for r in rows]] * 2,
        ys=[[r[f"{m}{X100}"] for r in rows] for m in PLOTTED],
        names=[f"test {name} ×100" for name in PLOTTED.values()],
        title=f"∞-AE on {datasets}: test quality ×100 against depth",
        xname="depth",
    )
    tracker.image("depth_png", out / "depth.png")
    print(f"{'depth':>5}{'HR@10':>8}{'nDCG@10':>9}{'HR@100':>8}{'lambda':>8}{'fit s':>8}")
    for r in rows:
        print(
            f"{r['depth']:>5}{r['hr@10' + X100]:>8.2f}{r['ndcg@10' + X100]:>9.2f}"
            f"{r['hr@100' + X100]:>8.2f}{r['lambda']:>8g}{r['fit_s']:>8.2f}"
        )
    print("metrics ×100; fit s: seconds of the fit at the chosen λ")
    print(f"report: {out / 'depth.csv'}, {out / 'depth.png'}")
