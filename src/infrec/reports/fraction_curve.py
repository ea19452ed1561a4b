"""The fraction-of-data study: quality and speed-up against the share of data each sampler kept.

Runs are averaged over seeds within one setting (:func:`~infrec.reports.common.label_settings`:
runs that differ in anything but the seed, the budget and file locations are never pooled) per
(dataset, model, setting, sampler, budget), and each row gets

- ``data_share``: the share of the data the support kept — of users, or of interactions for
  Interaction-RNS, whose budget is a share of interactions (the x of every curve);
- ``speedup = full-data fit seconds / this fit seconds`` (``time/fit_best_s``: kernel or Gram
  product plus one solve at the chosen hyper-parameter);
- ``rel_<metric> = metric / full-data metric`` (quality relative to full data),
- ``test/ndcg@10_sd``, ``test/hr@10_sd``: the sample standard deviation over the seeds,

where the full-data reference of a (dataset, model, setting) is its ``full`` run, else any run
whose support kept every user and interaction. Writes into the report folder:

- ``fraction_curve.csv``: every row and column;
- ``curves/<dataset>-<model>.csv``: one file per model, every sampler (a ``sampler`` column, full
  data included), metrics ×100 and the speed-up — the data of the DVC plots;
- ``metrics/<model>-<sampler>.json``: test HR@10 ×100 per budget (DVC metrics: a compact table,
  one row per model and sampler; no timings, so a rerun that reproduces the numbers shows no
  change);
- ``fraction_curve.png``: quality (top) and speed-up (bottom) against % of data kept, log x, one
  colour per sampler, full data as a dashed reference line;
- to the tracker: the table, the same curves (x = log10 % of data) and the PNG.
"""

from __future__ import annotations

import csv
import math
from collections import defaultdict
from pathlib import Path
from typing import Any

from infrec.errors import InfrecError
from infrec.paths import safe_name, write_json
from infrec.reports.common import label_settings, mean_of, pyplot, save_png, sd_of, write_csv
from infrec.track import Tracker

QUALITY = ("test/hr@10", "test/ndcg@10", "test/hr@100", "test/ndcg@100", "test/psp@10", "test/auc")
COLUMNS = (
    "dataset",
    "model",
    "setting",
    "sampler",
    "budget",
    "seeds",
    "data_share",
    "user_share",
    "interaction_share",
    "users",
    "fit_s",
    "sample_s",
    "speedup",
    *QUALITY,
    "test/ndcg@10_sd",
    "test/hr@10_sd",
    *(f"rel_{q.split('/')[1]}" for q in QUALITY),
)
CURVE_COLUMNS = ("sampler", "data_pct", "hr@10", "ndcg@10", "hr@100", "speedup")

SAMPLER_LABELS = {
    "full": "full data",
    "random_user": "User-RNS",
    "head_user": "head users",
    "random_interaction": "Interaction-RNS",
    "svp_cf": "SVP-CF",
    "distill_cf": "Distill-CF",
    "from_file": "saved support",
}
SAMPLER_COLOURS = {
    "distill_cf": "#d62728",
    "random_user": "#1f77b4",
    "svp_cf": "#2ca02c",
    "head_user": "#9467bd",
    "random_interaction": "#ff7f0e",
    "from_file": "#8c564b",
    "full": "#000000",
}
MODEL_LABELS = {
    "infinite_ae": "∞-AE",
    "ease": "EASE",
    "mf": "MF",
    "neumf": "NeuMF",
    "mvae": "Mult-VAE",
    "lightgcn": "LightGCN",
    "poprec": "PopRec",
}
X_LABEL = "% of data kept (users; interactions for Interaction-RNS), log scale"


def sampler_label(sampler: str) -> str:
    return SAMPLER_LABELS.get(sampler, sampler)


def model_label(model: str, setting: str = "") -> str:
    name = MODEL_LABELS.get(model, model)
    return f"{name} [{setting}]" if setting else name


def _is_full(row: dict[str, Any]) -> bool:
    m = row["metrics"]
    return row["sampler"] == "full" or (
        m.get("support/user_share") == 1.0 and m.get("support/interaction_share") == 1.0
    )


