"""Every model on a summary (the paper's Figure 4): Distill-CF against random users of the same
size, and full data, for each model.

The runs are a fraction-of-data sweep (:mod:`.fraction_curve` reads and averages them the same
way, with the same three costs: fit only, distil + fit, and amortised over the models sharing a
summary), so the same DVC plot files and headline metrics are written, plus:

- ``every_model.md``: per model and support size, the seeds averaged on each side, how its
  Distill-CF summary was distilled and
  fed to it (:func:`~.fraction_curve.summary_labels`: ``τ = 1: values, weighted``), test
  nDCG@10 / HR@10 ×100 (± the spread over seeds, when there are several), fit seconds and fit
  speed-up over full data for Distill-CF and for random users; Distill-CF's distillation
  seconds and its end-to-end and amortised
  speed-ups; their nDCG@10 difference (negative: the summary does worse than real users of the
  same number, a finding), and the full-data row;
- with ``extend``: the rows of every (model, sampler, budget) not in this sweep carried over
  from an earlier report's ``every_model.csv`` (adding a model, one model's other sampler or
  more support sizes to the study without rerunning the rest);
- ``every_model.csv``: every averaged row (:data:`.fraction_curve.COLUMNS`);
- ``every_model.png``: a row per model — HR@10, nDCG@10 (the spread over seeds as error bars,
  the summary named in the panel's title) and speed-ups against % of users kept;
  both samplers' lines end at the model's full-data run (:func:`meeting_full_data`), as do the
  DVC plot files;
- to the tracker: the table, the curves and the PNG.

:func:`write_report` writes all of it from a table alone, so a published report can be drawn
again from its CSV (``write_report(read_table(csv), folder, Tracker(), carried)``) without the
runs.
"""

from __future__ import annotations

import math
from collections import defaultdict
from pathlib import Path
from typing import Any

from infrec.reports.common import write_csv, write_text
from infrec.reports.fraction_curve import (
    COLUMNS,
    amortised_label,
    export,
    extend,
    full_data_run,
    is_full_data,
    model_label,
    panels,
    plot_png,
    summarise,
    summary_text,
    write_series,
)
from infrec.track import Tracker

SUMMARY, BASELINE = "distill_cf", "random_user"
X_LABEL = "% of users kept, log scale"


def _metric(row: dict[str, Any], key: str) -> str:
    """A metric ×100 with its spread over seeds when there is one (blank for one seed)."""
    text = f"{100 * row[key]:.2f}"
    sd = row.get(f"{key}_sd", math.nan)
    return f"{text} ± {100 * sd:.2f}" if math.isfinite(sd) else text


def _number(value: float) -> str:
    """Three significant digits, or whole with thousands separators from 100 on."""
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"


def _times(value: float) -> str:
    return f"{_number(value)}×" if math.isfinite(value) else "—"


def _seconds(value: float) -> str:
    return _number(value) if math.isfinite(value) else "—"


def _seeds(row: dict[str, Any] | None) -> str:
    """How many seeds a row averages (``—`` for no row)."""
    return "—" if row is None else f"{int(row['seeds'])}"


def _cells(row: dict[str, Any] | None, costs: bool) -> list[str]:
    if row is None:
        return ["—"] * (7 if costs else 4)
    cells = [
        _metric(row, "test/ndcg@10"),
        _metric(row, "test/hr@10"),
        _seconds(row["fit_s"]),
        _times(row["speedup"]),
    ]
    if costs:
        cells[2:2] = [_seconds(row["support_s"])]
        cells += [_times(row["end_to_end_speedup"]), _times(row["amortised_speedup"])]
    return cells


