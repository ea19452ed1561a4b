"""The fraction-of-data study: quality and speed-up against the share of data each sampler kept.

Runs are averaged over seeds within one setting (:func:`~infrec.reports.common.label_settings`:
runs that differ in anything but the seed, the budget and file locations are never pooled) per
(dataset, model, setting, sampler, budget), and each row gets

- the share of data the support kept — of users, or of interactions for Interaction-RNS, whose
  budget is a share of interactions (the x of every curve);
- test metrics ×100 (as in every figure, curve file and W&B chart) and, over two seeds or more,
  their sample standard deviation (blank for one seed);
- three costs and their speed-ups over the full-data fit:

  - *fit only*: ``time/fit_best_s``, the fit at the chosen hyper-parameter (kernel or Gram
    product plus one solve; training for the trained models), JAX's compilation set apart
    (:mod:`infrec.selection`);
  - *end to end*: making the support (``support/seconds``: Distill-CF's distillation, SVP-CF's
    proxy training, a random draw; for a saved support the seconds its metadata records making
    it) plus the fit;
  - *amortised*: the support's cost shared by the ``models_sharing`` models of the study that
    are fitted on that same support (same dataset, sampler, budget and ``summary``: a Distill-CF
    summary is distilled once and reused by every model) plus the fit;
- for Distill-CF, ``summary`` (how it was distilled: its temperature, ``τ = 10`` as published,
  and the inner model when it is not ∞-AE, ``τ = 10, inner EASE``) and ``fed_as`` (how the model
  took it: ``values``, an export, ``weighted``): :func:`summary_labels`; blank for other samplers;

  the full-data fit is the median over the panel's full-data rows (the ``full`` sampler and
  every sampler at 100%: the same fit, timed several times), and a full-data row's speed-ups
  are 1× by definition (its own seconds stay in the table);
- ``rel_<metric> = metric / full-data metric`` (quality relative to full data).

Writes into the report folder:

- ``fraction_curve.csv``: every row and column (:data:`COLUMNS`; units in the names);
- ``curves/<dataset>-<model>-quality.csv`` and ``…-speedup.csv`` per model: the data of the DVC
  plots (every sampler, full data included; the speed-up file has one line per sampler and cost);
- ``metrics/<metric>_at_<budget>.json``: the headline numbers (:func:`headline`), the study's DVC
  metrics — few and short-named, so that ``dvc metrics show`` and ``dvc exp show`` fit a
  120-column terminal; no timings, so a rerun that reproduces the numbers shows no change;
- ``fraction_curve.png``: a row per model — test HR@10, test nDCG@10 and the fit speed-up against
  % of data kept, log x, one colour per sampler, full data as a black star and dashed line,
  Distill-CF's end-to-end and amortised speed-ups as dashed and dotted lines;
- to the tracker: the table and the PNG, and the same curves as line charts (x: % of data kept;
  W&B's line charts have no log axis, the PNG has).
"""

from __future__ import annotations

import csv
import json
import math
import statistics
from collections import defaultdict
from pathlib import Path
from typing import Any

from infrec.errors import InfrecError
from infrec.paths import safe_name
from infrec.reports.common import (
    label_settings,
    mean_of,
    pyplot,
    save_png,
    sd_of,
    write_csv,
    write_text,
)
from infrec.track import Tracker

