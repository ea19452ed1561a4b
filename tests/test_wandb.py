"""What a reviewer opens on W&B: each run's summary is its metrics.json, per-λ values are
history with λ as x, W&B's variables are honoured, and runs are told apart by name and tags."""

from __future__ import annotations

import json

import pytest

from infrec.apps.train import run
from infrec.config import differences, run_name, run_tags
from tests.helpers import compose_cfg, tiny_csv, wandb_run


def _tiny(tmp_path, *overrides):
    tiny_csv(tmp_path / "r.csv")
    return compose_cfg(
        [
            "dataset=custom",
            f"dataset.path={tmp_path / 'r.csv'}",
            "dataset.string_ids=false",
            "model=ease",
            "model.lambdas=[1,100]",
            "eval.ks=[10,20]",
            "selection.metric=val/hr@20",
            "logger=wandb",
            *overrides,
        ],
        tmp_path,
    )


def test_the_summary_is_metrics_json_and_lambda_is_the_x_axis(tmp_path, monkeypatch):
    pytest.importorskip("wandb")
    monkeypatch.setenv("WANDB_SILENT", "true")
    monkeypatch.delenv("WANDB_DIR", raising=False)
    run(_tiny(tmp_path), run_dir=tmp_path / "run")
    record = wandb_run(tmp_path / "run")
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    summary = {k: v for k, v in record["summary"].items() if not k.startswith("_")}
    assert summary == metrics  # nothing of the grid's last λ left beside the chosen one
    details = json.loads((tmp_path / "run" / "details.json").read_text())
    rows = [h for h in record["history"] if "lambda" in h]
    assert [h["lambda"] for h in rows] == [1, 100] == [g["hp"]["lambda"] for g in details["grid"]]
    assert [h["lambda/val/hr@20"] for h in rows] == [g["val"]["hr@20"] for g in details["grid"]]
    assert record["steps"] == {"lambda/*": "lambda"}


def test_wandb_dir_is_honoured(tmp_path, monkeypatch):
    pytest.importorskip("wandb")
    monkeypatch.setenv("WANDB_SILENT", "true")
    monkeypatch.setenv("WANDB_DIR", str(tmp_path / "elsewhere"))
    (tmp_path / "elsewhere").mkdir()
    run(_tiny(tmp_path), run_dir=tmp_path / "run")
    assert len(list((tmp_path / "elsewhere" / "wandb").glob("offline-run-*"))) == 1
    assert not (tmp_path / "run" / "wandb").exists()


def test_runs_that_differ_by_an_override_have_different_names_and_tags(tmp_path):
    cfg = _tiny(tmp_path, "model=infinite_ae", "model.lambdas=[1]")
    one = run_name(cfg, ["model=infinite_ae", "model.depth=1", f"paths.cache_dir={tmp_path}"])
    two = run_name(cfg, ["model=infinite_ae", "model.depth=2", f"paths.cache_dir={tmp_path}"])
    assert one == "custom-infinite_ae-full-depth=1-seed42" and two != one
    assert "depth=2" in run_tags(cfg, ["model.depth=2", "hydra.job.chdir=false"])
    assert differences(["seed=1", "dataset.path=/x", "logger=wandb", "+model.lr=0.1"]) == ["lr=0.1"]
    random = _tiny(tmp_path, "sampler=random_user", "sampler.budget=0.5")
    assert run_name(random, []) == "custom-ease-random_user-0.5-seed42"
    assert "budget:0.5" in run_tags(random, [])
