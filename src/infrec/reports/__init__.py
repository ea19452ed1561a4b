"""Study reports: a folder of runs → tables, figures and a tracker record, one module per kind.

- ``fraction_curve`` (:mod:`.fraction_curve`): quality and speed-up against the data kept;
- ``paper_table`` (:mod:`.paper_table`): every model beside the paper's main table;
- ``depth`` (:mod:`.depth`): ∞-AE against the depth of its network;
- ``every_model`` (:mod:`.every_model`): every model on Distill-CF summaries against random users.

Each kind's ``render(runs, out, tracker)`` writes its files; :func:`make_report` reads the runs,
opens the tracker (a W&B run of job type ``report`` in the sweep's group) and dispatches. The two
seed-averaged tables (``fraction_curve``, ``every_model``) can *extend* an earlier report: its
rows for each (model, sampler, budget) this sweep did not run are carried over
(``render(runs, out, tracker, kept)``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from infrec.errors import InfrecError
from infrec.reports import depth, every_model, fraction_curve, paper_table
from infrec.reports.common import collect_runs
from infrec.track import Tracker, build_tracker

Runs = list[dict[str, Any]]
Table = list[dict[str, Any]]  # an earlier report's rows (fraction_curve.read_table)
TABLE_KINDS: dict[str, Callable[[Runs, Path, Tracker, Table], None]] = {
    "fraction_curve": fraction_curve.render,
    "every_model": every_model.render,
}
OTHER_KINDS: dict[str, Callable[[Runs, Path, Tracker], None]] = {
    "paper_table": paper_table.render,
    "depth": depth.render,
}
KINDS = (*TABLE_KINDS, *OTHER_KINDS)


def make_report(
    root: str | Path,
    out_dir: str | Path | None = None,
    kind: str = "fraction_curve",
    logger: Mapping[str, Any] | None = None,
    extend: str | Path | None = None,
) -> Path:
    """Aggregate the runs under ``root`` into ``out_dir`` (default ``root/report``).

    ``extend``: an earlier report folder of the same kind whose rows for each (model, sampler,
    budget) absent from these runs are carried over (read before anything is written, so it may be
    ``out_dir`` itself).

    ``logger`` is a logger config (``conf/logger/``: ``name``, ``project``, ``group``, ``mode``, …);
    the report's run is named ``report-<group>``.
    """
    if kind not in KINDS:
        raise InfrecError(f"report kind {kind!r}: choose one of {sorted(KINDS)}")
    if extend is not None and kind not in TABLE_KINDS:
        raise InfrecError(f"report kind {kind!r} cannot extend a report; only {list(TABLE_KINDS)}")
    out = Path(out_dir) if out_dir else Path(root) / "report"
    kept = fraction_curve.read_table(Path(extend) / f"{kind}.csv") if extend is not None else []
    runs = collect_runs(root)
    out.mkdir(parents=True, exist_ok=True)
    cfg = dict(logger or {"name": "none"})
    group = cfg.get("group")
    cfg.update(job_type="report", run_name=f"report-{group}" if group else "report")
    datasets = sorted({str(r["dataset"]) for r in runs})
    tags = ["report", f"report:{kind}", *(f"dataset:{d}" for d in datasets)]
    tags += [str(t) for t in cfg.get("tags") or []]  # the study's own tag comes from the sweep
    tracker = build_tracker(cfg, out, {"kind": kind, "runs": str(root)}, tags=tags)
    try:
        if kind in TABLE_KINDS:
            TABLE_KINDS[kind](runs, out, tracker, kept)
        else:
            OTHER_KINDS[kind](runs, out, tracker)
    finally:
        tracker.finish()
    return out
