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
            "sampler=random_user,random_interaction",
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
    # 2 samplers × 2 budgets × 2 models, plus Distill-CF at one budget × 2 models
    assert len(rows) == 10
    full = [r for r in rows if float(r["budget"]) == 1.0]
    assert all(float(r["rel_hr@10"]) == pytest.approx(1.0, abs=1e-6) for r in full)
    assert all(float(r["fit_speedup"]) == 1.0 for r in full)  # full data against itself: 1×
    distill = [r for r in rows if r["sampler"] == "distill_cf"]
    assert {r["users"] for r in distill} == {"6"}
    assert png_size(out / "fraction_curve.png")[0] <= 1600
    assert "nan" not in (out / "fraction_curve.csv").read_text()  # one seed: blank spreads
    assert all(r["test/hr@10 sd (×100)"] == "" for r in rows)
    # the sweep's supports are shared by both models: Distill-CF's costs side by side
    for r in distill:
        fit, made = float(r["fit_s"]), float(r["support_s"])
        assert float(r["models_sharing"]) == 2
        assert float(r["end_to_end_s"]) == pytest.approx(made + fit, rel=1e-4)
        assert float(r["amortised_s"]) == pytest.approx(made / 2 + fit, rel=1e-4)
        assert float(r["end_to_end_speedup"]) < float(r["amortised_speedup"])
        assert float(r["amortised_speedup"]) < float(r["fit_speedup"])
    # per model a quality and a speed-up file for DVC, every sampler in them (and full data)
    assert sorted(p.name for p in (out / "curves").glob("*.csv")) == [
        "custom-ease-quality.csv",
        "custom-ease-speedup.csv",
        "custom-infinite_ae-quality.csv",
        "custom-infinite_ae-speedup.csv",
    ]
    points = csv_records(out / "curves" / "custom-infinite_ae-quality.csv")
    assert {p["sampler"] for p in points} == {
        "User-RNS",
        "Interaction-RNS",
        "Distill-CF",
        "full data",
    }
    assert {p["metric"] for p in points} == {"test HR@10 (×100)", "test nDCG@10 (×100)"}
    rns = [p for p in points if p["sampler"] == "Interaction-RNS" and p["data_pct"] < 100]
    interaction_pct = [
        float(r["interaction_pct"])
        for r in rows
        if r["sampler"] == "random_interaction" and r["model"] == "infinite_ae"
    ]
    assert rns[0]["data_pct"] == pytest.approx(min(interaction_pct), rel=1e-4)
    distill_iae = next(r for r in distill if r["model"] == "infinite_ae")
    hr = [p for p in points if p["sampler"] == "Distill-CF" and p["metric"].startswith("test HR")]
    assert [p["value"] for p in hr] == [pytest.approx(float(distill_iae["test/hr@10 (×100)"]))]
    speed = csv_records(out / "curves" / "custom-infinite_ae-speedup.csv")
    assert {(p["sampler"], p["cost"]) for p in speed if p["sampler"] == "Distill-CF"} == {
        ("Distill-CF", "fit only"),
        ("Distill-CF", "distil + fit"),
        ("Distill-CF", "amortised over 2 models"),
    }
    assert {p["cost"] for p in speed if p["sampler"] != "Distill-CF"} == {"fit only"}
    # the headline metrics: few, short names, HR@10 ×100 at the summary's middle budget
    (headline,) = (out / "metrics").iterdir()
    assert headline.name == "hr@10_at_10%.json"
    numbers = json.loads(headline.read_text())
    assert numbers["∞-AE Distill-CF"] == round(float(distill_iae["test/hr@10 (×100)"]), 2)
    assert set(numbers) == {"EASE Distill-CF", "∞-AE Distill-CF"}  # no random users at 10%


