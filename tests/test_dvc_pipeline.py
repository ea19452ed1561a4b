"""The DVC pipeline: valid, each stage depending on exactly the code and params it uses, and
`dvc exp run -S` working on every params file the README documents."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from infrec.paths import config_dir, project_root
from tests.helpers import code_closure

ROOT = project_root()
PIPELINE = yaml.safe_load((ROOT / "dvc.yaml").read_text()) if (ROOT / "dvc.yaml").is_file() else {}
DOCUMENTED_PARAMS = [
    "config.yaml",
    "prepare/paper.yaml",
    "study/fraction_curve.yaml",
    *(f"model/{p.name}" for p in sorted((config_dir() / "model").glob("*.yaml"))),
    *(f"sampler/{p.name}" for p in sorted((config_dir() / "sampler").glob("*.yaml"))),
]
"""Params files a user may set with `dvc exp run -S conf/<file>:<key>=<value>` (README, DVC)."""


STUDY_MODELS = ("infinite_ae", "ease")
"""The models experiment=fraction_curve sweeps (conf/experiment/fraction_curve.yaml)."""


def stages() -> dict[str, dict]:
    """Stages with foreach expanded: name → {cmd, deps, params}."""
    study = yaml.safe_load((config_dir() / "study" / "fraction_curve.yaml").read_text())
    out = {}
    for name, stage in PIPELINE["stages"].items():
        if "foreach" not in stage:
            out[name] = stage
            continue
        items = (
            study["distill_budgets"]
            if stage["foreach"] == "${distill_budgets}"
            else stage["foreach"]
        )
        for item in items:
            text = yaml.safe_dump(stage["do"]).replace("${item}", str(item))
            out[f"{name}@{item}"] = yaml.safe_load(text)
    return out


def stage_code(stage: dict) -> set[str]:
    """The source files a stage's deps cover (folders expanded to their .py files)."""
    files = set()
    for dep in stage["deps"]:
        path = ROOT / dep
        if dep.startswith("src/") and path.is_dir():
            files |= {str(p.relative_to(ROOT)) for p in path.rglob("*.py")}
        elif dep.startswith("src/"):
            files.add(dep)
    return files


def entry_modules(name: str, stage: dict) -> set[str]:
    """What a stage runs: its app, and for fits the study's models and the stage's sampler."""
    cmd = stage["cmd"]
    app = {
        "infrec-fetch": "fetch",
        "infrec-train": "train",
        "infrec-distill": "distill",
        "infrec-report": "report",
    }
    roots = {f"infrec.apps.{app[cmd.split()[0]]}"}
    if cmd.startswith("infrec-train"):
        sampler = next(w.split("=")[1] for w in cmd.split() if w.startswith("sampler="))
        roots |= {f"infrec.models.{m}" for m in STUDY_MODELS} | {f"infrec.samplers.{sampler}"}
    if cmd.startswith("infrec-distill"):
        roots.add("infrec.samplers.distill_cf")
    return roots


pytestmark = pytest.mark.skipif(not PIPELINE, reason="dvc.yaml is not in this checkout")


@pytest.mark.parametrize("name", list(stages()) if PIPELINE else [])
def test_stage_depends_on_exactly_the_code_it_runs(name):
    stage = stages()[name]
    expected = code_closure(*entry_modules(name, stage))
    listed = stage_code(stage)
    assert listed - expected == set(), f"{name}: needless deps (edits there rerun it for nothing)"
    assert expected - listed == set(), f"{name}: code it runs but does not depend on"


def test_a_baseline_edit_reruns_no_stage():
    touched = {f"src/infrec/models/{m}.py" for m in ("mf", "neumf", "mvae", "lightgcn", "poprec")}
    touched |= {"src/infrec/models/training.py", "src/infrec/models/negatives.py"}
    for name, stage in stages().items():
        assert not touched & stage_code(stage), f"{name} would rerun after a baseline edit"


def params_entries(stage: dict) -> list[tuple[str, str | None]]:
    """A stage's ``params:`` as (file, key) pairs; key None names the whole file. A bare key
    names DVC's default file, ``params.yaml``."""
    out: list[tuple[str, str | None]] = []
    for entry in stage.get("params") or []:
        if isinstance(entry, str):
            out.append(("params.yaml", entry))
            continue
        for file, keys in entry.items():
            out.extend([(file, None)] if keys is None else [(file, str(k)) for k in keys])
    return out


