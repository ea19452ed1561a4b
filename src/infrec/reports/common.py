"""What every study report shares: reading a folder of runs, CSV files and figures.

A *run* is a folder holding ``metrics.json`` and ``config.json`` (written by
:func:`infrec.track.write_run`); :func:`collect_runs` reads every one under a folder (a Hydra
sweep, a DVC study) into rows labelled by dataset, model, sampler, budget and seed.

Tables are written with a blank cell where there is no number (a spread over one seed, a speed-up
with no full-data run), never ``nan``; figures at :data:`DPI` dots per inch and at most
:data:`MAX_WIDTH_PX` pixels wide.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from infrec.errors import InfrecError
from infrec.paths import atomic_path, safe_name
from infrec.samplers.support_file import load_support
from infrec.validate import check_meta, check_number_map, read_json


def collect_runs(root: str | Path) -> list[dict[str, Any]]:
    """One row per run dir under ``root`` (any depth) holding metrics.json and config.json.

    Both files are checked before use (:func:`read_run`); a malformed one is one error naming it.
    """
    rows = []
    for metrics_file in sorted(Path(root).rglob("metrics.json")):
        config_file = metrics_file.with_name("config.json")
        if not config_file.is_file():
            continue
        metrics, config = read_run(metrics_file, config_file)
        if not any(k.startswith("test/") for k in metrics):
            continue
        sampler = dict(config.get("sampler") or {})
        if sampler.get("name") == "from_file" and sampler.get("path"):
            # label a saved support by what made it; what it cost is the seconds its metadata
            # records making it (a distillation), not the seconds this run took to load it
            path = Path(str(sampler["path"]))
            origin = support_origin(path, config_file)
            made_s = origin.pop("seconds", None)
            sampler = {**sampler, **origin}
            if made_s is not None:
                metrics = {**metrics, "support/seconds": made_s}
        rows.append(
            {
                "dataset": config["dataset"]["name"],
                "model": config["model"]["name"],
                "sampler": sampler.get("name", "full"),
                # a budget left unset (full, an unlabelled support) is the share of users kept
                "budget": sampler.get("budget") or metrics.get("support/user_share", 1.0),
                "seed": config.get("seed"),
                "metrics": metrics,
                "config": config,
                "sampler_config": sampler,  # a saved support's: what made it
            }
        )
    if not rows:
        raise InfrecError(f"{root}: no runs (metrics.json + config.json) found")
    return rows


def read_run(metrics_file: Path, config_file: Path) -> tuple[dict[str, float], dict[str, Any]]:
    """A run's metrics (flat numbers) and resolved config (dataset, model and sampler names as
    text, a numeric budget and an integer seed where present), checked."""
    metrics = check_number_map(read_json(metrics_file, "metrics.json"), metrics_file, "metrics")
    config = read_json(config_file, "config.json")
    if not isinstance(config, dict):
        raise InfrecError(f"{config_file}: config.json is not an object")
    groups = (
        ("dataset", "model", "sampler")
        if config.get("sampler") is not None
        else ("dataset", "model")
    )
    for group in groups:
        node = config.get(group)
        if not isinstance(node, dict) or not isinstance(node.get("name"), str):
            raise InfrecError(f"{config_file}: {group}.name is missing or not text")
        safe_name(node["name"], f"{config_file}: {group}.name")  # it names report files
    sampler = config.get("sampler")
    if sampler is not None:
        if not isinstance(sampler, dict):
            raise InfrecError(f"{config_file}: sampler is not an object")
        check_meta(
            sampler, config_file, {"name": (str, None, None), "budget": ((int, float), 0, None)}
        )
    check_meta(config, config_file, {"seed": (int, None, None)})
    return metrics, config


def support_origin(path: Path, named_in: Path | None = None) -> dict[str, Any]:
    """The sampler name and budget recorded in a support file's metadata, and the ``seconds``
    making it took (Distill-CF's distillation), when present."""
    try:
        if not path.is_file():
            return {}
    except OSError as e:  # a name too long, a loop of links: the config names no usable file
        raise InfrecError(
            f"{named_in or path}: sampler.path names a file that cannot be read ({e.strerror})"
        ) from None
    meta = load_support(path)[1]
    origin = meta.get("config") or {}
    check_meta(origin, path, {"name": (str, None, None), "budget": ((int, float), 0, None)})
    check_meta(meta, path, {"seconds": ((int, float), 0, None)})
    if "name" in origin:
        safe_name(origin["name"], f"{path}: metadata config.name")
    out = {k: origin[k] for k in ("name", "budget") if origin.get(k) is not None}
    if meta.get("seconds") is not None:
        out["seconds"] = float(meta["seconds"])
    return out


def mean_of(members: Sequence[dict[str, float]], key: str) -> float:
    """The mean of ``key`` over metric dicts (NaN where a dict lacks it)."""
    return float(np.mean([m.get(key, np.nan) for m in members]))


def sd_of(members: Sequence[dict[str, float]], key: str) -> float:
    """The sample standard deviation of ``key`` over metric dicts (NaN for fewer than two)."""
    values = [m.get(key, np.nan) for m in members]
    return float(np.std(values, ddof=1)) if len(values) > 1 else math.nan


def cell(value: Any) -> Any:
    """A table cell: floats to 6 significant digits, no number (``None``, NaN) blank."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return f"{value:.6g}" if isinstance(value, float) else value


def blanks(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``rows`` with no number (NaN) as ``None``: the tracker's tables, blank as the CSV's."""
    return [
        {k: None if isinstance(v, float) and math.isnan(v) else v for k, v in row.items()}
        for row in rows
    ]


def write_csv(path: Path, rows: list[dict[str, Any]], columns: Sequence[str]) -> None:
    """``rows`` as CSV with ``columns`` (:func:`cell`: no ``nan``), written atomically."""
    with atomic_path(path) as tmp, tmp.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(columns), extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: cell(v) for k, v in row.items()})


