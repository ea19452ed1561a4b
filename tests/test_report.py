"""The study: report maths, a tiny fraction-of-data sweep end to end, and the DVC pipeline file."""

import csv
import json
import math

import numpy as np
import pytest

from infrec.errors import InfrecError
from infrec.reports import make_report
from infrec.reports.common import collect_runs
from infrec.reports.fraction_curve import summarise
from infrec.samplers.support_file import save_support
from tests.helpers import csv_records, sweep, tiny_csv, wandb_run, wandb_table


def fake_run_dir(folder, sampler, budget, model, seed, hr10, fit_s, share):
    folder.mkdir(parents=True)
    (folder / "config.json").write_text(
        json.dumps(
            {
                "dataset": {"name": "toy"},
                "model": {"name": model},
                "seed": seed,
                "sampler": {"name": sampler, **({"budget": budget} if budget is not None else {})},
            }
        )
    )
    (folder / "metrics.json").write_text(
        json.dumps(
            {
                "test/hr@10": hr10,
                "test/ndcg@10": hr10 / 2,
                "time/fit_best_s": fit_s,
                "support/user_share": share,
                "support/interaction_share": share,
                "support/users": share * 100,
                "support/seconds": 0.1,
            }
        )
    )


def test_speedup_relative_quality_and_seed_means(tmp_path):
    fake_run_dir(tmp_path / "a", "full", None, "m", 1, 0.40, 8.0, 1.0)
    fake_run_dir(tmp_path / "b", "random_user", 0.1, "m", 1, 0.20, 2.0, 0.1)
    fake_run_dir(tmp_path / "c", "random_user", 0.1, "m", 2, 0.30, 2.0, 0.1)
    table = {r["sampler"]: r for r in summarise(collect_runs(tmp_path))}
    rnd = table["random_user"]
    assert rnd["seeds"] == 2
    assert rnd["test/hr@10"] == pytest.approx(0.25)
    assert rnd["speedup"] == pytest.approx(4.0)
    assert rnd["rel_hr@10"] == pytest.approx(0.625)
    assert table["full"]["rel_hr@10"] == 1.0 and table["full"]["speedup"] == 1.0


def test_from_file_runs_are_labelled_by_their_support(tmp_path):
    support = tmp_path / "s.npz"
    save_support(support, np.zeros((2, 3)), {"config": {"name": "distill_cf", "budget": 0.01}})
    fake_run_dir(tmp_path / "r", "from_file", None, "m", 1, 0.3, 1.0, 0.01)
    config = json.loads((tmp_path / "r" / "config.json").read_text())
    config["sampler"]["path"] = str(support)
    (tmp_path / "r" / "config.json").write_text(json.dumps(config))
    (row,) = collect_runs(tmp_path)
    assert (row["sampler"], row["budget"]) == ("distill_cf", 0.01)


def test_unlabelled_support_takes_its_user_share_as_budget(tmp_path):
    fake_run_dir(tmp_path / "r", "from_file", None, "m", 1, 0.3, 1.0, 0.05)
    config = json.loads((tmp_path / "r" / "config.json").read_text())
    config["sampler"].update({"path": str(tmp_path / "absent.npz"), "budget": None})
    (tmp_path / "r" / "config.json").write_text(json.dumps(config))
    (row,) = collect_runs(tmp_path)
    assert (row["sampler"], row["budget"]) == ("from_file", 0.05)
    assert summarise([row])[0]["budget"] == 0.05


def test_no_runs(tmp_path):
    with pytest.raises(InfrecError, match="no runs"):
        make_report(tmp_path)