def missing_params(named: dict[str, dict], root) -> list[str]:
    """``stage: file:key`` for every params entry whose file or key does not exist. Keys are
    dotted paths into the file's plain YAML, as DVC reads it (no Hydra composition)."""
    missing = []
    for name, stage in named.items():
        for file, key in params_entries(stage):
            path = root / file
            if not path.is_file():
                missing.append(f"{name}: {file} (no such file)")
                continue
            node = yaml.safe_load(path.read_text())
            if key is None:
                if not isinstance(node, dict) or not node:
                    missing.append(f"{name}: {file} (not a mapping of params)")
                continue
            for part in key.split("."):
                if not isinstance(node, dict) or part not in node:
                    missing.append(f"{name}: {file}:{key}")
                    break
                node = node[part]
    return missing


def test_every_param_key_the_stages_name_exists():
    """DVC treats a key missing from its file as a deleted param, not an error: a renamed key
    would silently stop triggering reruns (README: each stage depends on the keys it reads)."""
    named = stages()
    assert sum(len(params_entries(s)) for s in named.values()) > 20
    assert missing_params(named, ROOT) == []


def test_a_missing_param_key_or_file_is_reported():
    fake = {
        "s": {
            "params": [
                {"conf/config.yaml": ["seed", "eval.ks", "eval.nope", "selection.metric.x"]},
                {"conf/model/nope.yaml": None},
                "seed",
            ]
        }
    }
    assert missing_params(fake, ROOT) == [
        "s: conf/config.yaml:eval.nope",
        "s: conf/config.yaml:selection.metric.x",
        "s: conf/model/nope.yaml (no such file)",
        "s: params.yaml (no such file)",
    ]


@pytest.mark.parametrize("name", DOCUMENTED_PARAMS)
def test_documented_params_files_hold_plain_values(name):
    text = (config_dir() / name).read_text()
    assert "${" not in text, f"conf/{name}: DVC cannot set keys of a file with interpolations"


