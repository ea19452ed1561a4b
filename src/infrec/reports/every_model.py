"""Every model on a summary (the paper's Figure 4): Distill-CF against random users of the same
size, and full data, for each model.

The runs are a fraction-of-data sweep (:mod:`.fraction_curve` reads and averages them the same
way), so the same DVC plot files and compact metrics are written, plus:

- ``every_model.md``: per model and support size, test nDCG@10 / HR@10 ×100, fit seconds and
  speed-up over full data for Distill-CF and for random users, their nDCG@10 difference (negative:
  the summary does worse than real users of the same number, a finding), and the full-data row;
- with ``extend``: the rows of every (model, sampler, budget) not in this sweep carried over
  from an earlier report's ``every_model.csv`` (adding a model, one model's other sampler or
  more support sizes to the study without rerunning the rest);
- ``every_model.csv``: every averaged row (:data:`.fraction_curve.COLUMNS`);
- ``every_model.png``: nDCG@10 (top) and speed-up (bottom) against % of users kept, per model;
  both samplers' lines end at the model's full-data run (:func:`meeting_full_data`), as do the
  DVC plot files and compact metrics;
- to the tracker: the table, the curves and the PNG.
"""

from __future__ import annotations

import math
from collections import defaultdict
from pathlib import Path
from typing import Any

from infrec.reports.common import write_csv, write_text
from infrec.reports.fraction_curve import (
    COLUMNS,
    extend,
    full_data_run,
    is_full_data,
    model_label,
    panels,
    plot_png,
    summarise,
    write_series,
)
from infrec.track import Tracker

SUMMARY, BASELINE = "distill_cf", "random_user"


def _cells(row: dict[str, Any] | None) -> list[str]:
    if row is None:
        return ["—"] * 4
    return [
        f"{100 * row['test/ndcg@10']:.2f}",
        f"{100 * row['test/hr@10']:.2f}",
        f"{row['fit_s']:.3g}",
        f"{row['speedup']:.3g}×" if math.isfinite(row["speedup"]) else "—",
    ]


def markdown(table: list[dict[str, Any]]) -> str:
    """The comparison table: a row per (model, support size), full data last per model."""
    head = (
        "| model | users | Distill-CF nDCG@10 | HR@10 | fit s | speed-up "
        "| random users nDCG@10 | HR@10 | fit s | speed-up | Distill-CF − random (nDCG@10) |"
    )
    lines = [head, "|" + "---|" * 11]
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
                f"| {label} | {users:,} | "
                + " | ".join(_cells(ours) + _cells(base))
                + f" | {diff} |"
            )
        if full is not None:
            lines.append(
                f"| {label} | all {round(full['users']):,} (full data) | "
                + " | ".join(_cells(full))
                + " | | | | | |"
            )
    return "\n".join(lines) + "\n"


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
    write_csv(out / "every_model.csv", table, COLUMNS)
    text = markdown(table)
    if carried:
        text += (
            f"\nCarried over from the report this sweep extended (not run by it): "
            f"{'; '.join(carried)}.\n"
        )
    write_text(out / "every_model.md", text)
    png = out / "every_model.png"
    lines = meeting_full_data(table)
    plot_png(png, lines, metric="test/ndcg@10", xlabel="% of users kept, log scale")
    tracker.table("every_model", table, COLUMNS)
    write_series(lines, out, tracker)
    tracker.image("every_model_png", png)
    print(text)
    print(f"report: {out / 'every_model.md'}, {png}")
