"""End to end on ML-100K: the Hydra app, its run records, multirun, W&B offline, bad input."""

import json
import os
import subprocess
import sys

import pytest
from omegaconf import OmegaConf

from infrec.apps.train import run
from infrec.errors import InfrecError
from infrec.evaluate import RANKING_METRICS
from tests.helpers import compose_cfg, wandb_metrics, wandb_run

METRIC_KEYS = {f"{p}/{m}@{k}" for p in ("val", "test") for m in RANKING_METRICS for k in (10, 100)}


def ml100k_overrides(ml100k_dir):
    return [f"dataset.path={ml100k_dir}"]


@pytest.mark.parametrize(("model", "best"), [("infinite_ae", None), ("ease", None)])
def test_run_writes_record(model, best, ml100k_dir, tmp_path):
    cfg = compose_cfg([*ml100k_overrides(ml100k_dir), f"model={model}"], tmp_path)
    metrics = run(cfg, run_dir=tmp_path / "run")
    on_disk = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert on_disk == pytest.approx(metrics)
    assert METRIC_KEYS | {"test/auc", "hp/lambda", "time/fit_s"} <= set(metrics)
    assert all(0.0 <= metrics[k] <= 1.0 for k in METRIC_KEYS)
    assert metrics["val/n_users"] == 943 - metrics["val/n_users_skipped"]
    details = json.loads((tmp_path / "run" / "details.json").read_text())
    grid = [g["hp"]["lambda"] for g in details["grid"]]
    assert grid == list(cfg.model.lambdas)
    best_val = max(g["val"]["hr@100"] for g in details["grid"])
    assert metrics["val/hr@100"] == pytest.approx(best_val)
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["model"]["name"] == model
    # quality far above popularity-level on ML-100K
    assert metrics["test/ndcg@10"] > 0.3


def test_selection_metric_is_configurable(ml100k_dir, tmp_path):
    cfg = compose_cfg(
        [*ml100k_overrides(ml100k_dir), "selection.metric=val/ndcg@10", "model.lambdas=[1,100]"],
        tmp_path,
    )
    metrics = run(cfg, run_dir=tmp_path / "run")
    details = json.loads((tmp_path / "run" / "details.json").read_text())
    assert metrics["val/ndcg@10"] == pytest.approx(
        max(g["val"]["ndcg@10"] for g in details["grid"])
    )


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("model.depth=0", "depth=0"),
        ("model.lambdas=[1,-5]", "λ must be ≥ 0"),
        ("selection.metric=test/hr@100", "test/hr@100"),
        ("selection.metric=val/hr@50", "k in eval.ks"),
        ("eval.ks=[0]", r"eval.ks=\[0\]: every k must be ≥ 1"),
        ("eval.ks=[]", "eval.ks is empty"),
        ("dataset.format=parquet", "unknown format"),
        ("model.lambdas=abc", "model.lambdas='abc': expected a list of numbers"),
        ("model.depth=abc", "model.depth='abc': expected an integer"),
        (
            "sampler=random_user sampler.budget=abc",
            "sampler.budget='abc': expected a number or null",
        ),
    ],
)
def test_bad_input_fails_before_writing(override, message, ml100k_dir, tmp_path):
    cfg = compose_cfg([*ml100k_overrides(ml100k_dir), *override.split()], tmp_path)
    with pytest.raises(InfrecError, match=message):
        run(cfg, run_dir=tmp_path / "run")
    assert not (tmp_path / "run" / "metrics.json").exists()
    assert not (tmp_path / "cache").exists()  # failed before reading the data


def cli(args, tmp_path, **env):
    return subprocess.run(
        [sys.executable, "-m", "infrec.apps.train", *args, f"paths.cache_dir={tmp_path / 'cache'}"],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, **env},
        check=False,
    )