def summarise(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Seed-averaged rows (within one setting) with the data share, speed-up and quality
    relative to full data."""
    if any("setting" not in row for row in rows):
        label_settings(rows)
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for row in rows:
        groups[_cell_key(row)].append(row)
    reference: dict[tuple, dict[str, float]] = {}
    for row in sorted(rows, key=lambda r: r["sampler"] != "full"):
        if _is_full(row):
            reference.setdefault(_panel_key(row), row["metrics"])
    table = []
    for (dataset, model, setting, sampler, budget), members in sorted(groups.items()):
        metrics = [m["metrics"] for m in members]
        out: dict[str, Any] = {
            "dataset": dataset,
            "model": model,
            "setting": setting,
            "sampler": sampler,
            "budget": budget,
            "seeds": len(members),
            "user_share": mean_of(metrics, "support/user_share"),
            "interaction_share": mean_of(metrics, "support/interaction_share"),
            "users": mean_of(metrics, "support/users"),
            "fit_s": mean_of(metrics, "time/fit_best_s"),
            "sample_s": mean_of(metrics, "support/seconds"),
        }
        share = "interaction_share" if sampler == "random_interaction" else "user_share"
        out["data_share"] = out[share]
        for q in QUALITY:
            out[q] = mean_of(metrics, q)
        for q in ("test/ndcg@10", "test/hr@10"):  # the spread over seeds
            out[f"{q}_sd"] = sd_of(metrics, q)
        ref = reference.get((dataset, model, setting))
        relate(out, ref["time/fit_best_s"] if ref else None, ref or {})
        table.append(out)
    return table


def relate(row: dict[str, Any], full_fit_s: float | None, full: dict[str, Any]) -> None:
    """Set ``row``'s speed-up and quality relative to full data from the full-data run's fit
    seconds and test metrics (``QUALITY`` keys); NaN where there is none."""
    row["speedup"] = full_fit_s / row["fit_s"] if full_fit_s else math.nan
    for q in QUALITY:
        row[f"rel_{q.split('/')[1]}"] = row[q] / full[q] if full.get(q) else math.nan


TEXT_COLUMNS = ("dataset", "model", "setting", "sampler")


def read_table(path: Path) -> list[dict[str, Any]]:
    """The rows of a report's table CSV (``fraction_curve.csv`` / ``every_model.csv``), typed and
    checked: text columns present, numbers parsed (NaN allowed: a metric not computed), seeds a
    positive count, budgets positive. Anything else is one error naming the file and line."""
    if not path.is_file():
        raise InfrecError(f"{path}: no such report table to extend (run the study once first)")
    try:
        with path.open(newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            missing = sorted(set(COLUMNS) - set(reader.fieldnames or ()))
            if missing:
                raise InfrecError(f"{path}: not a study table, columns {missing} missing")
            rows = list(reader)
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise InfrecError(f"{path}: not a readable study table ({e})") from None
    table = []
    for line, row in enumerate(rows, start=2):
        if any(row.get(k) is None for k in COLUMNS):
            raise InfrecError(f"{path}, line {line}: fewer fields than the header")
        try:
            typed = {k: row[k] if k in TEXT_COLUMNS else float(row[k]) for k in COLUMNS}
        except ValueError as e:
            raise InfrecError(f"{path}, line {line}: {e}") from None
        seeds, budget = typed["seeds"], typed["budget"]
        if not (math.isfinite(seeds) and seeds >= 1 and seeds == int(seeds)):
            raise InfrecError(f"{path}, line {line}: seeds={row['seeds']!r} is not a count ≥ 1")
        if not (math.isfinite(budget) and budget > 0):
            raise InfrecError(f"{path}, line {line}: budget={row['budget']!r} is not positive")
        typed["seeds"] = int(seeds)
        table.append(typed)
    return table


def _panel_key(row: dict[str, Any]) -> tuple[str, str, str]:
    """(dataset, model, setting): one panel of curves, one model's block of the table."""
    return row["dataset"], row["model"], row["setting"]


def _series_key(row: dict[str, Any]) -> tuple[str, ...]:
    """(dataset, model, setting, sampler): one line of one panel."""
    return tuple(row[k] for k in TEXT_COLUMNS)


def _cell_key(row: dict[str, Any]) -> tuple[Any, ...]:
    """(dataset, model, setting, sampler, budget): one point of one line, one row of the table."""
    return (*_series_key(row), float(row["budget"]))


def budgets_text(budgets: list[float]) -> str:
    """Budgets as users read them, counts of users first: ``50, 100, 100%`` (a share as a
    percentage; full data, 1.0, last in a study of counts)."""
    ordered = sorted(budgets, key=lambda b: (b <= 1, b))
    return ", ".join(f"{100 * b:g}%" if b <= 1 else f"{int(b):,}" for b in ordered)


def extend(table: list[dict[str, Any]], kept: list[dict[str, Any]]) -> list[str]:
    """Add to ``table`` (in place) the rows of ``kept`` whose (dataset, model, setting, sampler,
    budget) has no row in it: a sweep of further models, of one model's other sampler or of
    more budgets keeps what an earlier report already holds, and a cell swept again replaces
    its own row; a row whose sweep ran no full data gets its speed-up and relative quality
    against the carried full-data run. Returns labels of what was carried over per model, e.g.
    ``EASE (Distill-CF, User-RNS)``, or ``NeuMF (User-RNS; Distill-CF at 50, 100)`` where a
    sampler's line has points of both."""
    swept = {_cell_key(r) for r in table}
    swept_lines = {_series_key(r) for r in table}
    carried: dict[tuple[str, str, str], dict[str, list[float]]] = defaultdict(dict)
    for row in kept:
        if _cell_key(row) not in swept:
            table.append(row)
            panel = carried[_panel_key(row)]
            panel.setdefault(row["sampler"], []).append(float(row["budget"]))
    table.sort(key=_cell_key)  # the order summarise gives
    for rows in panels(table).values():
        full = full_data_run(rows)
        if full is None:
            continue
        for row in rows:
            if not math.isfinite(row["speedup"]):
                relate(row, full["fit_s"], full)  # this sweep ran no full data: the carried run
    labels = []
    for (dataset, model, setting), samplers in sorted(carried.items()):
        whole = [
            sampler_label(s) for s in samplers if (dataset, model, setting, s) not in swept_lines
        ]
        some = [
            f"{sampler_label(s)} at {budgets_text(budgets)}"
            for s, budgets in samplers.items()
            if (dataset, model, setting, s) in swept_lines
        ]
        parts = [", ".join(whole)] if whole else []
        labels.append(f"{model_label(model, setting)} ({'; '.join(parts + some)})")
    return labels


def panels(table: list[dict[str, Any]]) -> dict[tuple[str, str, str], list[dict[str, Any]]]:
    """Rows grouped by (dataset, model, setting): one panel of curves each."""
    out: dict[tuple[str, str, str], list[dict]] = defaultdict(list)
    for row in table:
        out[_panel_key(row)].append(row)
    return dict(sorted(out.items()))


def series(rows: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """A panel's rows by sampler (full data last), each sorted by the share of data kept."""
    out: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        out[row["sampler"]].append(row)
    order = sorted(
        out,
        key=lambda s: (
            s == "full",
            list(SAMPLER_LABELS).index(s) if s in SAMPLER_LABELS else 99,
            s,
        ),
    )
    return {s: sorted(out[s], key=lambda r: r["data_share"]) for s in order}


def is_full_data(row: dict[str, Any]) -> bool:
    """A table row of full data: the ``full`` sampler, or every user and interaction kept."""
    return row["sampler"] == "full" or row["user_share"] == row["interaction_share"] == 1.0


def full_data_run(rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    """A panel's full-data row: the one its speed-ups are measured against (speed-up 1×) when
    there is one, else the first."""
    full = [r for r in rows if is_full_data(r)]
    return next((r for r in reversed(full) if r["speedup"] == 1.0), full[0] if full else None)


def plot_png(
    path: Path, table: list[dict[str, Any]], metric: str = "test/hr@10", xlabel: str = X_LABEL
) -> None:
    """Quality (×100, top) and speed-up (bottom) against % of data kept, log x, per model."""
    plt = pyplot()
    from matplotlib.ticker import LogLocator

    groups = panels(table)
    width = 6.2 if len(groups) <= 3 else 4.6  # six models stay readable on one screen
    fig, axes = plt.subplots(
        2, len(groups), figsize=(width * len(groups), 8.0), squeeze=False, sharex="col"
    )
    for col, ((dataset, model, setting), rows) in enumerate(groups.items()):
        top, bottom = axes[0][col], axes[1][col]
        for sampler, points in series(rows).items():
            if sampler == "full":
                continue
            style = {
                "marker": "o",
                "color": SAMPLER_COLOURS.get(sampler),
                "label": sampler_label(sampler),
            }
            xs = [100 * r["data_share"] for r in points]
            top.plot(xs, [100 * r[metric] for r in points], **style)
            bottom.plot(xs, [r["speedup"] for r in points], **style)
        reference = full_data_run(rows)
        if reference is not None:
            top.axhline(100 * reference[metric], color="black", ls="--", lw=1, label="full data")
        bottom.axhline(1.0, color="black", ls="--", lw=1, label="full data (1×)")
        top.set_title(f"{model_label(model, setting)} on {dataset}")
        top.set_ylabel(f"test {metric.split('/')[-1].upper().replace('NDCG', 'nDCG')} (×100)")
        bottom.set_ylabel("fit speed-up over full data (×, log scale)")
        bottom.set_yscale("log")
        bottom.set_xlabel(xlabel)
        for ax in (top, bottom):
            ax.set_xscale("log")
            ax.grid(alpha=0.3, which="both")
            ax.xaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:g}"))
        bottom.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
        bottom.yaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:g}×"))
        bottom.yaxis.set_minor_formatter(plt.NullFormatter())
        top.legend(fontsize=8, loc="lower right", framealpha=0.9)
    save_png(fig, path)


def curve_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One panel's points for its DVC plot file: every sampler, metrics ×100, speed-up."""
    out = []
    for sampler, points in series(rows).items():
        for r in points:
            out.append(
                {
                    "sampler": sampler_label(sampler),
                    "data_pct": 100 * r["data_share"],
                    "hr@10": 100 * r["test/hr@10"],
                    "ndcg@10": 100 * r["test/ndcg@10"],
                    "hr@100": 100 * r["test/hr@100"],
                    "speedup": r["speedup"],
                }
            )
    return out


def compact_metrics(rows: list[dict[str, Any]]) -> dict[str, float]:
    """``{"hr@10 000.1%": 14.48, …, "hr@10 100.0%": 34.28}`` (test HR@10 ×100) for one (model,
    sampler) series: one compact row of ``dvc metrics show`` per series."""
    out = {}
    for r in sorted(rows, key=lambda r: r["budget"]):
        # zero-padded so that DVC's alphabetical columns run in budget order
        budget = f"{100 * r['budget']:05.1f}%" if r["budget"] <= 1 else f"{int(r['budget']):05d}"
        out[f"hr@10 {budget}"] = round(100 * r["test/hr@10"], 2)
    return out


def render(
    runs: list[dict[str, Any]], out: Path, tracker: Tracker, kept: list[dict[str, Any]]
) -> None:
    """The study's table, per-model curve files, compact metrics and figure into ``out``; rows
    of ``kept`` (an earlier report's table) for each (model, sampler, budget) this sweep did not
    run are carried over."""
    table = summarise(runs)
    carried = extend(table, kept)
    write_csv(out / "fraction_curve.csv", table, COLUMNS)
    png = out / "fraction_curve.png"
    plot_png(png, table)
    tracker.table("fraction_curve", table, COLUMNS)
    write_series(table, out, tracker)
    tracker.image("fraction_curve_png", png)
    print(format_summary(table))
    if carried:
        print(f"kept from the earlier report: {', '.join(carried)}")
    print(f"report: {out / 'fraction_curve.csv'}, {png}")


def write_series(table: list[dict[str, Any]], out: Path, tracker: Tracker) -> None:
    """Per panel: the DVC plot file, one compact DVC metrics file per sampler, and the quality
    and speed-up curves to the tracker."""
    for (dataset, model, setting), rows in panels(table).items():
        tag = setting.replace(" ", "_").replace("=", "")  # depth=2 → depth2, safe in file names
        stem = "-".join(p for p in (dataset, model, tag) if p)
        curve = out / "curves" / safe_name(f"{stem}.csv", "a curve's file name (from the runs)")
        write_csv(curve, curve_rows(rows), CURVE_COLUMNS)
        lines = series(rows)
        for sampler, points in lines.items():
            name = "-".join(p for p in (model, tag, sampler) if p)
            file = safe_name(f"{name}.json", "a metrics file name (from the runs)")
            write_json(out / "metrics" / file, compact_metrics(points))
        label = model_label(model, setting)
        for key, y, title in (
            ("quality", lambda r: 100 * r["test/hr@10"], f"{label}: test HR@10 ×100"),
            ("speedup", lambda r: r["speedup"], f"{label}: fit speed-up over full data (×)"),
        ):
            tracker.lines(
                f"{key}/{stem}",
                xs=[[math.log10(100 * r["data_share"]) for r in p] for p in lines.values()],
                ys=[[y(r) for r in p] for p in lines.values()],
                names=[sampler_label(s) for s in lines],
                title=f"{title} vs log10(% of data kept)",
                xname="log10(% of data kept)",
            )


def format_summary(table: list[dict[str, Any]]) -> str:
    lines = [
        f"{'model':<14}{'sampler':<18}{'budget':>8}{'data%':>8}{'hr@10':>8}{'rel':>7}{'speedup':>9}"
    ]
    for r in table:
        lines.append(
            f"{model_label(r['model'], r['setting']):<14}{sampler_label(r['sampler']):<18}"
            f"{r['budget']:>8.4g}{100 * r['data_share']:>8.2f}"
            f"{100 * r['test/hr@10']:>8.2f}{r['rel_hr@10']:>7.3f}{r['speedup']:>9.1f}"
        )
    return "\n".join(lines)
