"""The fraction-of-data study: quality and speed-up against the share of data each sampler kept.

Averages seeds per (dataset, model, sampler, budget) and adds per row

- ``speedup = full-data fit seconds / this fit seconds`` (``time/fit_best_s``: kernel or Gram
  product plus one solve at the chosen hyper-parameter), and
- ``rel_<metric> = metric / full-data metric`` (quality relative to full data),

where the full-data reference of a (dataset, model) is its ``full`` run, else any run whose
support kept every user and interaction. Writes ``fraction_curve.csv``, one CSV per
(model, sampler) series under ``curves/`` (DVC plots), ``fraction_curve.png``,
``summary.json`` (DVC metrics), and to the tracker a table, line plots and the PNG.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

from infrec.paths import write_json
from infrec.reports.common import mean_of, pyplot, save_png, write_csv
from infrec.track import Tracker

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
        metrics = [m["metrics"] for m in members]
        out: dict[str, Any] = {
            "dataset": dataset,
            "model": model,
            "sampler": sampler,
            "budget": budget,
            "seeds": len(members),
            "user_share": mean_of(metrics, "support/user_share"),
            "interaction_share": mean_of(metrics, "support/interaction_share"),
            "users": mean_of(metrics, "support/users"),
            "fit_s": mean_of(metrics, "time/fit_best_s"),
            "sample_s": mean_of(metrics, "support/seconds"),
        }
        for q in QUALITY:
            out[q] = mean_of(metrics, q)
        ref = reference.get((dataset, model))
        out["speedup"] = ref["time/fit_best_s"] / out["fit_s"] if ref else float("nan")
        for q in QUALITY:
            out[f"rel_{q.split('/')[1]}"] = out[q] / ref[q] if ref and ref.get(q) else float("nan")
        table.append(out)
    return table


def series(table: list[dict[str, Any]]) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """Rows grouped by (model, sampler), sorted by the share of users kept."""
    out: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for row in table:
        out[(row["model"], row["sampler"])].append(row)
    return {k: sorted(v, key=lambda r: r["user_share"]) for k, v in sorted(out.items())}


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


def format_summary(table: list[dict[str, Any]]) -> str:
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


def render(runs: list[dict[str, Any]], out: Path, tracker: Tracker) -> None:
    """The study's table, per-series CSVs, figure and summary from ``runs`` into ``out``."""
    table = summarise(runs)
    write_csv(out / "fraction_curve.csv", table, COLUMNS)
    for (model, sampler), rows in series(table).items():
        write_csv(
            out / "curves" / f"{model}-{sampler}.csv",
            rows,
            ("user_share", "interaction_share", "speedup", *QUALITY),
        )
    png = out / "fraction_curve.png"
    plot_png(png, table)
    write_json(
        out / "summary.json",
        {
            f"{r['model']}/{r['sampler']}/{r['budget']:g}/{key}": r[key]
            for r in table
            for key in ("test/hr@10", "test/ndcg@10", "speedup")
        },
    )
    tracker.table("fraction_curve", table, COLUMNS)
    for model in sorted({r["model"] for r in table}):
        lines = {s: rows for (m, s), rows in series(table).items() if m == model}
        tracker.lines(
            f"curve/{model}",
            xs=[[r["user_share"] for r in rows] for rows in lines.values()],
            ys=[[r["test/hr@10"] for r in rows] for rows in lines.values()],
            names=list(lines),
            title=f"{model}: test HR@10 vs share of users",
            xname="user_share",
        )
    tracker.image("fraction_curve_png", png)
    print(format_summary(table))
    print(f"report: {out / 'fraction_curve.csv'}, {png}")
