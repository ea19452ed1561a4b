"""A typo on the command line is one line naming the bad key or value, the valid ones and the
closest (checked before Hydra composes: ``infrec.cli``)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from infrec.cli import check_overrides
from infrec.config import register
from infrec.errors import USER_ERROR_EXIT, InfrecError
from infrec.track import format_metrics, heading


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["+foo=1"], r"\+foo=1: no key 'foo' in the config \(infrec reads only the keys"),
        (["foo=1"], "foo=1: no key 'foo' in the config; its keys: dataset, dtype, eval"),
        (
            ["model.lambda=5"],
            r"no key 'lambda' in model \(model=infinite_ae\).*lambdas.*"
            r"\(did you mean lambdas\?\)",
        ),
        (
            ["model=ease", "model.lambdas=[1]", "model.depth=2"],
            r"model.depth=2: no key 'depth' in "
            r"model \(model=ease\)",
        ),
        (
            ["model=easee"],
            r"model=easee: no such model; choose one of ease, infinite_ae, .*"
            r"\(did you mean ease\?\)",
        ),
        (["-m", "model=ease,mff"], r"model=mff: no such model.*\(did you mean mf\?\)"),
        (["dataset=ml1m"], r"no such dataset; choose one of .*\(did you mean ml-1m\?\)"),
        (["+seed=3"], r"\+seed=3: seed exists already; set it without '\+'"),
        (
            ["sampler=random_user", "sampler.budgett=5"],
            r"no key 'budgett' in sampler "
            r"\(sampler=random_user\).*\(did you mean budget\?\)",
        ),
    ],
)
def test_a_typo_is_one_line_with_the_choices(argv, message):
    register()
    with pytest.raises(InfrecError, match=message) as caught:
        check_overrides(argv, "config")
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    "argv",
    [
        ["model=ease", "model.lambdas=[1,2]"],
        ["-m", "experiment=fraction_curve", "study.budgets='5,10'"],
        ["+experiment=debug"],
        ["hydra.run.dir=/tmp/x", "hydra/launcher=joblib"],
        ["~logger", "seed=3", "sampler=distill_cf", "sampler.budget=50"],
        ["--cfg", "job", "eval.ks=[10]"],
    ],
)
def test_valid_overrides_pass(argv):
    register()
    check_overrides(argv, "config")


def test_the_cli_refuses_before_hydra_with_the_user_error_status(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "infrec.apps.train", "model=easee"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert done.returncode == USER_ERROR_EXIT
    assert done.stderr.strip().splitlines() == [
        "error: model=easee: no such model; choose one of ease, infinite_ae, lightgcn, mf, mvae, "
        "neumf, poprec (did you mean ease?)"
    ]
    assert not list(tmp_path.iterdir())  # no run dir made


@pytest.mark.parametrize(
    ("app", "tool"), [("train", "infrec-train"), ("distill", "infrec-distill")]
)
def test_help_says_what_the_tool_does_with_five_examples(app, tool):
    done = subprocess.run(
        [sys.executable, "-m", f"infrec.apps.{app}", "--help"], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    first = done.stdout.splitlines()[0]
    assert first.startswith(f"{tool}: ") and "powered by Hydra" not in done.stdout
    examples = [ln for ln in done.stdout.splitlines() if ln.startswith(f"  {tool}")]
    assert len(examples) == 5


def test_the_console_table_has_one_format_per_unit():
    metrics = {
        "val/hr@10": 0.279,
        "test/hr@10": 0.3428,
        "val/auc": 0.93,
        "test/auc": 0.934,
        "hp/lambda": 1.0,
        "time/fit_s": 4.744,
        "time/total_s": 7.7,
    }
    lines = format_metrics(metrics, [10]).splitlines()
    assert lines[0].split() == ["metric", "(×100)", "val", "test"]
    assert lines[1].split() == ["hr@10", "27.90", "34.28"]
    assert "chosen on validation: lambda=1" in lines
    assert "seconds: fit (every setting) 4.74, total 7.70" in lines
    assert heading("ease", "random_user", 0.1, "ml-100k") == (
        "ease on ml-100k, sampler random_user (10% of users)"
    )
    assert (
        heading("ease", "distill_cf", 500, "ml-1m")
        == "ease on ml-1m, sampler distill_cf (500 users)"
    )
    assert heading("ease", "full", None, "ml-1m") == "ease on ml-1m, sampler full"


def test_a_key_whose_value_is_still_missing_can_be_set():
    register()
    check_overrides(["dataset=custom", "dataset.path=/data/r.csv"], "config")


def test_an_unwritable_run_dir_is_one_line_before_hydra_makes_it(tmp_path):
    (tmp_path / "f").write_text("a file where a folder should be")
    done = subprocess.run(
        [sys.executable, "-m", "infrec.apps.train", f"hydra.run.dir={tmp_path / 'f' / 'run'}"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == USER_ERROR_EXIT and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == [
        f"error: {tmp_path / 'f' / 'run'}: hydra.run.dir is not writable ({tmp_path / 'f'}: not "
        "a folder); point it at a folder you can write"
    ]


def test_other_config_dirs_are_left_to_hydra():
    register()
    check_overrides(["-cd", "/somewhere/else", "dataset=mine"], "config")