def test_fraction_curve_sweep_end_to_end(tmp_path):
    tiny_csv(tmp_path / "r.csv")
    sweep(
        [
            "experiment=fraction_curve",
            "sampler=random_user,head_user,random_interaction",
            "sampler.budget=0.3,1.0",
            f"hydra.sweep.dir={tmp_path / 'study' / 'simple'}",
        ],
        tmp_path,
    )
    done = sweep(
        [
            "experiment=fraction_curve",
            "sampler=distill_cf",
            "sampler.budget=0.1",
            "sampler.steps=30",
            "sampler.gamma=10",
            f"hydra.sweep.dir={tmp_path / 'study' / 'distill'}",
        ],
        tmp_path,
    )
    assert "distill_cf" in done.stdout  # the sweep's own report, printed by the callback
    out = make_report(tmp_path / "study")
    with (out / "fraction_curve.csv").open() as f:
        rows = list(csv.DictReader(f))
    # 3 samplers × 2 budgets × 2 models, plus Distill-CF at one budget × 2 models
    assert len(rows) == 14
    full = [r for r in rows if float(r["budget"]) == 1.0]
    assert all(float(r["rel_hr@10"]) == pytest.approx(1.0, abs=1e-6) for r in full)
    distill = [r for r in rows if r["sampler"] == "distill_cf"]
    assert {r["users"] for r in distill} == {"6"}
    assert (out / "fraction_curve.png").stat().st_size > 1000
    # one DVC plot file per model, every sampler in it (full data the reference)
    assert sorted(p.name for p in (out / "curves").glob("*.csv")) == [
        "custom-ease.csv",
        "custom-infinite_ae.csv",
    ]
    with (out / "curves" / "custom-infinite_ae.csv").open() as f:
        points = list(csv.DictReader(f))
    assert {p["sampler"] for p in points} == {
        "User-RNS",
        "head users",
        "Interaction-RNS",
        "Distill-CF",
    }
    rns = [p for p in points if p["sampler"] == "Interaction-RNS" and float(p["data_pct"]) < 100]
    interaction_share = [
        r for r in rows if r["sampler"] == "random_interaction" and r["model"] == "infinite_ae"
    ]
    assert float(rns[0]["data_pct"]) == pytest.approx(
        100 * min(float(r["interaction_share"]) for r in interaction_share), rel=1e-4
    )
    compact = json.loads((out / "metrics" / "infinite_ae-distill_cf.json").read_text())
    distill_iae = next(r for r in distill if r["model"] == "infinite_ae")
    assert compact == {"hr@10 010.0%": round(100 * float(distill_iae["test/hr@10"]), 2)}


def test_report_to_wandb_offline(tmp_path, monkeypatch):
    pytest.importorskip("wandb")
    monkeypatch.setenv("WANDB_SILENT", "true")
    fake_run_dir(tmp_path / "runs" / "a", "full", None, "m", 1, 0.40, 8.0, 1.0)
    fake_run_dir(tmp_path / "runs" / "b", "random_user", 0.1, "m", 1, 0.20, 2.0, 0.1)
    logger = {"name": "wandb", "project": "infrec", "group": "g", "mode": "offline"}
    out = make_report(tmp_path / "runs", logger=logger)
    assert len(list((out / "wandb").glob("offline-run-*"))) == 1
    record = wandb_run(out)  # read back from the offline run file
    assert (record["name"], record["group"]) == ("report-g", "g")
    assert "report" in record["tags"]
    assert record["config"] == {"kind": "fraction_curve", "runs": str(tmp_path / "runs")}
    # the table holds what fraction_curve.csv holds, row for row
    table = wandb_table(record, "fraction_curve")
    csv_rows = csv_records(out / "fraction_curve.csv")
    assert [r["sampler"] for r in table] == ["full", "random_user"]
    assert table == [pytest.approx(r, nan_ok=True) for r in csv_rows]
    # the curves: (sampler, log10 % of data) → HR@10 ×100 and speed-up, as in the DVC plot file
    curve = csv_records(out / "curves" / "toy-m.csv")
    for key, column in (("quality", "hr@10"), ("speedup", "speedup")):
        points = {
            (r["lineKey"], r["step"]): r["lineVal"]
            for r in wandb_table(record, f"{key}/toy-m_table")
        }
        expected = {(r["sampler"], math.log10(r["data_pct"])): r[column] for r in curve}
        assert points == pytest.approx(expected), key
    assert points[("User-RNS", 1.0)] == 4.0  # 8 s of fit against 2 s
    image = record["summary"]["fraction_curve_png/path"]
    assert (record["files"] / image).read_bytes() == (out / "fraction_curve.png").read_bytes()