def test_report_to_wandb_offline(tmp_path, monkeypatch):
    pytest.importorskip("wandb")
    monkeypatch.setenv("WANDB_SILENT", "true")
    fake_run_dir(tmp_path / "runs" / "a", "full", None, "m", 1, 0.40, 8.0, 1.0)
    fake_run_dir(tmp_path / "runs" / "b", "random_user", 0.1, "m", 1, 0.20, 2.0, 0.1)
    fake_run_dir(tmp_path / "runs" / "c", "distill_cf", 0.1, "m", 1, 0.35, 0.5, 0.1)
    metrics = json.loads((tmp_path / "runs" / "c" / "metrics.json").read_text())
    metrics["support/seconds"] = 15.5  # the distillation
    (tmp_path / "runs" / "c" / "metrics.json").write_text(json.dumps(metrics))
    logger = {"name": "wandb", "project": "infrec", "group": "g", "mode": "offline"}
    out = make_report(tmp_path / "runs", logger=logger)
    assert len(list((out / "wandb").glob("offline-run-*"))) == 1
    record = wandb_run(out)  # read back from the offline run file
    assert (record["name"], record["group"]) == ("report-g", "g")
    assert "report" in record["tags"]
    assert record["config"] == {"kind": "fraction_curve", "runs": str(tmp_path / "runs")}
    # the table holds what fraction_curve.csv holds, row for row, in the same units
    table = wandb_table(record, "fraction_curve")
    csv_rows = csv_records(out / "fraction_curve.csv")
    assert [r["sampler"] for r in table] == ["distill_cf", "full", "random_user"]
    assert same_cells(table, csv_rows)
    assert table[2]["test/hr@10 (×100)"] == pytest.approx(20.0)  # ×100, as the plots
    assert table[2]["test/hr@10 sd (×100)"] == ""  # one seed: no spread, not NaN
    # Distill-CF's three costs side by side: fit 0.5 s, distil 15.5 s, two models... one here
    ours = table[0]
    assert (ours["fit_speedup"], ours["end_to_end_speedup"]) == (16.0, 0.5)
    assert ours["models_sharing"] == 1 and ours["amortised_speedup"] == 0.5
    # the curves: (sampler, % of data) → HR@10 / nDCG@10 ×100 and speed-ups, as in the DVC files
    quality = csv_records(out / "curves" / "toy-m-quality.csv")
    for key, metric in (("quality/toy-m", "HR@10"), ("quality/toy-m-ndcg@10", "nDCG@10")):
        points = {
            (r["lineKey"], r["step"]): r["lineVal"] for r in wandb_table(record, key + "_table")
        }
        expected = {
            (r["sampler"], r["data_pct"]): r["value"] for r in quality if metric in r["metric"]
        }
        assert points == pytest.approx(expected), key
    speed = csv_records(out / "curves" / "toy-m-speedup.csv")
    points = {
        (r["lineKey"], r["step"]): r["lineVal"] for r in wandb_table(record, "speedup/toy-m_table")
    }
    named = {
        (r["sampler"] if r["cost"] == "fit only" else f"{r['sampler']}, {r['cost']}", r["data_pct"])
        for r in speed
    }
    assert set(points) == named
    assert points[("User-RNS", 10.0)] == 4.0  # 8 s of fit against 2 s
    assert points[("Distill-CF", 10.0)] == 16.0
    assert points[("Distill-CF, distil + fit", 10.0)] == 0.5  # 8 s against 15.5 + 0.5 s
    assert points[("Distill-CF, amortised over 1 model", 10.0)] == 0.5
    image = record["summary"]["fraction_curve_png/path"]
    assert (record["files"] / image).read_bytes() == (out / "fraction_curve.png").read_bytes()


def same_cells(rows, csv_rows) -> bool:
    """W&B's table against the CSV's rows: the same columns, numbers equal to the CSV's six
    significant digits, text and blanks equal."""
    assert [list(r) for r in rows] == [list(r) for r in csv_rows]
    for row, written in zip(rows, csv_rows, strict=True):
        for column, value in row.items():
            if isinstance(value, float) and isinstance(written[column], float):
                assert value == pytest.approx(written[column], rel=1e-5), column
            else:
                assert value == written[column], column
    return True


