"""The paper's main table: every model tuned on validation, test metrics at k = 10 and 100.

One row per (dataset, model), in the order of ``study.models`` in the runs' config (the paper's row
order in ``conf/experiment/paper_table.yaml``; other models after them): the run with the best
validation selection metric when a folder holds several (a search sweep), its chosen hyper-
parameters, the paper's nDCG@10 beside ours and the seconds each took (``fit_s``: training or
closed-form fit at the chosen setting, JAX's compilation set apart; ``total_s``: the whole run, the
validation grid or early-stopping passes included). Metrics are ×100 everywhere (said in the CSV's
column names); a number that is not there (no paper figure) is a blank cell, ``—`` in Markdown.
Written as ``paper_table.md`` and ``paper_table.csv``, and as a table to the tracker.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from infrec.reports.common import blanks, write_csv, write_text
from infrec.track import Tracker

METRICS = ("ndcg@10", "hr@10", "recall@10", "ndcg@100", "hr@100", "recall@100", "psp@10", "auc")
X100 = " (×100)"
COLUMNS = (
    "dataset",
    "model",
    "paper_ndcg@10",
    *METRICS,
    "ndcg@10_minus_paper",
    "fit_s",
    "total_s",
    "hyper_parameters",
)
"""The rows' keys (metrics ×100)."""
CSV_COLUMNS = (
    *(
        f"{c}{X100}" if c in METRICS or c in ("paper_ndcg@10", "ndcg@10_minus_paper") else c
        for c in COLUMNS
    ),
)
"""The CSV's and the tracker's column names: :data:`COLUMNS` with the unit of the metrics."""


def _named(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {csv: row.get(key) for key, csv in zip(COLUMNS, CSV_COLUMNS, strict=True)} for row in rows
    ]


def _selection(row: dict[str, Any]) -> float:
    metric = str(row["config"].get("selection", {}).get("metric", "val/hr@100"))
    return float(row["metrics"].get(metric, -math.inf))


def _study_models(run: dict[str, Any]) -> list[str]:
    """The study's models in row order (``study.models``: the paper's order in the YAML)."""
    models = run["config"].get("study", {}).get("models", "")
    return [m.strip() for m in str(models).split(",") if m.strip()]


def best_per_model(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Table rows (metrics ×100): the best-validating run of each (dataset, model)."""
    best: dict[tuple[str, str], dict[str, Any]] = {}
    for run in runs:
        key = (run["dataset"], run["model"])
        if key not in best or _selection(run) > _selection(best[key]):
            best[key] = run
    rows = []
    order: dict[str, int] = {}
    for run in runs:
        for m in _study_models(run):
            order.setdefault(m, len(order))
    for (dataset, model), run in sorted(
        best.items(), key=lambda kv: (kv[0][0], order.get(kv[0][1], len(order)), kv[0][1])
    ):
        m = run["metrics"]
        paper = run["config"].get("study", {}).get("paper", {}).get(dataset, {}).get(model)
        row: dict[str, Any] = {"dataset": dataset, "model": model}
        row.update({k: 100 * m[f"test/{k}"] for k in METRICS if f"test/{k}" in m})
        row["paper_ndcg@10"] = float(paper) if paper is not None else math.nan
        row["ndcg@10_minus_paper"] = row.get("ndcg@10", math.nan) - row["paper_ndcg@10"]
        row["fit_s"] = m.get("time/fit_best_s", math.nan)
        row["total_s"] = m.get("time/total_s", math.nan)
        row["hyper_parameters"] = " ".join(
            f"{k[3:]}={v:g}" for k, v in sorted(m.items()) if k.startswith("hp/")
        )
        rows.append(row)
    return rows


def _number(value: float, spec: str) -> str:
    return "—" if math.isnan(value) else format(value, spec)


def markdown(rows: list[dict[str, Any]]) -> str:
    """The table as Markdown: metrics ×100, the paper's nDCG@10 beside ours, seconds."""
    head = [
        "dataset",
        "model",
        "nDCG@10",
        "paper",
        "Δ",
        "HR@10",
        "nDCG@100",
        "HR@100",
        "PSP@10",
        "AUC",
        "fit s",
        "total s",
        "chosen hyper-parameters",
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        cells = [r["dataset"], r["model"]]
        cells += [
            _number(r.get(k, math.nan), ".2f")
            for k in (
                "ndcg@10",
                "paper_ndcg@10",
                "ndcg@10_minus_paper",
                "hr@10",
                "ndcg@100",
                "hr@100",
                "psp@10",
                "auc",
            )
        ]
        cells += [_number(r["fit_s"], ".1f"), _number(r["total_s"], ".1f")]
        cells.append(r["hyper_parameters"] or "—")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def render(runs: list[dict[str, Any]], out: Path, tracker: Tracker) -> None:
    """``paper_table.md`` and ``paper_table.csv`` (and the tracker's table) from ``runs``."""
    rows = best_per_model(runs)
    write_csv(out / "paper_table.csv", _named(rows), CSV_COLUMNS)
    text = markdown(rows)
    write_text(out / "paper_table.md", text)
    tracker.table("paper_table", blanks(_named(rows)), CSV_COLUMNS)
    print(text)
    print(f"report: {out / 'paper_table.md'}, {out / 'paper_table.csv'}")