def markdown(table: list[dict[str, Any]]) -> str:
    """The comparison table: a row per (model, support size), full data last per model."""
    sharing = sorted(
        {r["sharing"] for r in table if r["sampler"] == SUMMARY and not is_full_data(r)}
    )
    amortised = amortised_label(sharing[0]) if len(sharing) == 1 else "amortised over the models"
    head = (
        "| model | users | seeds | Distill-CF summary | nDCG@10 | HR@10 | distil s | fit s "
        f"| fit speed-up | distil + fit speed-up | speed-up, distillation {amortised} "
        "| random users nDCG@10 | HR@10 | fit s | fit speed-up "
        "| Distill-CF − random (nDCG@10) |"
    )
    lines = [head, "|" + "---|" * 16]
    for (_, model, setting), rows in panels(table).items():
        label = model_label(model, setting)
        sizes: dict[int, dict[str, dict[str, Any]]] = defaultdict(dict)
        for r in rows:
            if not is_full_data(r):
                sizes[round(r["users"])][r["sampler"]] = r
        full = full_data_run(rows)
        for users in sorted(sizes):
            ours, base = sizes[users].get(SUMMARY), sizes[users].get(BASELINE)
            diff = (
                f"{100 * (ours['test/ndcg@10'] - base['test/ndcg@10']):+.2f}"
                if ours and base
                else "—"
            )
            lines.append(
                f"| {label} | {users:,} | {_seeds(ours)} / {_seeds(base)} | {summary_text(ours)} | "
                + " | ".join(_cells(ours, True) + _cells(base, False))
                + f" | {diff} |"
            )
        if full is not None:
            cells = [*_cells(full, False)[:2], "", *_cells(full, False)[2:]]
            lines.append(
                f"| {label} | all {round(full['users']):,} (full data) | {_seeds(full)} | | "
                + " | ".join(cells)
                + " | | | | | | | |"
            )
    note = (
        "\nMetrics ×100 (± the sample standard deviation over seeds, when there are several; "
        "*seeds*: how many, Distill-CF / random users). "
        "Speed-ups are over the model's full-data fit: *fit* counts the fit alone (JAX's "
        "compilation set apart), *distil + fit* adds the seconds the summary took to distil, "
        "and *amortised* shares those seconds among the models of this study fitted on the "
        "same summary.\n"
    )
    return "\n".join(lines) + "\n" + note


def meeting_full_data(table: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows to plot: ``table`` plus, per model, copies of its full-data run — under the
    name of each sampler with no full-data row of its own, and as the ``full`` series (the
    dashed reference line of the DVC plots, as in the fraction study).

    Both samplers give the real train matrix at 100%, so a sweep may run full data under one
    of them only (or an extended report may hold it under one); without this, one sampler's
    line would reach 100% and the other's stop at its largest support. The table and CSV keep
    the runs as they were; only the figure, the DVC plot files and metrics get the copies."""
    out = list(table)
    for rows in panels(table).values():
        reference = full_data_run(rows)
        if reference is None:
            continue
        covered = {r["sampler"] for r in rows if is_full_data(r)}
        for sampler in sorted(({r["sampler"] for r in rows} | {"full"}) - covered):
            out.append({**reference, "sampler": sampler})
    return out


def render(
    runs: list[dict[str, Any]], out: Path, tracker: Tracker, kept: list[dict[str, Any]]
) -> None:
    """The table, figure, DVC plot files and tracker record of an every-model sweep; the rows
    of ``kept`` (an earlier report's table) for each (model, sampler, budget) this sweep did not
    run are carried over, and the table says which."""
    table = summarise(runs)
    carried = extend(table, kept)
    write_report(table, out, tracker, carried)


def write_report(
    table: list[dict[str, Any]], out: Path, tracker: Tracker, carried: list[str]
) -> None:
    """Everything :func:`render` writes, from the averaged ``table`` (``carried``: the labels
    :func:`~.fraction_curve.extend` gave, said under the table)."""
    write_csv(out / "every_model.csv", export(table), COLUMNS)
    text = markdown(table)
    if carried:
        text += (
            f"\nCarried over from the report this sweep extended (not run by it): "
            f"{'; '.join(carried)}.\n"
        )
    write_text(out / "every_model.md", text)
    png = out / "every_model.png"
    lines = meeting_full_data(table)
    plot_png(png, lines, xlabel=X_LABEL, what="users")
    tracker.table("every_model", export(table), COLUMNS)
    write_series(lines, out, tracker, png="every_model_png")
    tracker.image("every_model_png", png)
    print(text)
    print(f"report: {out / 'every_model.md'}, {png}")