def png_size(path) -> tuple[int, int]:
    """A PNG's width and height in pixels, from its header."""
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")


def study_table(samplers=("random_user", "distill_cf"), budgets=(0.01, 0.1, 1.0), seeds=(1,)):
    """Summarised rows of a fake study: model m, full data and ``samplers`` at ``budgets``."""
    runs = []
    for seed in seeds:
        runs.append(run_row("full", 1.0, 1.0, 0.40, 8.0, seed))
        for sampler in samplers:
            for b in budgets:
                if sampler == "distill_cf" and b == 1.0:
                    continue
                runs.append(run_row(sampler, b, b, 0.4 * b**0.1, 8.0 * b + 0.01, seed, 30.0))
    return summarise(runs)


def run_row(sampler, budget, share, hr, fit, seed, made=0.001):
    return {
        "dataset": "toy",
        "model": "m",
        "sampler": sampler,
        "budget": budget,
        "seed": seed,
        "config": {"seed": seed, "sampler": {"name": sampler, "tau": 10.0}},
        "metrics": {
            "test/hr@10": hr,
            "test/ndcg@10": hr / 2,
            "time/fit_best_s": fit,
            "support/user_share": share,
            "support/interaction_share": share,
            "support/users": 100 * share,
            "support/seconds": made,
        },
    }


def plotted(fig) -> tuple[set[str], list[tuple[object, list[tuple[float, float]]]]]:
    """What a figure draws: the labels of the series it draws (samplers by colour; Distill-CF's
    costs by line style; full data) and each axes' finite data points."""
    from infrec.reports.fraction_curve import SAMPLER_COLOURS, SAMPLER_LABELS

    by_colour = {c: SAMPLER_LABELS[s] for s, c in SAMPLER_COLOURS.items() if s != "full"}
    series, points = set(), []
    for ax in fig.axes:
        if not ax.get_visible():
            continue
        mine = []
        for line in ax.get_lines():
            xs, ys = line.get_xdata(), line.get_ydata()
            if line.get_color() == "black":
                series.add("full data")
                if len(xs) == 1:  # the star; the dashed line spans the axes
                    mine.append((float(xs[0]), float(ys[0])))
                continue
            name = by_colour[line.get_color()]
            style = line.get_linestyle()
            series.add(
                name
                if style == "-"
                else f"{name}, distil + fit"
                if style == "--"
                else f"{name}, amortised over 1 model"
            )
            mine += [(float(x), float(y)) for x, y in zip(xs, ys, strict=True)]
        points.append((ax, mine))
    return series, points


