"""The paper table, the depth study and hyper-parameter search: configs, reports and real sweeps."""

from __future__ import annotations

import csv
import json
import math

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from infrec.apps.train import run
from infrec.config import register
from infrec.errors import InfrecError
from infrec.paths import config_dir
from infrec.reports import depth, every_model, fraction_curve, make_report, paper_table
from infrec.reports.common import write_csv
from infrec.reports.paper_table import best_per_model, markdown
from infrec.reports.publish import MARKER
from infrec.track import build_tracker
from tests.helpers import compose_cfg, csv_records, sweep, tiny_csv, wandb_run, wandb_table
from tests.test_report import png_size

KINDS = ("quality", "speedup")


def run_sweep(args, tmp_path):
    tiny_csv(tmp_path / "r.csv")
    return sweep([f"hydra.sweep.dir={tmp_path / 'sweep'}", *args], tmp_path)


def fake_run(model, val, ndcg, paper=None):
    return {
        "dataset": "toy",
        "model": model,
        "config": {
            "selection": {"metric": "val/hr@100"},
            "study": {
                "models": "poprec,mf,ease,infinite_ae",
                "paper": {"toy": {model: paper}} if paper else {},
            },
        },
        "metrics": {
            "val/hr@100": val,
            "test/ndcg@10": ndcg,
            "test/hr@10": ndcg,
            "time/fit_best_s": 1.0,
            "time/total_s": 2.0,
            "hp/lr": 0.1,
        },
    }


def test_paper_table_keeps_the_best_validating_run_per_model():
    rows = best_per_model(
        [
            fake_run("mf", 0.4, 0.20, paper=25.0),
            fake_run("mf", 0.5, 0.24, paper=25.0),
            fake_run("poprec", 0.1, 0.10),
            fake_run("ease", 0.6, 0.30),
        ]
    )
    assert [r["model"] for r in rows] == ["poprec", "mf", "ease"]  # the paper's column order
    mf = rows[1]
    assert mf["ndcg@10"] == pytest.approx(24.0)
    assert mf["ndcg@10_minus_paper"] == pytest.approx(-1.0)
    text = markdown(rows)
    assert "| toy | mf | 24.00 | 25.00 | -1.00 |" in text
    assert "| toy | poprec | 10.00 | — | — |" in text


@pytest.mark.slow  # ~20-40 s: a whole sweep; its report is tested on fixtures by default
def test_paper_table_sweep_end_to_end(tmp_path):
    # (the paper has no figure for this dataset, and the command line adds no keys: item 14)
    done = run_sweep(
        ["experiment=paper_table", "study.models='poprec,mf,mvae,ease,infinite_ae'"], tmp_path
    )
    out = tmp_path / "sweep" / "report"
    with (out / "paper_table.csv").open() as f:
        rows = {r["model"]: r for r in csv.DictReader(f)}
    assert list(rows) == ["poprec", "mf", "mvae", "ease", "infinite_ae"]
    assert {r["paper_ndcg@10 (×100)"] for r in rows.values()} == {""}  # blank, not nan
    assert "nan" not in (out / "paper_table.csv").read_text()
    assert "best_epoch=" in rows["mf"]["hyper_parameters"]
    assert all(0 <= float(r["ndcg@10 (×100)"]) <= 100 for r in rows.values())
    assert "| custom | ease |" in (out / "paper_table.md").read_text()
    assert "paper_table.md" in done.stdout


