"""Writes are whole or absent: a run's record as a set, folders proved writable before heavy
work, and the OS's failures (full disk, a file where a folder should be) as one line."""

from __future__ import annotations

import errno
import json
import subprocess
import sys
from pathlib import Path

import pytest

from infrec.apps.train import run
from infrec.errors import USER_ERROR_EXIT, InfrecError
from infrec.track import write_run
from tests.helpers import compose_cfg, tiny_csv


def test_a_full_disk_leaves_no_half_run_record(tmp_path, monkeypatch):
    run_dir = tmp_path / "run"
    write_run(run_dir, {"test/hr@10": 0.5}, {"seed": 1}, {"grid": []})
    before = {p.name: p.read_text() for p in run_dir.iterdir()}
    real = Path.write_text

    def fills_up(self, text, *args, **kwargs):
        if "details.json" in self.name:  # the last of the three files
            raise OSError(errno.ENOSPC, "No space left on device", str(self))
        return real(self, text, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", fills_up)
    with pytest.raises(InfrecError, match=r"details.json.*: writing failed: No space left"):
        write_run(run_dir, {"test/hr@10": 0.9}, {"seed": 2}, {"grid": [1]})
    assert {p.name: p.read_text() for p in run_dir.iterdir()} == before  # the old record, whole


def test_an_unwritable_support_dir_is_found_before_distilling(tmp_path, monkeypatch):
    """A file where the support folder should be: refused before any step is taken."""
    tiny_csv(tmp_path / "r.csv")
    (tmp_path / "blocker").write_text("a file, not a folder")
    cfg = compose_cfg(
        [
            "dataset=custom",
            f"dataset.path={tmp_path / 'r.csv'}",
            "sampler=distill_cf",
            "sampler.budget=5",
            f"paths.support_dir={tmp_path / 'blocker' / 'supports'}",
        ],
        tmp_path,
    )
    from infrec.samplers import distill_cf

    def never(*args, **kwargs):
        raise AssertionError("distilled although the support could not be saved")

    monkeypatch.setattr(distill_cf, "distill", never)
    with pytest.raises(InfrecError, match=r"paths.support_dir is not writable .*not a folder"):
        run(cfg, tmp_path / "run")


def test_a_malformed_metrics_json_is_one_line_from_the_report(tmp_path):
    runs = tmp_path / "runs" / "0"
    runs.mkdir(parents=True)
    (runs / "config.json").write_text(
        json.dumps({"dataset": {"name": "d"}, "model": {"name": "m"}})
    )
    for content, message in (
        ('{"test/hr@10": 0.5', "metrics.json is not valid JSON"),
        ('{"test/hr@10": "high"}', "entry 'test/hr@10' = 'high' is not a number"),
        ("[1, 2]", "metrics is list, expected an object"),
        ('{"test/hr@10": Infinity}', "is not finite"),
    ):
        (runs / "metrics.json").write_text(content)
        done = subprocess.run(
            [sys.executable, "-m", "infrec.apps.report", str(tmp_path / "runs")],
            capture_output=True,
            text=True,
        )
        assert done.returncode == USER_ERROR_EXIT, done.stderr
        (line,) = done.stderr.strip().splitlines()
        assert line.startswith(f"error: {runs / 'metrics.json'}: ") and message in line, line