def test_figures_show_both_metrics_on_a_log_axis_holding_every_point(tmp_path):
    from infrec.reports.fraction_curve import figure

    fig, _ = figure(study_table())
    series, points = plotted(fig)
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == [  # the quality panels name the summary the Distill-CF points were fitted on
        "m on toy: test HR@10\nDistill-CF: τ = 10: values",
        "m on toy: test nDCG@10\nDistill-CF: τ = 10: values",
        "m on toy: fit speed-up over full data",
    ]
    assert "toy" in fig._suptitle.get_text()  # the dataset is named
    assert all(ax.get_xscale() == "log" for ax in fig.axes)  # a log axis, not log10 values
    assert fig.axes[2].get_yscale() == "log"
    assert "(×100)" in fig.axes[0].get_ylabel() and "(×100)" in fig.axes[1].get_ylabel()
    for ax, mine in points:
        (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
        assert mine and all(x0 < x < x1 and y0 < y < y1 for x, y in mine), ax.get_title()
    hr = {round(x, 9): y for x, y in points[0][1]}
    assert hr[100.0] == pytest.approx(40.0) and hr[10.0] == pytest.approx(40 * 0.1**0.1)
    # the legend lists exactly what is drawn: two samplers, Distill-CF's other costs, full data
    (legend,) = fig.legends
    assert (
        {t.get_text() for t in legend.get_texts()}
        == series
        == {
            "User-RNS",
            "Distill-CF",
            "Distill-CF, distil + fit",
            "Distill-CF, amortised over 1 model",
            "full data",
        }
    )
    assert fig.get_figwidth() * 100 <= 1600
    from infrec.reports.common import pyplot

    pyplot().close(fig)


def test_a_study_of_full_data_only_draws_its_points(tmp_path):
    """The debug experiment: two models on full data; its figure holds the 100% points."""
    from infrec.reports.fraction_curve import figure, plot_png

    table = study_table(samplers=())
    fig, _ = figure(table)
    series, points = plotted(fig)
    assert series == {"full data"}
    for ax, mine in points:
        (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
        assert [x for x, _ in mine] == [100.0] and x0 < 100 < x1
        assert all(y0 < y < y1 for _, y in mine)
    assert "full data only" in fig._suptitle.get_text()
    plot_png(tmp_path / "f.png", table)
    assert png_size(tmp_path / "f.png") == (1500, 450)


def test_one_seed_leaves_spreads_blank_and_two_give_them(tmp_path):
    from infrec.reports import every_model
    from infrec.reports.common import write_csv
    from infrec.reports.fraction_curve import COLUMNS, export

    one = study_table()
    write_csv(tmp_path / "one.csv", export(one), COLUMNS)
    text = (tmp_path / "one.csv").read_text()
    assert "nan" not in text.lower()
    assert {r["test/ndcg@10 sd (×100)"] for r in csv_records(tmp_path / "one.csv")} == {""}
    rows = [line for line in every_model.markdown(one).splitlines() if line.startswith("| m |")]
    assert len(rows) == 3 and not any("±" in line or "nan" in line for line in rows)
    two = study_table(seeds=(1, 2))
    assert all(math.isfinite(r["test/hr@10_sd"]) for r in two)
    assert "40.00 ± 0.00" in every_model.markdown(two)


def test_seeds_draw_their_spread_as_error_bars_and_one_seed_draws_none():
    from matplotlib.collections import LineCollection

    from infrec.reports.common import pyplot
    from infrec.reports.fraction_curve import figure

    def bars(fig) -> list[float]:
        """The lengths of the error bars in the nDCG@10 panel."""
        return [
            float(abs(seg[1][1] - seg[0][1]))
            for c in fig.axes[1].collections
            if isinstance(c, LineCollection)
            for seg in c.get_segments()
        ]

    fig, _ = figure(study_table())
    assert bars(fig) == []
    pyplot().close(fig)
    runs = []  # two seeds whose nDCG@10 differ by 0.02 at 10% of the users: sd ×100 1.414
    for seed, hr in ((1, 0.30), (2, 0.34)):
        runs.append(run_row("full", 1.0, 1.0, 0.40, 8.0, seed))
        runs.append(run_row("random_user", 0.1, 0.1, hr, 1.0, seed))
    fig, _ = figure(summarise(runs))
    assert bars(fig) == pytest.approx([2 * 100 * 0.02 / 2**0.5])  # ± one sd
    pyplot().close(fig)


def test_full_data_is_1x_against_the_median_full_data_fit():
    """Every sampler meets full data at 100%: the same fit, timed several times. Each is 1×; the
    others are against the median of those timings, not the first job's (which may have paid
    for starting JAX)."""
    runs = [run_row("full", 1.0, 1.0, 0.40, 8.0, 1)]
    runs += [run_row(s, 1.0, 1.0, 0.40, fit, 1) for s, fit in (("a", 2.0), ("b", 3.0))]
    runs += [run_row("a", 0.1, 0.1, 0.2, 0.3, 1)]
    table = {(r["sampler"], r["budget"]): r for r in summarise(runs)}
    assert {k: r["speedup"] for k, r in table.items() if k[1] == 1.0} == {
        ("full", 1.0): 1.0,
        ("a", 1.0): 1.0,
        ("b", 1.0): 1.0,
    }
    assert table[("a", 0.1)]["speedup"] == pytest.approx(3.0 / 0.3)


def test_costs_of_a_summary_fit_end_to_end_and_amortised():
    """Two models fit on one Distill-CF summary that took 30 s to distil."""
    runs = []
    for model, fit in (("m", 8.0), ("n", 4.0)):
        full = run_row("full", 1.0, 1.0, 0.4, fit, 1)
        ours = run_row("distill_cf", 0.1, 0.1, 0.38, fit / 100, 1, made=30.0)
        runs += [{**full, "model": model}, {**ours, "model": model}]
    table = {(r["model"], r["sampler"]): r for r in summarise(runs)}
    ours = table[("m", "distill_cf")]
    assert (ours["support_s"], ours["fit_s"], ours["sharing"]) == (30.0, 0.08, 2.0)
    assert ours["speedup"] == pytest.approx(100.0)
    assert ours["end_to_end_s"] == pytest.approx(30.08)
    assert ours["end_to_end_speedup"] == pytest.approx(8.0 / 30.08)
    assert ours["amortised_s"] == pytest.approx(15.08)
    assert ours["amortised_speedup"] == pytest.approx(8.0 / 15.08)
    assert table[("m", "full")]["end_to_end_speedup"] == 1.0


def test_each_summary_is_labelled_and_amortised_over_its_own_models(tmp_path):
    """Two summaries of one size (τ = 10 for two models, τ = 1 fed weighted to a third): each
    row says which it used, each summary's seconds are shared only by its own models, and a
    table written before the labels existed reads them as blank."""
    from infrec.reports import every_model, fraction_curve
    from infrec.reports.common import write_csv
    from infrec.reports.fraction_curve import COLUMNS, OPTIONAL_TEXT, export, read_table
    from infrec.samplers import distill_cf

    runs = []
    for model, tau, weighted in (("m", 10.0, False), ("n", 10.0, False), ("k", 1.0, True)):
        row = run_row("distill_cf", 0.1, 0.1, 0.3, 1.0, 1, made=60.0)
        config = {"sampler": {"name": "distill_cf", "tau": tau}, "model": {"name": model}}
        config["model"]["support_weights"] = weighted
        runs.append({**row, "model": model, "config": config})
    runs.append(
        {
            **run_row("distill_cf", 0.1, 0.1, 0.3, 1.0, 1),
            "model": "x",
            "config": {
                "sampler": {"name": "distill_cf", "tau": 10, "inner": "ease", "export": "<b>|"},
            },
        }
    )
    table = {r["model"]: r for r in summarise(runs)}
    assert fraction_curve.EXPORTS == distill_cf.EXPORTS  # every export the sampler has is named
    assert [(table[m]["summary"], table[m]["fed_as"]) for m in "mnkx"] == [
        ("τ = 10", "values"),
        ("τ = 10", "values"),
        ("τ = 1", "values, weighted"),
        ("τ = 10, inner EASE", "?"),  # a value the report does not know is not printed
    ]
    assert [table[m]["sharing"] for m in "mnkx"] == [2.0, 2.0, 1.0, 1.0]
    assert table["m"]["amortised_s"] == pytest.approx(31.0) and table["k"]["amortised_s"] == 61.0
    text = every_model.markdown(list(table.values()))
    assert "| k | 10 | 1 / — | τ = 1: values, weighted |" in text
    write_csv(tmp_path / "new.csv", export(list(table.values())), COLUMNS)
    assert {r["summary"] for r in read_table(tmp_path / "new.csv")} == {
        "τ = 10",
        "τ = 1",
        "τ = 10, inner EASE",
    }
    old = [c for c in COLUMNS if c not in OPTIONAL_TEXT]
    write_csv(tmp_path / "old.csv", export(list(table.values())), old)
    assert {(r["summary"], r["fed_as"]) for r in read_table(tmp_path / "old.csv")} == {("", "")}


def test_a_legacy_table_reads_in_the_new_units(tmp_path):
    """The published every-model table, written before units were in the column names, reads
    as fractions and extends a new one; written again, it is ×100 with blank spreads."""
    from infrec.reports.common import write_csv
    from infrec.reports.fraction_curve import COLUMNS, LEGACY_COLUMNS, export, read_table

    legacy = {c: 0.5 for c in LEGACY_COLUMNS}
    legacy.update(dataset="toy", model="m", setting="", sampler="random_user", budget=50.0)
    legacy.update({"seeds": 1, "test/hr@10": 0.25, "test/hr@10_sd": math.nan, "sample_s": 0.1})
    write_csv(tmp_path / "old.csv", [legacy], LEGACY_COLUMNS)
    (row,) = read_table(tmp_path / "old.csv")
    assert (row["test/hr@10"], row["support_s"], row["speedup"]) == (0.25, 0.1, 0.5)
    write_csv(tmp_path / "new.csv", export([row]), COLUMNS)
    (again,) = csv_records(tmp_path / "new.csv")
    assert again["test/hr@10 (×100)"] == 25.0 and again["test/hr@10 sd (×100)"] == ""
    (back,) = read_table(tmp_path / "new.csv")
    assert back["test/hr@10"] == pytest.approx(0.25) and math.isnan(back["test/hr@10_sd"])


class _Fitted:
    fit_seconds = 0.0


def _compiling(seconds: float):
    """A fresh jitted function whose tracing takes ``seconds`` (compiled on its first call)."""
    import time

    import jax

    @jax.jit
    def double(x):
        time.sleep(seconds)  # runs while JAX traces, never when the compiled code runs
        return 2 * x

    return double


def test_fit_seconds_leave_out_compilation():
    """The first fit of a new shape pays JAX's compilation; its fit seconds do not show it —
    neither the candidate's own nor, on a λ grid, the shared first phase each later candidate's
    clock counts (speed-ups would otherwise measure which job ran first)."""
    import time

    import numpy as np

    from infrec.selection import select

    def candidates():
        start = time.perf_counter()
        _compiling(0.3)(np.ones(3)).block_until_ready()  # the shared phase, compiled now
        time.sleep(0.05)  # its real work
        shared = time.perf_counter() - start
        for lam in (1.0, 2.0):
            t0 = time.perf_counter()
            time.sleep(0.02)  # this λ's solve
            fitted = _Fitted()
            fitted.fit_seconds = shared + time.perf_counter() - t0
            yield {"lambda": lam}, fitted

    chosen = select(candidates(), lambda f: {"m": 1.0}, "m")
    assert chosen.compile_seconds >= 0.3
    for entry in chosen.grid:  # 0.05 s shared + 0.02 s own, the 0.3 s of tracing set apart
        assert 0.06 <= entry["fit_seconds"] < 0.2, entry
    assert 0.09 <= chosen.fit_seconds < 0.3  # producing both, compilation aside


def test_a_trained_model_loses_its_epochs_compilation_not_its_set_up_or_validation():
    """A trained model times its epochs only: the compilation of its first epoch comes off;
    that of its set-up before the epochs and of the validation passes between them (its
    early-stopping monitor), which its clock never counted, does not."""
    import time

    import numpy as np

    from infrec.selection import Validation, select

    compile_in_validation = _compiling(0.3)

    def evaluate(fitted):
        compile_in_validation(np.ones(4))
        return {"m": 1.0}

    validation = Validation(evaluate)

    def candidates():
        _compiling(0.2)(np.ones(5)).block_until_ready()  # set-up (initial parameters)
        epoch = _compiling(0.3)
        trained = 0.0
        fitted = _Fitted()
        for _ in range(2):
            t0 = time.perf_counter()
            epoch(np.ones(6)).block_until_ready()  # compiled on the first epoch
            time.sleep(0.05)  # the epoch's work
            trained += time.perf_counter() - t0
            validation(_Fitted())  # the monitor
        fitted.fit_seconds = trained
        yield {}, fitted

    chosen = select(candidates(), validation, "m")
    assert chosen.fitted.fit_seconds == pytest.approx(0.1, abs=0.05)
    assert chosen.compile_seconds >= 0.5  # set-up and first epoch; not the validation's
    assert chosen.validate_seconds >= 0.3