def write_text(path: Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def pyplot():
    """matplotlib's pyplot on the file-only Agg backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


DPI = 100
MAX_WIDTH_PX = 1600
"""Figures are at most this wide: one screen, and the width DVC's page and W&B show whole."""


def save_png(fig, path: Path, rect: Sequence[float] | None = None) -> None:
    """Lay out (within ``rect`` of the figure, when given: room left for a title or legend),
    write atomically at :data:`DPI` and close a figure; a figure wider than
    :data:`MAX_WIDTH_PX` is an error of the code that made it."""
    width = fig.get_figwidth() * DPI
    if width > MAX_WIDTH_PX:
        raise ValueError(f"a {width:.0f} px wide figure; at most {MAX_WIDTH_PX} px")
    fig.tight_layout(rect=rect)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=DPI)
    pyplot().close(fig)


NOT_SETTINGS = ("seed", "sampler.budget", "sampler.path", "dataset.path", "dataset.filename")
"""Config keys that never make two runs different settings: the seed (runs of one setting are
averaged over it), the budget (the curves' x) and where files lie."""
NOT_SETTINGS_UNDER = ("paths.", "logger.", "hydra.", "study.")


def _flatten(obj: Any, prefix: str = "") -> dict[str, str]:
    if isinstance(obj, dict):
        out: dict[str, str] = {}
        for key, value in obj.items():
            out.update(_flatten(value, f"{prefix}{key}."))
        return out
    return {prefix[:-1]: json.dumps(obj, sort_keys=True)}


def label_settings(rows: list[dict[str, Any]], also_ignore: Sequence[str] = ()) -> None:
    """Give every run a ``setting``: the config values that differ between runs of the same
    (dataset, model, sampler), e.g. ``depth=2`` in a ``-m model.depth=1,2`` sweep (``""`` when
    none do). Runs are then averaged only within one setting, never across two."""
    ignore = set(NOT_SETTINGS) | set(also_ignore)
    flat = [
        {
            k: v
            for k, v in _flatten(row["config"]).items()
            if k not in ignore and not k.startswith(NOT_SETTINGS_UNDER)
        }
        for row in rows
    ]
    by_group: dict[tuple, list[int]] = {}
    for i, row in enumerate(rows):
        by_group.setdefault((row["dataset"], row["model"], row.get("sampler")), []).append(i)
    for members in by_group.values():
        keys = sorted({k for i in members for k in flat[i]})
        varying = [k for k in keys if len({flat[i].get(k) for i in members}) > 1]
        for i in members:
            parts = [f"{k.split('.', 1)[-1]}={json.loads(flat[i].get(k, 'null'))}" for k in varying]
            rows[i]["setting"] = " ".join(parts)
