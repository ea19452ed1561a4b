"""The depth study: ∞-AE quality against the depth of the network whose NTK it uses.

One row per (dataset, model, depth), seeds averaged, with test metrics ×100 and fit seconds;
written as ``depth.csv`` (a DVC plot), ``depth.png`` (HR@10 and nDCG@10 against depth, like the
slides' Figure 2) and, with the logger on, a W&B table and line plot.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from infrec.errors import InfrecError
from infrec.report import pyplot, save_png, wandb_report_run, wandb_table, write_csv

METRICS = ("hr@10", "ndcg@10", "hr@100", "ndcg@100", "psp@10", "auc")
COLUMNS = ("dataset", "model", "depth", "seeds", *METRICS, "lambda", "fit_s")


def depth_rows(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for run in runs:
        depth = run["config"]["model"].get("depth")
        if depth is None:
            raise InfrecError(f"model {run['model']} has no depth; the depth study needs ∞-AE")
        groups[(run["dataset"], run["model"], int(depth))].append(run["metrics"])
    rows = []
    for (dataset, model, depth), members in sorted(groups.items()):

        def mean(key: str, members=members) -> float:
            return float(np.mean([m.get(key, np.nan) for m in members]))

        row = {"dataset": dataset, "model": model, "depth": depth, "seeds": len(members)}
        row.update({k: 100 * mean(f"test/{k}") for k in METRICS})
        row["lambda"] = mean("hp/lambda")
        row["fit_s"] = mean("time/fit_best_s")
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


def report(
    runs: list[dict[str, Any]],
    out: Path,
    logger: str,
    project: str,
    group: str | None,
    mode: str,
) -> Path:
    rows = depth_rows(runs)
    write_csv(out / "depth.csv", rows, COLUMNS)
    plot_png(out / "depth.png", rows)
    if logger == "wandb":
        import wandb

        with wandb_report_run(out, project, group, mode) as run:
            run.log({"depth": wandb_table(rows, COLUMNS)})
            run.log(
                {
                    "depth_curve": wandb.plot.line_series(
                        xs=[[r["depth"] for r in rows]] * 2,
                        ys=[[r["hr@10"] for r in rows], [r["ndcg@10"] for r in rows]],
                        keys=["test hr@10", "test ndcg@10"],
                        title="∞-AE: quality against depth",
                        xname="depth",
                    )
                }
            )
            run.log({"depth_png": wandb.Image(str(out / "depth.png"))})
    print(f"{'depth':>5}{'hr@10':>8}{'ndcg@10':>9}{'hr@100':>8}{'lambda':>8}{'fit s':>8}")
    for r in rows:
        print(
            f"{r['depth']:>5}{r['hr@10']:>8.2f}{r['ndcg@10']:>9.2f}{r['hr@100']:>8.2f}"
            f"{r['lambda']:>8g}{r['fit_s']:>8.1f}"
        )
    print(f"report: {out / 'depth.csv'}, {out / 'depth.png'}")
    return out