def test_depth_sweep_end_to_end(tmp_path):
    run_sweep(["experiment=depth", "study.depths='1,3'", "model.lambdas=[1,10]"], tmp_path)
    out = tmp_path / "sweep" / "report"
    with (out / "depth.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert [int(r["depth"]) for r in rows] == [1, 3]
    assert all(float(r["lambda"]) in (1.0, 10.0) for r in rows)
    assert all(0 < float(r["hr@10 (×100)"]) <= 100 and r["hr@10 sd (×100)"] == "" for r in rows)
    assert png_size(out / "depth.png") == (640, 440)


@pytest.mark.slow  # ~60-125 s: a whole sweep; its report is tested on fixtures by default
def test_every_model_sweep_end_to_end(tmp_path):
    done = run_sweep(
        [
            "experiment=every_model",
            "study.models='infinite_ae,mf'",
            "study.budgets='5,1.0'",
            f"hydra.callbacks.report.publish_dir={tmp_path / 'published'}",
        ],
        tmp_path,
    )
    out = tmp_path / "sweep" / "report"
    published = sorted(
        p.relative_to(tmp_path / "published")
        for p in (tmp_path / "published").rglob("*")
        if p.name != MARKER
    )
    assert published == sorted(p.relative_to(out) for p in out.rglob("*") if "wandb" not in p.parts)
    text = (out / "every_model.md").read_text()
    for model in ("∞-AE", "MF"):
        assert f"| {model} | 5 |" in text
        assert f"| {model} | all 60 (full data) |" in text
    with (out / "every_model.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert {(r["model"], r["sampler"]) for r in rows} == {
        (m, s) for m in ("infinite_ae", "mf") for s in ("distill_cf", "random_user")
    }
    assert all(float(r["fit_speedup"]) > 0 for r in rows)
    distill = [r for r in rows if r["sampler"] == "distill_cf" and float(r["budget"]) == 5]
    assert {float(r["models_sharing"]) for r in distill} == {2.0}  # one summary, two models
    assert all(float(r["support_s"]) > 0 for r in distill)  # its distillation, for both
    assert png_size(out / "every_model.png")[0] <= 1600
    assert sorted(p.name for p in (out / "curves").iterdir()) == [
        "custom-infinite_ae-quality.csv",
        "custom-infinite_ae-speedup.csv",
        "custom-mf-quality.csv",
        "custom-mf-speedup.csv",
    ]
    assert [p.name for p in (out / "metrics").iterdir()] == ["hr@10_at_5_users.json"]
    assert "every_model.md" in done.stdout
    # one more model, added to the published study: the earlier models' rows are kept
    again = tmp_path / "again"
    again.mkdir()
    run_sweep(
        [
            "experiment=every_model",
            "study.models=ease",
            "study.budgets='5,1.0'",
            "study.extend=true",
            f"hydra.callbacks.report.publish_dir={tmp_path / 'published'}",
        ],
        again,
    )
    text = (tmp_path / "published" / "every_model.md").read_text()
    for model in ("∞-AE", "MF", "EASE"):
        assert f"| {model} | 5 |" in text
    assert "not run by it): ∞-AE (Distill-CF, User-RNS); MF (Distill-CF, User-RNS)." in text
    assert sorted(p.name for p in (tmp_path / "published" / "curves").iterdir()) == [
        f"custom-{m}-{kind}.csv" for m in ("ease", "infinite_ae", "mf") for kind in KINDS
    ]
    # one more support size on one line, without full data: the line's other points stay
    more = tmp_path / "more"
    more.mkdir()
    run_sweep(
        [
            "experiment=every_model",
            "study.models=ease",
            "study.samplers=random_user",
            "study.budgets='10'",
            "study.extend=true",
            f"hydra.callbacks.report.publish_dir={tmp_path / 'published'}",
        ],
        more,
    )
    text = (tmp_path / "published" / "every_model.md").read_text()
    assert "| EASE | 5 |" in text and "| EASE | all 60 (full data) |" in text
    (ten,) = [line for line in text.splitlines() if line.startswith("| EASE | 10 |")]
    assert ten.split(" | ")[12].endswith("×")  # a speed-up, against the carried full-data run
    assert "EASE (Distill-CF; User-RNS at 5, 100%)" in text


def test_every_model_table_flags_a_summary_below_random_users():
    def row(model, sampler, users, ndcg, share=0.1):
        return {
            "dataset": "toy",
            "model": model,
            "setting": "",
            "sampler": sampler,
            "users": users,
            "user_share": share,
            "interaction_share": share,
            "test/ndcg@10": ndcg,
            "test/hr@10": ndcg,
            "test/ndcg@10_sd": math.nan,  # one seed
            "seeds": 1,
            "fit_s": 0.5,
            "support_s": 1234.5 if sampler == "distill_cf" else 0.001,
            "sharing": 6.0,
            "speedup": 4.0,
            "end_to_end_speedup": 0.0016,
            "amortised_speedup": 0.0097,
        }

    table = [
        {**row("mf", "distill_cf", 50, 0.10), "summary": "τ = 1", "fed_as": "values, weighted"},
        row("mf", "random_user", 50, 0.15),
        row("mf", "random_user", 500, 0.25, share=1.0),
    ]
    text = every_model.markdown(table)
    assert (
        "| MF | 50 | 1 / 1 | τ = 1: values, weighted | 10.00 | 10.00 | 1,234 | 0.5 | 4× | 0.0016× "
        "| 0.0097× | 15.00 | 15.00 | 0.5 | 4× | -5.00 |"
    ) in text
    assert "| speed-up, distillation amortised over 6 models |" in text
    assert "| MF | all 500 (full data) | 1 | | 25.00 | 25.00 |  | 0.5 | 4× |" in text
    assert all(
        line.count("|") == 17 for line in text.splitlines() if line.startswith("| MF")
    )  # 16 columns


def test_every_model_lines_all_end_at_the_full_data_run():
    def row(model, sampler, budget, ndcg, share, speedup):
        r = table_row(model, sampler, budget, ndcg)
        r.update(data_share=share, user_share=share, interaction_share=share, speedup=speedup)
        return r

    table = [
        row("mf", "distill_cf", 50.0, 0.10, 0.1, 4.0),
        row("mf", "random_user", 50.0, 0.15, 0.1, 3.0),
        row("mf", "random_user", 1.0, 0.25, 1.0, 1.0),
        row("ease", "distill_cf", 50.0, 0.20, 0.1, 2.0),
        row("ease", "distill_cf", 1.0, 0.31, 1.0, 1.1),  # not the run speed-ups are against
        row("ease", "random_user", 1.0, 0.30, 1.0, 1.0),
        row("ease", "random_user", 50.0, 0.22, 0.1, 2.0),
    ]
    lines = every_model.meeting_full_data(table)
    assert lines[: len(table)] == table and len(table) == 7  # the table itself is left alone
    # MF's summary line gets MF's full-data run; EASE's has its own; each gets the reference line
    added = [(r["model"], r["sampler"], r["test/ndcg@10"]) for r in lines[len(table) :]]
    assert added == [("ease", "full", 0.30), ("mf", "distill_cf", 0.25), ("mf", "full", 0.25)]
    assert fraction_curve.full_data_run(table[3:])["test/ndcg@10"] == 0.30
    curves = fraction_curve.curve_rows([r for r in lines if r["model"] == "mf"])
    assert {(c["sampler"], c["data_pct"]) for c in curves} == {
        (s, pct) for s in ("Distill-CF", "User-RNS") for pct in (10.0, 100.0)
    } | {("full data", 100.0)}
    assert every_model.markdown(lines).count("(full data)") == 2


def test_search_grids_name_real_options():
    register()  # the structured schema config.yaml's defaults name
    for path in sorted((config_dir() / "search").glob("*.yaml")):
        with initialize_config_dir(str(config_dir()), version_base="1.3"):
            cfg = compose("config", overrides=[f"search={path.stem}"], return_hydra_config=True)
        params = cfg.hydra.sweeper.params
        assert params, path
        for key in params:
            group, option = key.split(".", 1)  # a model's or a sampler's own options
            assert group in ("model", "sampler") and cfg[group].name == path.stem, path.name
            assert option in cfg[group], f"{path.name}: {key}"


@pytest.mark.slow  # ~20-35 s: an Optuna sweep
def test_optuna_tuner_maximises_validation(tmp_path):
    pytest.importorskip("hydra_plugins.hydra_optuna_sweeper")
    run_sweep(
        [
            "search=mf",
            "tuner=optuna",
            "hydra.sweeper.n_trials=2",
            "model.epochs=2",
            "model.eval_every=1",
        ],
        tmp_path,
    )
    runs = sorted((tmp_path / "sweep").glob("*/metrics.json"))
    assert len(runs) == 2
    best = OmegaConf.load(tmp_path / "sweep" / "optimization_results.yaml")
    vals = [json.loads(p.read_text())["val/hr@20"] for p in runs]
    assert best.best_value == pytest.approx(max(vals))


@pytest.mark.parametrize("model", ["mf", "lightgcn", "neumf", "mvae", "poprec"])
def test_every_model_fits_a_user_subset_and_scores_all_users(model, tmp_path):
    tiny_csv(tmp_path / "r.csv")
    train_opts = [] if model == "poprec" else ["model.epochs=3", "model.eval_every=1"]
    cfg = compose_cfg(
        [
            "dataset=custom",
            f"dataset.path={tmp_path / 'r.csv'}",
            "eval.ks=[10,20]",
            "selection.metric=val/hr@20",
            f"model={model}",
            "sampler=random_user",
            "sampler.budget=0.5",
            *train_opts,
        ],
        tmp_path,
    )
    metrics = run(cfg, tmp_path / "run")
    assert metrics["support/users"] == 30
    assert metrics["test/n_users"] == 60  # every real user scored, most folded in
    assert 0 < metrics["test/hr@20"] <= 1


def test_study_reports_log_to_wandb_offline(tmp_path, monkeypatch):
    pytest.importorskip("wandb")
    monkeypatch.setenv("WANDB_SILENT", "true")
    runs = []
    for d, hr in ((1, 0.30), (2, 0.32)):
        run = fake_run("infinite_ae", 0.5, hr)
        run["config"]["model"] = {"name": "infinite_ae", "depth": d}
        run["metrics"]["hp/lambda"] = 5.0
        runs.append(run)
    logger = {"name": "wandb", "project": "infrec", "group": "g", "mode": "offline"}
    for kind, render in (("depth", depth.render), ("table", paper_table.render)):
        tracker = build_tracker(logger, tmp_path / kind, {"kind": kind}, name=f"r-{kind}")
        try:
            render(runs, tmp_path / kind, tracker)
        finally:
            tracker.finish()
    with (tmp_path / "depth" / "depth.csv").open() as f:
        assert [float(r["hr@10 (×100)"]) for r in csv.DictReader(f)] == [30.0, 32.0]
    # read back from the offline run files: the tables hold the CSVs' rows, the curve its points
    record = wandb_run(tmp_path / "depth")
    assert (record["name"], record["group"], record["config"]) == (
        "r-depth",
        "g",
        {"kind": "depth"},
    )
    depth_csv = csv_records(tmp_path / "depth" / "depth.csv")
    assert [r["depth"] for r in depth_csv] == [1.0, 2.0]
    assert wandb_table(record, "depth") == [pytest.approx(r) for r in depth_csv]
    assert depth_csv[0]["hr@10 sd (×100)"] == ""  # one seed: blank in both, not NaN
    curve = {
        (r["lineKey"], r["step"]): r["lineVal"] for r in wandb_table(record, "depth_curve_table")
    }
    assert curve == {
        (f"test {name} ×100", r["depth"]): pytest.approx(r[f"{m} (×100)"])
        for r in depth_csv
        for m, name in (("hr@10", "HR@10"), ("ndcg@10", "nDCG@10"))
    }
    png = (record["files"] / record["summary"]["depth_png/path"]).read_bytes()
    assert png == (tmp_path / "depth" / "depth.png").read_bytes()
    record = wandb_run(tmp_path / "table")
    table_csv = csv_records(tmp_path / "table" / "paper_table.csv")
    assert [r["model"] for r in table_csv] == ["infinite_ae"]
    assert wandb_table(record, "paper_table") == [pytest.approx(r) for r in table_csv]
    assert table_csv[0]["paper_ndcg@10 (×100)"] == ""  # no paper figure: blank, not NaN


def table_row(model, sampler, budget, ndcg):
    """A row of a report's table as the code holds it (fractions; the written CSV is ×100)."""
    row = {key: 0.5 for _, key, scale in fraction_curve.TABLE if scale is not None}
    row.update(dataset="toy", model=model, setting="", sampler=sampler, budget=budget, seeds=1)
    row.update({"test/ndcg@10": ndcg, "test/ndcg@10_sd": math.nan})
    return row


def test_a_report_table_reads_back_and_extends_by_model(tmp_path):
    kept = [table_row("mf", "random_user", 5.0, 0.1), table_row("ease", "random_user", 5.0, 0.2)]
    write_csv(tmp_path / "every_model.csv", fraction_curve.export(kept), fraction_curve.COLUMNS)
    written = csv_records(tmp_path / "every_model.csv")
    assert written[0]["test/ndcg@10 (×100)"] == 10.0 and written[0]["data_pct"] == 50.0
    assert written[0]["test/ndcg@10 sd (×100)"] == ""
    back = fraction_curve.read_table(tmp_path / "every_model.csv")
    assert back[0]["model"] == "mf" and back[0]["seeds"] == 1 and back[0]["budget"] == 5.0
    assert back[0]["test/ndcg@10"] == 0.1 and back[0]["data_share"] == 0.5
    assert math.isnan(back[0]["test/ndcg@10_sd"])
    # this sweep ran EASE on Distill-CF summaries and MF on random users again
    table = [table_row("ease", "distill_cf", 5.0, 0.3), table_row("mf", "random_user", 5.0, 0.4)]
    assert fraction_curve.extend(table, back) == ["EASE (User-RNS)"]
    assert [(r["model"], r["sampler"], r["test/ndcg@10"]) for r in table] == [
        ("ease", "distill_cf", 0.3),
        ("ease", "random_user", 0.2),
        ("mf", "random_user", 0.4),
    ]


def test_extending_by_budget_keeps_the_other_points_of_a_line():
    kept = [
        table_row("neumf", "distill_cf", 50.0, 0.10),
        table_row("neumf", "distill_cf", 100.0, 0.12),
        table_row("neumf", "distill_cf", 1.0, 0.27),
        table_row("neumf", "random_user", 50.0, 0.14),
    ]
    # this sweep ran NeuMF on a 500-user summary and redid full data
    table = [
        table_row("neumf", "distill_cf", 500.0, 0.19),
        table_row("neumf", "distill_cf", 1.0, 0.28),
    ]
    assert fraction_curve.extend(table, kept) == ["NeuMF (User-RNS; Distill-CF at 50, 100)"]
    assert [(r["sampler"], r["budget"], r["test/ndcg@10"]) for r in table] == [
        ("distill_cf", 1.0, 0.28),
        ("distill_cf", 50.0, 0.10),
        ("distill_cf", 100.0, 0.12),
        ("distill_cf", 500.0, 0.19),
        ("random_user", 50.0, 0.14),
    ]
    assert fraction_curve.budgets_text([1.0, 0.03]) == "3%, 100%"
    assert fraction_curve.budgets_text([1.0, 1000.0, 50.0]) == "50, 1,000, 100%"


def test_a_point_added_without_full_data_is_measured_against_the_carried_full_run():
    full = table_row("ease", "random_user", 1.0, 0.34)
    full.update(user_share=1.0, interaction_share=1.0, fit_s=6.0, speedup=1.0)
    added = table_row("ease", "distill_cf", 2000.0, 0.33)
    added.update({"fit_s": 1.5, "speedup": math.nan, "rel_ndcg@10": math.nan})
    table = [added]
    assert fraction_curve.extend(table, [full]) == ["EASE (User-RNS)"]
    assert added["speedup"] == 4.0
    assert added["rel_ndcg@10"] == pytest.approx(0.33 / 0.34)


def test_extending_names_what_is_missing(tmp_path):
    with pytest.raises(InfrecError, match=r"every_model\.csv: no such report table"):
        make_report(tmp_path, kind="every_model", extend=tmp_path / "nowhere")
    with pytest.raises(InfrecError, match="'depth' cannot extend"):
        make_report(tmp_path, kind="depth", extend=tmp_path)
    (tmp_path / "every_model.csv").write_text("dataset,model\ntoy,mf\n")
    with pytest.raises(InfrecError, match=r"not a study table: no column 'amortised_s', "):
        make_report(tmp_path, kind="every_model", extend=tmp_path)