def test_cli_prints_table(ml100k_dir, tmp_path):
    done = cli(
        [f"dataset.path={ml100k_dir}", f"hydra.run.dir={tmp_path / 'run'}", "model.lambdas=[1,5]"],
        tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert "ndcg@10" in done.stdout and "chosen on validation: lambda=" in done.stdout
    assert (tmp_path / "run" / "metrics.json").is_file()
    assert (tmp_path / "run" / ".hydra" / "config.yaml").is_file()


def test_cli_error_is_one_line(tmp_path):
    done = cli(
        [
            "dataset=custom",
            f"dataset.path={tmp_path / 'missing.csv'}",
            f"hydra.run.dir={tmp_path / 'run'}",
        ],
        tmp_path,
    )
    assert done.returncode != 0
    assert "error: " in done.stderr and "missing.csv" in done.stderr
    assert "Traceback" not in done.stderr


def test_multirun_over_depths(ml100k_dir, tmp_path):
    done = cli(
        [
            "-m",
            f"dataset.path={ml100k_dir}",
            "model.depth=1,2",
            "model.lambdas=[1]",
            f"hydra.sweep.dir={tmp_path / 'sweep'}",
        ],
        tmp_path,
    )
    assert done.returncode == 0, done.stderr
    records = sorted((tmp_path / "sweep").glob("*/metrics.json"))
    assert len(records) == 2
    depths = sorted(
        json.loads(p.with_name("config.json").read_text())["model"]["depth"] for p in records
    )
    assert depths == [1, 2]


def test_wandb_offline(ml100k_dir, tmp_path, monkeypatch):
    pytest.importorskip("wandb")
    monkeypatch.setenv("WANDB_SILENT", "true")
    cfg = compose_cfg(
        [*ml100k_overrides(ml100k_dir), "logger=wandb", "model.lambdas=[1,5]"], tmp_path
    )
    returned = run(cfg, run_dir=tmp_path / "run")
    assert len(list((tmp_path / "run" / "wandb").glob("offline-run-*"))) == 1
    record = wandb_run(tmp_path / "run")  # read back from the offline run file
    folder = tmp_path / "run"
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics == pytest.approx(returned)
    # the summary is metrics.json key for key (nothing missing, nothing extra, same values)
    assert wandb_metrics(record) == metrics
    # the config is the resolved config, as config.json holds it
    resolved = OmegaConf.to_container(cfg, resolve=True)
    assert record["config"] == resolved
    assert json.loads((folder / "config.json").read_text()) == resolved
    assert record["config"]["model"]["lambdas"] == [1, 5]
    assert record["config"]["paths"]["data_dir"] == str(tmp_path / "data")
    # the grid's history is details.json's grid, with λ as its x axis
    details = json.loads((folder / "details.json").read_text())
    grid = [h for h in record["history"] if "lambda" in h]
    assert [h["lambda"] for h in grid] == [g["hp"]["lambda"] for g in details["grid"]] == [1, 5]
    for h, g in zip(grid, details["grid"], strict=True):
        assert {k: h[f"lambda/val/{k}"] for k in g["val"]} == g["val"]
    assert record["steps"] == {"lambda/*": "lambda"}


def test_eval_users_sample_is_recorded(ml100k_dir, tmp_path):
    cfg = compose_cfg([*ml100k_overrides(ml100k_dir), "model=ease", "eval.users=300"], tmp_path)
    metrics = run(cfg, run_dir=tmp_path / "run")
    assert metrics["val/n_users"] == metrics["test/n_users"] == 300
    assert metrics["test/n_users_sampled_from"] == 943 - metrics["test/n_users_skipped"]


@pytest.mark.parametrize(
    "overrides",
    [["model.landmarks=200"], ["sampler=random_user", "sampler.budget=200"]],
)
def test_nystrom_infinite_ae_beats_exact_on_the_same_users(overrides, ml100k_dir, tmp_path):
    """200 landmarks fitted to every training user beat exact ∞-AE on 200 random users."""
    base = [*ml100k_overrides(ml100k_dir), "sampler=random_user", "sampler.budget=200"]
    exact = run(compose_cfg(base, tmp_path), run_dir=tmp_path / "exact")
    cfg = compose_cfg([*ml100k_overrides(ml100k_dir), "model.solver=nystrom", *overrides], tmp_path)
    nystrom = run(cfg, run_dir=tmp_path / "nystrom")
    assert nystrom["test/ndcg@10"] > exact["test/ndcg@10"] + 0.01