def test_dvc_pipeline_is_valid():
    done = subprocess.run(
        [sys.executable, "-m", "dvc", "stage", "list"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    names = [line.split()[0] for line in done.stdout.splitlines() if line.strip()]
    assert names == list(stages())


@pytest.mark.parametrize(
    "assignment", ["conf/sampler/distill_cf.yaml:tau=5", "conf/config.yaml:seed=1"]
)
def test_dvc_exp_run_sets_params(assignment, tmp_path):
    """``dvc exp run -S`` applies the value (a dry run of the first stage, in a copy)."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs git and a git checkout")
    files = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    for f in files:
        if (ROOT / f).is_file():
            (tmp_path / f).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / f, tmp_path / f)
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@t",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@t",
    }
    for cmd in (["git", "init", "-q"], ["git", "add", "-A"], ["git", "commit", "-qm", "copy"]):
        subprocess.run(cmd, cwd=tmp_path, check=True, env=env, capture_output=True)
    done = subprocess.run(
        [sys.executable, "-m", "dvc", "exp", "run", "--dry", "-S", assignment, "prepare"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env=env,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "Running stage 'prepare'" in done.stdout


def plot_files() -> list[tuple[str, dict]]:
    """The data files dvc.yaml's ``plots:`` read, with their definitions (images: ``{}``)."""
    out = []
    for entry in PIPELINE.get("plots") or []:
        if isinstance(entry, str):
            out.append((entry, {}))
            continue
        ((_, spec),) = entry.items()
        out += [(file, spec) for file in spec["y"]]
    return out


def test_the_data_files_are_dependencies_not_params():
    """A dataset's config holds its files' checksums: the stage that fetches them depends on the
    file, and no stage lists its keys as params (a column of checksums in `dvc exp show`)."""
    prepare = PIPELINE["stages"]["prepare"]
    assert "conf/dataset/ml-100k.yaml" in prepare["deps"]
    for name, stage in stages().items():
        assert not [f for f, _ in params_entries(stage) if f.startswith("conf/dataset/")], name


def test_the_plots_read_files_a_fresh_clone_has():
    """`dvc plots show` on a fresh clone draws real curves: every file the plots read is in git
    (the report stage's figure and curve files are committed with dvc.lock, as its metrics)."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs git and a git checkout")
    tracked = set(
        subprocess.run(
            ["git", "ls-files", "outputs"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.split()
    )
    files = [f for f, _ in plot_files()]
    assert len(files) >= 2 + 2 * 2 + 2 * 6  # the figures; quality and speed-up per model
    assert [f for f in files if f not in tracked] == []


def test_the_plot_templates_draw_a_log_axis_and_legends_of_what_is_drawn(tmp_path):
    """The templates, filled by DVC's renderer with a study's curve files: log x (and log
    speed-ups), colours taken from the data so the legend lists only the samplers drawn, the
    costs' dashes in their order (fit only first), a title and axis labels from dvc.yaml."""
    import json

    from dvc_render.vega import VegaRenderer

    from infrec.reports.fraction_curve import curve_rows, speed_rows
    from tests.test_report import study_table

    rows = study_table()
    for kind, data, y in (
        ("quality", curve_rows(rows), "value"),
        ("speedup", speed_rows(rows), "speedup"),
    ):
        template = f"{kind}_vs_data"
        spec_file = ROOT / ".dvc" / "plots" / f"{template}.json"
        points = [{k: str(v) for k, v in p.items()} for p in data]  # DVC reads CSV as text
        renderer = VegaRenderer(
            points,
            template,
            template=template,
            template_dir=str(spec_file.parent),
            x="data_pct",
            y=y,
            title="m on toy",
            x_label="% of data kept, log scale",
            y_label="y (×100)",
        )
        spec = renderer.get_filled_template()
        text = json.dumps(spec, ensure_ascii=False)
        assert "<DVC_METRIC" not in text and "m on toy" in text
        views = spec.get("hconcat", [spec])  # quality: HR@10 and nDCG@10 side by side
        for view in views:
            lines = view["layer"][0]["encoding"]
            assert lines["x"]["scale"]["type"] == "log"
            assert lines["x"]["title"].endswith("log scale")
            colour = lines["color"]["scale"]
            assert "domain" not in colour and colour["range"] == {"field": "colour"}
        assert {p["sampler"] for p in data} - {"full data"} == {"User-RNS", "Distill-CF"}
        if kind == "speedup":
            assert lines["y"]["scale"]["type"] == "log"
            assert lines["strokeDash"]["sort"] == {"field": "order", "op": "min"}
            assert {p["cost"]: p["order"] for p in data} == {
                "fit only": 0,
                "distil + fit": 1,
                "amortised over 1 model": 2,
            }
        else:  # a view per metric the curve file holds, titled by it
            shown = {v["transform"][0]["filter"].split("== ")[1].strip("'") for v in views}
            assert (
                shown
                == {p["metric"] for p in data}
                == {
                    "test HR@10 (×100)",
                    "test nDCG@10 (×100)",
                }
            )
            assert {v["layer"][0]["encoding"]["y"]["title"] for v in views} == shown


def dvc(*args: str, columns: int = 120, pager: Path | None = None) -> list[str]:
    """The lines ``dvc <args>`` shows in a terminal ``columns`` wide (a pseudo-terminal; with
    ``pager``, what DVC hands its pager, ``less -S``, which shows each line's first columns)."""
    import fcntl
    import pty
    import struct
    import termios
    import threading

    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
    env = {**os.environ, "COLUMNS": str(columns), "LINES": "50"}
    if pager is not None:
        env["DVC_PAGER"] = f"cat > {pager}"
    chunks: list[bytes] = []

    def read() -> None:  # as it comes: a full terminal buffer would stop DVC
        while True:
            try:
                chunk = os.read(leader, 1 << 16)
            except OSError:
                return
            if not chunk:
                return
            chunks.append(chunk)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    done = subprocess.run(
        [sys.executable, "-m", "dvc", *args],
        cwd=ROOT,
        stdin=follower,
        stdout=follower,
        stderr=subprocess.PIPE,
        timeout=300,
        env=env,
        check=False,
    )
    os.close(follower)
    reader.join(timeout=10)
    os.close(leader)
    shown = b"".join(chunks)
    assert done.returncode == 0, done.stderr[-2000:]
    text = pager.read_text() if pager is not None else shown.decode()
    return [re.sub(r"\x1b\[[0-9;]*m", "", line).rstrip() for line in text.splitlines()]


def test_dvc_metrics_show_fits_120_columns():
    """One row, short names, no timings: the headline HR@10 ×100 per model and sampler."""
    lines = [line for line in dvc("metrics", "show") if line.strip()]
    assert lines and max(len(line) for line in lines) <= 120, lines
    header = lines[0].split()
    assert header[0] == "Path" and "Distill-CF" in header and "User-RNS" in header
    assert not any("000" in column for column in header)  # no zero-padded budget columns


def test_dvc_exp_show_reads_in_120_columns(tmp_path):
    """`dvc exp show` with its default arguments pages a table whose first 120 columns hold the
    experiment, its date and every headline metric under its own short name."""
    pager = tmp_path / "paged.txt"
    lines = [line for line in dvc("exp", "show", pager=pager) if line.strip(" ─")]
    header = lines[0][:120]
    metrics = sorted((ROOT / "outputs/study/report/metrics").glob("*.json"))
    assert len(metrics) == 1
    names = list(json.loads(metrics[0].read_text()))
    assert "Experiment" in header and "Created" in header
    assert all(name in header for name in names), header
    workspace = next(line for line in lines if line.lstrip().startswith("workspace"))
    assert len(workspace[:120].split()) >= 2 + len(names)  # the numbers under them