QUALITY = ("test/hr@10", "test/ndcg@10", "test/hr@100", "test/ndcg@100", "test/psp@10", "test/auc")
SPREAD = ("test/hr@10", "test/ndcg@10")
"""Metrics whose spread over seeds is reported."""
X100 = " (×100)"
TABLE: tuple[tuple[str, str, float | None], ...] = (
    # (column, the row's key, scale: the column is the key's value × scale; None: text)
    ("dataset", "dataset", None),
    ("model", "model", None),
    ("setting", "setting", None),
    ("sampler", "sampler", None),
    ("summary", "summary", None),
    ("fed_as", "fed_as", None),
    ("budget", "budget", 1.0),
    ("seeds", "seeds", 1.0),
    ("data_pct", "data_share", 100.0),
    ("user_pct", "user_share", 100.0),
    ("interaction_pct", "interaction_share", 100.0),
    ("users", "users", 1.0),
    ("fit_s", "fit_s", 1.0),
    ("support_s", "support_s", 1.0),
    ("models_sharing", "sharing", 1.0),
    ("end_to_end_s", "end_to_end_s", 1.0),
    ("amortised_s", "amortised_s", 1.0),
    ("fit_speedup", "speedup", 1.0),
    ("end_to_end_speedup", "end_to_end_speedup", 1.0),
    ("amortised_speedup", "amortised_speedup", 1.0),
    *((f"{q}{X100}", q, 100.0) for q in QUALITY),
    *((f"{q} sd{X100}", f"{q}_sd", 100.0) for q in SPREAD),
    *((f"rel_{q.split('/')[1]}", f"rel_{q.split('/')[1]}", 1.0) for q in QUALITY),
)
"""The study table's columns: shares as %, metrics ×100 (said in the name), seconds, ratios."""
COLUMNS = (*(column for column, _, _ in TABLE),)
TEXT_COLUMNS = ("dataset", "model", "setting", "sampler")
EXPORTS = ("values", "degree", "sample")
"""``sampler.export`` values a report names (:data:`infrec.samplers.distill_cf.EXPORTS`, not
imported: that module brings JAX into the report's start-up; a test keeps the two equal)."""
OPTIONAL_TEXT = ("summary", "fed_as")
"""Text columns a table written before they existed lacks (read as blank)."""
DERIVED = ("sharing", "end_to_end_s", "amortised_s", "end_to_end_speedup", "amortised_speedup")
"""Keys :func:`add_costs` computes from the others (over the whole table)."""
LEGACY_COLUMNS = (
    *TEXT_COLUMNS,
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
"""The columns of tables written before units were put in the names (fractions, not ×100)."""
LEGACY_KEYS = {"sample_s": "support_s"}

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
OTHER_COLOUR = "#7f7f7f"
MODEL_LABELS = {
    "infinite_ae": "∞-AE",
    "ease": "EASE",
    "mf": "MF",
    "neumf": "NeuMF",
    "mvae": "Mult-VAE",
    "lightgcn": "LightGCN",
    "poprec": "PopRec",
}
METRIC_LABELS = {"test/hr@10": "HR@10", "test/ndcg@10": "nDCG@10"}
PLOTTED = ("test/hr@10", "test/ndcg@10")
"""The quality metrics every figure and curve file shows."""
SUMMARY = "distill_cf"
"""The sampler whose support is worth its making only when reused: its costs are plotted."""
HEADLINE = ("distill_cf", "random_user")
"""The samplers of the headline metrics: the summary against random users of its size."""
X_LABEL = "% of data kept (users; interactions for Interaction-RNS), log scale"
COST_FIT, COST_END_TO_END = "fit only", "distil + fit"


def sampler_label(sampler: str) -> str:
    return SAMPLER_LABELS.get(sampler, sampler)


def sampler_colour(sampler: str) -> str:
    return SAMPLER_COLOURS.get(sampler, OTHER_COLOUR)


def model_label(model: str, setting: str = "") -> str:
    name = MODEL_LABELS.get(model, model)
    return f"{name} [{setting}]" if setting else name


def pct(share: float) -> float:
    """A share as the % a curve file and the tracker's charts give (6 significant digits)."""
    return float(f"{100 * share:.6g}")


def amortised_label(sharing: float) -> str:
    n = int(sharing)
    return f"amortised over {n} model{'s' if n != 1 else ''}"


def summary_labels(row: dict[str, Any]) -> tuple[str, str]:
    """(how a Distill-CF run's summary was distilled, how its model took it) from the run's
    config: ``("τ = 1", "values, weighted")``; the published distillation (τ = 10, ∞-AE inside)
    is ``"τ = 10"``. ``("", "")`` for other samplers. Only known values are named (the config is
    a file the report is handed): anything else reads ``?``."""
    if row.get("sampler") != SUMMARY:
        return "", ""
    config = row.get("config") or {}
    sampler = row.get("sampler_config") or config.get("sampler") or {}
    model = config.get("model") or {}
    tau = sampler.get("tau")
    summary = f"τ = {tau:g}" if isinstance(tau, int | float) and math.isfinite(tau) else "τ = ?"
    inner = sampler.get("inner", "infinite_ae")
    if inner != "infinite_ae":
        summary += f", inner {MODEL_LABELS.get(inner, '?') if isinstance(inner, str) else '?'}"
    export = sampler.get("export", "values")
    fed = export if export in EXPORTS else "?"
    if model.get("support_weights") is True:
        fed += ", weighted"
    return summary, fed


def summary_text(row: dict[str, Any] | None) -> str:
    """A table row's summary as users read it, how it was distilled and fed to the model:
    ``τ = 1: values, weighted``; ``—`` for no row or a sampler without one."""
    if row is None or not row.get("summary"):
        return "—"
    return f"{row['summary']}: {row['fed_as']}" if row.get("fed_as") else row["summary"]


def panel_summary(rows: list[dict[str, Any]]) -> str:
    """The Distill-CF summaries one panel's points were fitted on, each once in size order
    (``τ = 1: values, weighted``); empty when the panel has no Distill-CF point."""
    made = [r for r in sorted(rows, key=lambda r: r["budget"]) if r["sampler"] == SUMMARY]
    texts = [summary_text(r) for r in made if not is_full_data(r)]
    return "; ".join(dict.fromkeys(t for t in texts if t != "—"))


def summarise(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Seed-averaged rows (within one setting) with the data share, the costs, speed-ups and
    quality relative to full data."""
    if any("setting" not in row for row in rows):
        label_settings(rows)
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for row in rows:
        groups[_cell_key(row)].append(row)
    table = []
    for (dataset, model, setting, sampler, budget), members in sorted(groups.items()):
        metrics = [m["metrics"] for m in members]
        labels = [summary_labels(m) for m in members]
        out: dict[str, Any] = {
            "dataset": dataset,
            "model": model,
            "setting": setting,
            "sampler": sampler,
            "summary": "; ".join(sorted({made for made, _ in labels})),
            "fed_as": "; ".join(sorted({fed for _, fed in labels})),
            "budget": budget,
            "seeds": len(members),
            "user_share": mean_of(metrics, "support/user_share"),
            "interaction_share": mean_of(metrics, "support/interaction_share"),
            "users": mean_of(metrics, "support/users"),
            "fit_s": mean_of(metrics, "time/fit_best_s"),
            "support_s": mean_of(metrics, "support/seconds"),
        }
        share = "interaction_share" if sampler == "random_interaction" else "user_share"
        out["data_share"] = out[share]
        for q in QUALITY:
            out[q] = mean_of(metrics, q)
        for q in SPREAD:  # the spread over seeds (NaN for one seed: a blank cell)
            out[f"{q}_sd"] = sd_of(metrics, q)
        table.append(out)
    for rows_of_panel in panels(table).values():
        full_fit_s, full = reference(rows_of_panel)
        for row in rows_of_panel:
            relate(row, full_fit_s, full or {})
    add_costs(table)
    return table


def reference(rows: list[dict[str, Any]]) -> tuple[float | None, dict[str, Any] | None]:
    """A panel's full-data fit seconds — the median over its full-data rows, every one the
    same fit — and the full-data row its quality is relative to (the ``full`` sampler's, else
    the last); ``(None, None)`` without full data."""
    full = [r for r in rows if is_full_data(r)]
    if not full:
        return None, None
    fits = [r["fit_s"] for r in full if math.isfinite(r["fit_s"])]
    quality = next(
        (r for r in full if r["sampler"] == "full"),
        # the last at 1× (in a table written before every full-data row was 1×, the run the
        # speed-ups were measured against)
        next((r for r in reversed(full) if r.get("speedup", 1.0) == 1.0), full[0]),
    )
    return (statistics.median(fits) if fits else None), quality


def relate(row: dict[str, Any], full_fit_s: float | None, full: dict[str, Any]) -> None:
    """Set ``row``'s fit speed-up and quality relative to full data from the full-data fit
    seconds and test metrics (``QUALITY`` keys); NaN where there is none. A full-data row's
    speed-up is 1×: it is the full-data fit."""
    if is_full_data(row) and full_fit_s:
        row["speedup"] = 1.0
    else:
        row["speedup"] = full_fit_s / row["fit_s"] if full_fit_s and row["fit_s"] else math.nan
    for q in QUALITY:
        row[f"rel_{q.split('/')[1]}"] = row[q] / full[q] if full.get(q) else math.nan


def add_costs(table: list[dict[str, Any]]) -> None:
    """Set every row's end-to-end and amortised seconds and speed-ups (module docstring) from
    its fit and support seconds, its fit speed-up and the models the table fits on the same
    support."""
    models: dict[tuple, set[tuple[str, str]]] = defaultdict(set)
    for row in table:
        models[_support_key(row)].add((row["model"], row["setting"]))
    for row in table:
        sharing = len(models[_support_key(row)])
        fit, support = row["fit_s"], row["support_s"]
        full_fit = row["speedup"] * fit  # the full-data fit this row's speed-up is against
        row["sharing"] = float(sharing)
        row["end_to_end_s"] = support + fit
        row["amortised_s"] = support / sharing + fit
        for kind in ("end_to_end", "amortised"):
            seconds = row[f"{kind}_s"]
            if is_full_data(row):  # the real data, whatever a sampler did to hand it over
                row[f"{kind}_speedup"] = row["speedup"]
            else:
                row[f"{kind}_speedup"] = full_fit / seconds if seconds > 0 else math.nan


def _support_key(row: dict[str, Any]) -> tuple[Any, ...]:
    """(dataset, sampler, budget, how it was distilled): the support the study's models share."""
    return row["dataset"], row["sampler"], float(row["budget"]), row.get("summary", "")


def export(table: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The table as written (CSV, W&B): :data:`COLUMNS`, units applied, no number blank."""
    out = []
    for row in table:
        cells: dict[str, Any] = {}
        for column, key, scale in TABLE:
            value = row.get(key, math.nan)
            if scale is None:
                cells[column] = value
            elif column == "seeds":
                cells[column] = int(value)
            else:
                number = float(value) * scale
                cells[column] = number if math.isfinite(number) else None
        out.append(cells)
    return out


def read_table(path: Path) -> list[dict[str, Any]]:
    """The rows of a report's table CSV (``fraction_curve.csv`` / ``every_model.csv``), typed and
    checked: text columns present, numbers parsed (blank or NaN: no number), seeds a positive
    count, budgets positive. A table written before units were put in the column names
    (fractions, ``sample_s``, ``speedup``) reads as well. Anything else is one error naming the
    file and line."""
    if not path.is_file():
        raise InfrecError(f"{path}: no such report table to extend (run the study once first)")
    try:
        with path.open(newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            header = set(reader.fieldnames or ())
            if set(COLUMNS) - set(OPTIONAL_TEXT) <= header:
                spec = [(c, k, s) for c, k, s in TABLE if k not in DERIVED and c in header]
            elif set(LEGACY_COLUMNS) <= header:
                spec = [
                    (c, LEGACY_KEYS.get(c, c), None if c in TEXT_COLUMNS else 1.0)
                    for c in LEGACY_COLUMNS
                ]
            else:
                missing = sorted(set(COLUMNS) - header)
                shown = ", ".join(repr(c) for c in missing[:3])
                more = f" and {len(missing) - 3} more" if len(missing) > 3 else ""
                raise InfrecError(f"{path}: not a study table: no column {shown}{more}")
            rows = list(reader)
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise InfrecError(f"{path}: not a readable study table ({e})") from None
    table = []
    for line, row in enumerate(rows, start=2):
        if any(row.get(c) is None for c, _, _ in spec):
            raise InfrecError(f"{path}, line {line}: fewer fields than the header")
        typed: dict[str, Any] = {}
        for column, key, scale in spec:
            text = row[column]
            if scale is None:
                typed[key] = text
                continue
            try:
                typed[key] = float(text) / scale if text.strip() else math.nan
            except ValueError as e:
                raise InfrecError(f"{path}, line {line}: {column}: {e}") from None
        seeds, budget = typed["seeds"], typed["budget"]
        if not (math.isfinite(seeds) and seeds >= 1 and seeds == int(seeds)):
            raise InfrecError(f"{path}, line {line}: seeds={row['seeds']!r} is not a count ≥ 1")
        if not (math.isfinite(budget) and budget > 0):
            raise InfrecError(f"{path}, line {line}: budget={row['budget']!r} is not positive")
        typed["seeds"] = int(seeds)
        table.append({**dict.fromkeys(OPTIONAL_TEXT, ""), **typed})
    add_costs(table)
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


def budget_text(budget: float) -> str:
    """A budget as users read it: a share as a percentage (``3%``), a count of users as a
    count (``1,000``)."""
    return f"{100 * budget:g}%" if budget <= 1 else f"{int(budget):,}"


def budgets_text(budgets: list[float]) -> str:
    """Budgets as users read them, counts of users first: ``50, 100, 100%`` (a share as a
    percentage; full data, 1.0, last in a study of counts)."""
    return ", ".join(budget_text(b) for b in sorted(budgets, key=lambda b: (b <= 1, b)))


def extend(table: list[dict[str, Any]], kept: list[dict[str, Any]]) -> list[str]:
    """Add to ``table`` (in place) the rows of ``kept`` whose (dataset, model, setting, sampler,
    budget) has no row in it: a sweep of further models, of one model's other sampler or of
    more budgets keeps what an earlier report already holds, and a cell swept again replaces
    its own row; a row whose sweep ran no full data gets its speed-up and relative quality
    against the carried full-data runs. The costs are then worked out again over the whole
    table (the models sharing a support may now be more). Returns labels of what was carried
    over per model, e.g. ``EASE (Distill-CF, User-RNS)``, or ``NeuMF (User-RNS; Distill-CF at
    50, 100)`` where a sampler's line has points of both."""
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
        full_fit_s, full = reference(rows)
        if full is None:
            continue
        for row in rows:
            if not math.isfinite(row["speedup"]):
                relate(row, full_fit_s, full)  # this sweep ran no full data: the carried runs
    add_costs(table)
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


def drawn(rows: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """A panel's :func:`series` with full data among them (the ``full`` run, else the panel's
    full-data reference under that name): what every chart and curve file draws."""
    lines = series(rows)
    full = full_data_run(rows)
    if "full" not in lines and full is not None:
        lines["full"] = [{**full, "sampler": "full"}]
    return lines


def is_full_data(row: dict[str, Any]) -> bool:
    """A table row of full data: the ``full`` sampler, or every user and interaction kept."""
    return row["sampler"] == "full" or row["user_share"] == row["interaction_share"] == 1.0


def full_data_run(rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    """A panel's full-data row: the ``full`` sampler's when there is one, else the last."""
    return reference(rows)[1]


def speed_lines(
    points: list[dict[str, Any]], sampler: str
) -> list[tuple[str, str, list[dict[str, Any]]]]:
    """A sampler's speed-up lines: ``(cost, key, points)`` — fit only for every sampler, and for
    Distill-CF end to end and amortised too (its support's cost is the one worth showing: it
    is the only support not made in a moment)."""
    lines = [(COST_FIT, "speedup", points)]
    if sampler == SUMMARY:
        for cost, key in ((COST_END_TO_END, "end_to_end_speedup"), (None, "amortised_speedup")):
            made = [p for p in points if not is_full_data(p)]
            if not made:
                continue
            if cost is None:  # one line per count of models sharing (one, in a whole study)
                for sharing in sorted({p["sharing"] for p in made}):
                    lines.append(
                        (
                            amortised_label(sharing),
                            key,
                            [p for p in made if p["sharing"] == sharing],
                        )
                    )
            else:
                lines.append((cost, key, made))
    return lines


DASHES = {COST_FIT: "-", COST_END_TO_END: "--"}
"""Line styles per cost in the figure (amortised: dotted)."""


def plot_png(
    path: Path, table: list[dict[str, Any]], xlabel: str = X_LABEL, what: str = "data"
) -> None:
    """:func:`figure` written to ``path``."""
    fig, rect = figure(table, xlabel, what)
    save_png(fig, path, rect=rect)


def figure(table: list[dict[str, Any]], xlabel: str = X_LABEL, what: str = "data"):
    """``(figure, the rectangle its panels are laid out in)``: a row of panels per model — test
    HR@10 and nDCG@10 (×100), and the speed-ups — against % of ``what`` kept on a log axis
    that holds every point; one legend for the figure, listing what is drawn; 15 inches wide."""
    plt = pyplot()
    from matplotlib.lines import Line2D
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    groups = panels(table)
    rows = max(len(groups), 1)
    fig, axes = plt.subplots(rows, 3, figsize=(15.0, 1.0 + 3.5 * rows), squeeze=False)
    datasets = sorted({dataset for dataset, _, _ in groups})
    height = fig.get_figheight()
    only_full = " (this study ran full data only)" if all(map(is_full_data, table)) else ""
    fig.suptitle(
        f"{', '.join(datasets)}: test quality and fit speed-up against the share of {what} "
        f"kept{only_full}",
        fontsize=13,
        y=1 - 0.1 / height,
        va="top",
    )
    handles: dict[str, Any] = {}
    for row_axes, ((dataset, model, setting), panel) in zip(axes, groups.items(), strict=False):
        label = model_label(model, setting)
        lines = series(panel)
        full = full_data_run(panel)
        made = panel_summary(panel)
        xs_all: list[float] = []
        for ax, metric in zip(row_axes, PLOTTED, strict=False):
            for sampler, points in lines.items():
                if sampler == "full":
                    continue
                xs = [100 * r["data_share"] for r in points]
                xs_all += xs
                ys = [100 * r[metric] for r in points]
                style = {"marker": "o", "color": sampler_colour(sampler)}
                spread = [100 * r.get(f"{metric}_sd", math.nan) for r in points]
                if any(math.isfinite(s) for s in spread):  # seeds: their sd as error bars
                    bars = ax.errorbar(
                        xs,
                        ys,
                        yerr=[s if math.isfinite(s) else 0.0 for s in spread],
                        capsize=3,
                        **style,
                    )
                    line = bars.lines[0]
                else:
                    (line,) = ax.plot(xs, ys, **style)
                handles.setdefault(sampler_label(sampler), line)
            if full is not None:
                level = 100 * full[metric]
                ax.axhline(level, color="black", ls="--", lw=1)
                ax.plot([100.0], [level], marker="*", ms=12, color="black", ls="none")
                xs_all.append(100.0)
            name = METRIC_LABELS[metric]
            title = f"{label} on {dataset}: test {name}"
            ax.set_title(
                f"{title}\n{sampler_label(SUMMARY)}: {made}" if made else title, fontsize=10
            )
            ax.set_ylabel(f"test {name} (×100)")
        speed = row_axes[2]
        for sampler, points in lines.items():
            if sampler == "full":
                continue
            for cost, key, pts in speed_lines(points, sampler):
                kept = [p for p in pts if math.isfinite(p[key]) and p[key] > 0]
                if not kept:
                    continue
                xs = [100 * p["data_share"] for p in kept]
                xs_all += xs
                (line,) = speed.plot(
                    xs,
                    [p[key] for p in kept],
                    marker="o" if cost == COST_FIT else ".",
                    ls=DASHES.get(cost, ":"),
                    color=sampler_colour(sampler),
                )
                if cost != COST_FIT:
                    handles.setdefault(f"{sampler_label(sampler)}, {cost}", line)
        if full is not None:
            speed.axhline(1.0, color="black", ls="--", lw=1)
            speed.plot([100.0], [1.0], marker="*", ms=12, color="black", ls="none")
        speed.set_title(f"{label} on {dataset}: fit speed-up over full data", fontsize=10)
        speed.set_ylabel("speed-up (×, log scale)")
        speed.set_yscale("log")
        y_low, y_high = speed.get_ylim()
        subs = (1.0, 2.0, 5.0) if y_high / y_low < 1e3 else (1.0,)  # ≤ ~10 labels
        speed.yaxis.set_major_locator(LogLocator(subs=subs))
        speed.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}×"))
        speed.yaxis.set_minor_formatter(NullFormatter())
        low, high = (min(xs_all), max(xs_all)) if xs_all else (1.0, 100.0)
        for ax in row_axes:
            ax.set_xscale("log")
            ax.set_xlim(low / 1.6, high * 1.6)  # every point inside, whatever the budgets
            ax.set_xlabel(xlabel, fontsize=9)
            ax.grid(alpha=0.3, which="both")
            ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        if full is not None:
            handles.setdefault(
                "full data",
                (
                    Line2D([], [], color="black", ls="--", lw=1),
                    Line2D([], [], color="black", marker="*", ms=12, ls="none"),
                ),
            )
    for ax in axes.flat[len(groups) * 3 :]:
        ax.set_visible(False)
    columns = min(len(handles), 8)
    legend_rows = math.ceil(len(handles) / columns) if handles else 0
    if handles:
        from matplotlib.legend_handler import HandlerTuple

        fig.legend(
            list(handles.values()),
            list(handles),
            loc="upper center",
            bbox_to_anchor=(0.5, 1 - 0.38 / height),
            ncol=columns,
            fontsize=9,
            frameon=False,
            handler_map={tuple: HandlerTuple(ndivide=None)},
        )
    top = 1 - (0.36 + 0.24 * legend_rows) / height
    return fig, (0, 0, 1, top)


CURVE_COLUMNS = ("sampler", "colour", "data_pct", "metric", "value")
SPEED_COLUMNS = ("sampler", "colour", "cost", "order", "data_pct", "speedup")


def curve_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One panel's quality points for its DVC plot file: every sampler (full data included),
    test HR@10 and nDCG@10 ×100, one row per point and metric."""
    out = []
    for sampler, points in drawn(rows).items():
        for r in points:
            for metric in PLOTTED:
                out.append(
                    {
                        "sampler": sampler_label(sampler),
                        "colour": sampler_colour(sampler),
                        "data_pct": pct(r["data_share"]),
                        "metric": f"test {METRIC_LABELS[metric]}{X100}",
                        "value": 100 * r[metric],
                    }
                )
    return out


def speed_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One panel's speed-up points for its DVC plot file: every sampler's fit-only line,
    Distill-CF's end-to-end and amortised ones (``order``: fit only first), and full data at
    1×."""
    out = []
    for sampler, points in drawn(rows).items():
        lines = [(COST_FIT, "speedup", points)] if sampler == "full" else None
        for order, (cost, key, pts) in enumerate(lines or speed_lines(points, sampler)):
            for p in pts:
                if math.isfinite(p[key]) and p[key] > 0:
                    out.append(
                        {
                            "sampler": sampler_label(sampler),
                            "colour": sampler_colour(sampler),
                            "cost": cost,
                            "order": order,
                            "data_pct": pct(p["data_share"]),
                            "speedup": p[key],
                        }
                    )
    return out


def headline_budget(table: list[dict[str, Any]]) -> float | None:
    """The budget of the headline metrics: the middle one (upper median) of the summary's
    budgets short of full data (3% of users in the study's 0.1…30%, 500 users in the
    every-model study's 50…1,000), else of any sampler's; None with full data only."""
    for samplers in ((SUMMARY,), None):
        budgets = sorted(
            {
                float(r["budget"])
                for r in table
                if not is_full_data(r) and (samplers is None or r["sampler"] in samplers)
            }
        )
        if budgets:
            return budgets[len(budgets) // 2]
    return None


def headline(table: list[dict[str, Any]]) -> tuple[str, dict[str, float]]:
    """The study's DVC metrics: ``(file stem, {name: test HR@10 ×100})`` — per model, the
    summary and random users at :func:`headline_budget` (``hr@10_at_3%``: ``{"∞-AE
    Distill-CF": 32.79, "∞-AE User-RNS": 20.47, …}``), or full data when the study ran nothing
    else (``hr@10_full_data``). Names say the model (and dataset, with several); the full
    table is ``fraction_curve.csv``."""
    budget = headline_budget(table)
    many = len({r["dataset"] for r in table}) > 1
    out: dict[str, float] = {}
    for (dataset, model, setting), rows in panels(table).items():
        who = f"{dataset} {model_label(model, setting)}" if many else model_label(model, setting)
        if budget is None:
            full = full_data_run(rows)
            if full is not None:
                out[who] = round(100 * full["test/hr@10"], 2)
            continue
        samplers = [s for s in HEADLINE if any(r["sampler"] == s for r in table)] or sorted(
            {r["sampler"] for r in rows if not is_full_data(r)}
        )
        for sampler in samplers:
            at = [r for r in rows if r["sampler"] == sampler and float(r["budget"]) == budget]
            if at and math.isfinite(at[0]["test/hr@10"]):
                out[f"{who} {sampler_label(sampler)}"] = round(100 * at[0]["test/hr@10"], 2)
    if budget is None:
        return "hr@10_full_data", out
    users = "" if budget <= 1 else "_users"
    return f"hr@10_at_{budget_text(budget).replace(',', '')}{users}", out


def render(
    runs: list[dict[str, Any]], out: Path, tracker: Tracker, kept: list[dict[str, Any]]
) -> None:
    """The study's table, per-model curve files, headline metrics and figure into ``out``; rows
    of ``kept`` (an earlier report's table) for each (model, sampler, budget) this sweep did not
    run are carried over."""
    table = summarise(runs)
    carried = extend(table, kept)
    write_csv(out / "fraction_curve.csv", export(table), COLUMNS)
    png = out / "fraction_curve.png"
    plot_png(png, table)
    tracker.table("fraction_curve", export(table), COLUMNS)
    write_series(table, out, tracker)
    tracker.image("fraction_curve_png", png)
    print(format_summary(table))
    if carried:
        print(f"kept from the earlier report: {', '.join(carried)}")
    print(f"report: {out / 'fraction_curve.csv'}, {png}")


def write_series(
    table: list[dict[str, Any]], out: Path, tracker: Tracker, png: str = "fraction_curve_png"
) -> None:
    """Per panel the DVC plot files and the tracker's line charts; the headline metrics."""
    for (dataset, model, setting), rows in panels(table).items():
        tag = setting.replace(" ", "_").replace("=", "")  # depth=2 → depth2, safe in file names
        stem = "-".join(p for p in (dataset, model, tag) if p)
        for kind, data, columns in (
            ("quality", curve_rows(rows), CURVE_COLUMNS),
            ("speedup", speed_rows(rows), SPEED_COLUMNS),
        ):
            name = safe_name(f"{stem}-{kind}.csv", "a curve's file name (from the runs)")
            write_csv(out / "curves" / name, data, columns)
        label = f"{model_label(model, setting)} on {dataset}"
        lines = drawn(rows)
        for key, metric in (("quality", "test/hr@10"), ("quality", "test/ndcg@10")):
            suffix = "" if metric == "test/hr@10" else "-ndcg@10"
            tracker.lines(
                f"{key}/{stem}{suffix}",
                xs=[[pct(r["data_share"]) for r in p] for p in lines.values()],
                ys=[[100 * r[metric] for r in p] for p in lines.values()],
                names=[sampler_label(s) for s in lines],
                title=f"{label}: test {METRIC_LABELS[metric]} ×100 against % of data kept "
                f"(linear x here; log x in {png})",
                xname="% of data kept",
            )
        speed = [
            (
                sampler_label(s) if cost == COST_FIT else f"{sampler_label(s)}, {cost}",
                key,
                [p for p in pts if math.isfinite(p[key])],
            )
            for s, points in lines.items()
            for cost, key, pts in speed_lines(points, s)
        ]
        tracker.lines(
            f"speedup/{stem}",
            xs=[[pct(p["data_share"]) for p in pts] for _, _, pts in speed],
            ys=[[p[key] for p in pts] for _, key, pts in speed],
            names=[name for name, _, _ in speed],
            title=f"{label}: speed-up over the full-data fit (×) against % of data kept "
            f"(linear axes here; log axes in {png})",
            xname="% of data kept",
        )
    stem, numbers = headline(table)
    name = safe_name(f"{stem}.json", "a metrics file name")
    (out / "metrics").mkdir(parents=True, exist_ok=True)
    write_text(out / "metrics" / name, json.dumps(numbers, indent=2, ensure_ascii=False) + "\n")


def format_summary(table: list[dict[str, Any]]) -> str:
    """The console's table: metrics ×100 (two decimals), shares in %, speed-ups as ×."""
    lines = [
        f"{'model':<14}{'sampler':<17}{'budget':>8}{'data %':>8}{'HR@10':>7}{'nDCG@10':>8}"
        f"{'rel':>6}{'fit ×':>10}{'e2e ×':>10}"
    ]
    for r in table:
        lines.append(
            f"{model_label(r['model'], r['setting']):<14}{sampler_label(r['sampler']):<17}"
            f"{budget_text(float(r['budget'])):>8}{100 * r['data_share']:>8.2f}"
            f"{100 * r['test/hr@10']:>7.2f}{100 * r['test/ndcg@10']:>8.2f}"
            f"{r['rel_hr@10']:>6.2f}{_times(r['speedup']):>10}{_times(r['end_to_end_speedup']):>10}"
        )
    lines.append(
        "×100: HR@10, nDCG@10; rel: HR@10 / full data's; fit ×: fit speed-up over full data; "
        "e2e ×: with making the support (Distill-CF: distillation) counted"
    )
    return "\n".join(lines)


def _times(value: float) -> str:
    return f"{value:.3g}×" if math.isfinite(value) else "—"
