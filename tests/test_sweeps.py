"""Sweeps as users run them: a launcher, one W&B group per sweep read back from the offline run
files (summary = metrics.json, the report's table and plots), and reports that never pool
different settings."""

from __future__ import annotations

import csv
import json
import subprocess
import sys

import pytest

from tests.helpers import multirun, wandb_run


def sweep(args, tmp_path, ml100k_dir):
    base = [f"dataset.path={ml100k_dir}", f"paths.cache_dir={tmp_path / 'cache'}"]
    multirun([*base, f"hydra.sweep.dir={tmp_path / 'sweep'}", *args])
    return tmp_path / "sweep"


def test_debug_sweep_on_joblib_is_one_wandb_group(ml100k_dir, tmp_path):
    """Four jobs (two models × two seeds) in two joblib processes: four metric files, one W&B
    group, and one report combining the seeds."""
    pytest.importorskip("hydra_plugins.hydra_joblib_launcher")
    pytest.importorskip("wandb")
    out = sweep(
        [
            "experiment=debug",
            "hydra/launcher=joblib",
            "hydra.launcher.n_jobs=2",
            "logger=wandb",
            "seed=1,2",
        ],
        tmp_path,
        ml100k_dir,
    )
    assert sorted(p.parent.name for p in out.glob("*/metrics.json")) == ["0", "1", "2", "3"]
    with (out / "report" / "fraction_curve.csv").open() as f:
        assert {r["seeds"] for r in csv.DictReader(f)} == {"2"}
    jobs = [wandb_run(out / job) for job in ("0", "1", "2", "3")]
    report = wandb_run(out / "report")
    groups = {r["group"] for r in [*jobs, report]}
    assert len(groups) == 1 and groups.pop().endswith("sweep")
    for job, record in zip(("0", "1", "2", "3"), jobs, strict=True):
        metrics = json.loads((out / job / "metrics.json").read_text())
        assert {k: record["summary"].get(k) for k in metrics} == metrics
        assert record["steps"] == {"lambda/*": "lambda"}  # a λ grid: λ is the x axis
        assert any(t.startswith("study:debug") for t in record["tags"])
    assert sorted(r["name"] for r in jobs) == sorted(  # one name per run: the seed tells apart
        f"ml-100k-{m}-full-seed{s}" for m in ("infinite_ae", "ease") for s in (1, 2)
    )
    assert {"report", "report:fraction_curve", "dataset:ml-100k", "study:debug"} <= set(
        report["tags"]
    )
    summary = report["summary"]  # nested keys joined by "/"
    assert summary["fraction_curve/_type"] == "table-file"
    assert summary["fraction_curve/nrows"] == 2
    for kind in ("quality", "speedup"):  # the line plots' data tables
        assert summary[f"{kind}/ml-100k-infinite_ae_table/_type"] == "table-file"
    assert summary["fraction_curve_png/_type"] == "image-file"


def test_report_keeps_different_settings_apart(ml100k_dir, tmp_path):
    out = sweep(["model.depth=1,2", "model.lambdas=[5]"], tmp_path, ml100k_dir)
    subprocess.run(
        [sys.executable, "-m", "infrec.apps.report", str(out)], check=True, capture_output=True
    )
    with (out / "report" / "fraction_curve.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert sorted(r["setting"] for r in rows) == ["depth=1", "depth=2"]
    assert all(r["seeds"] == "1" for r in rows)
