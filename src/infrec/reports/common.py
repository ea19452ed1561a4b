"""What every study report shares: reading a folder of runs, CSV files and figures.

A *run* is a folder holding ``metrics.json`` and ``config.json`` (written by
:func:`infrec.track.write_run`); :func:`collect_runs` reads every one under a folder (a Hydra
sweep, a DVC study) into rows labelled by dataset, model, sampler, budget and seed.
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
            # label a saved support by what made it
            path = Path(str(sampler["path"]))
            sampler = {**sampler, **support_origin(path, config_file)}
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
    """The sampler name and budget recorded in a support file's metadata, when present."""
    try:
        if not path.is_file():
            return {}
    except OSError as e:  # a name too long, a loop of links: the config names no usable file
        raise InfrecError(
            f"{named_in or path}: sampler.path names a file that cannot be read ({e.strerror})"
        ) from None
    origin = load_support(path)[1].get("config") or {}
    check_meta(origin, path, {"name": (str, None, None), "budget": ((int, float), 0, None)})
    if "name" in origin:
        safe_name(origin["name"], f"{path}: metadata config.name")
    return {k: origin[k] for k in ("name", "budget") if origin.get(k) is not None}


def mean_of(members: Sequence[dict[str, float]], key: str) -> float:
    """The mean of ``key`` over metric dicts (NaN where a dict lacks it)."""
    return float(np.mean([m.get(key, np.nan) for m in members]))


def sd_of(members: Sequence[dict[str, float]], key: str) -> float:
    """The sample standard deviation of ``key`` over metric dicts (NaN for fewer than two)."""
    values = [m.get(key, np.nan) for m in members]
    return float(np.std(values, ddof=1)) if len(values) > 1 else math.nan


def write_csv(path: Path, rows: list[dict[str, Any]], columns: Sequence[str]) -> None:
    """``rows`` as CSV with ``columns`` (floats to 6 significant digits), written atomically."""
    with atomic_path(path) as tmp, tmp.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(columns), extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow(
                {k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in row.items()}
            )


def write_text(path: Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def pyplot():
    """matplotlib's pyplot on the file-only Agg backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_png(fig, path: Path) -> None:
    """Lay out, write atomically and close a figure."""
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
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
