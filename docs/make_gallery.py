"""Regenerate ``docs/gallery.md``: what users and reviewers see of infrec, from real runs.

    python docs/make_gallery.py            # ~3 min: the committed DVC outputs of a fresh clone
    python docs/make_gallery.py --repro    # + `dvc repro` in the fresh clone first (~8 min)
    python docs/make_gallery.py --paper ../shared/datasets/ml-1m-paper   # default when present

Everything runs in a fresh clone of this repository's HEAD (commit first: uncommitted changes
are not in it) under a temporary folder, with this interpreter's environment and the clone's
``src`` first on ``PYTHONPATH``: the console of the main job (the paper's ML-1M job when the
paper's split is at hand, else ML-100K), ``--help`` and the errors four typos get, the debug
study's figure and its W&B record (offline, read back from the run file), ``dvc plots show``
rendered by headless Chromium, ``dvc metrics show`` and ``dvc exp show`` in a 120-column terminal.
The page's commentary says what a reviewer reads from each; figures go to ``docs/figures/gallery``.

No internet is needed except the npm registry: ``dvc plots show`` writes an HTML page that loads
Vega from a CDN, so the script fetches the same Vega versions with ``npm pack`` and points the page
at them before Chromium renders it (the page is otherwise DVC's, unchanged).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "gallery.md"
FIGURES = ROOT / "docs" / "figures" / "gallery"
PAPER = ROOT.parent / "shared" / "datasets" / "ml-1m-paper"
CDN = re.compile(r"https://cdn\.jsdelivr\.net/npm/([a-z-]+)@([0-9.]+)")
WIDTH = 120  # the terminal the DVC tables must fit


@dataclass
class Shot:
    """One command as a user runs it: what it printed, its exit status and wall time."""

    command: str
    output: str
    status: int
    seconds: float


class Clone:
    """A fresh clone of HEAD where every command of the gallery runs."""

    def __init__(self, where: Path) -> None:
        self.dir = where / "infrec"
        subprocess.run(["git", "clone", "--quiet", str(ROOT), str(self.dir)], check=True)
        self.env = {
            **os.environ,
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
            "PYTHONPATH": str(self.dir / "src"),
            "WANDB_MODE": "offline",
            "WANDB_DIR": str(where / "wandb"),
            "WANDB_SILENT": "true",
            "COLUMNS": str(WIDTH),
            "TERM": "dumb",
        }
        (where / "wandb").mkdir()
        if (ROOT / "data").is_dir():  # raw data already fetched: no second download
            shutil.copytree(ROOT / "data", self.dir / "data")

    def run(self, command: str, timeout: float = 1800) -> Shot:
        """Run ``command`` in the clone's root as a shell would, capturing what it prints."""
        print(f"$ {command}", flush=True)
        start = time.perf_counter()
        done = subprocess.run(
            command,
            shell=True,
            cwd=self.dir,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )
        seconds = time.perf_counter() - start
        output = (done.stdout + done.stderr).replace(str(self.dir), "<clone>")
        return Shot(command, output.rstrip(), done.returncode, seconds)


def block(shot: Shot, head: int | None = None) -> str:
    """A shot as a markdown console block (``head``: only its first lines)."""
    lines = shot.output.splitlines()
    if head is not None and len(lines) > head:
        lines = [*lines[:head], f"… ({len(lines) - head} more lines)"]
    body = "\n".join(lines)
    return (
        f"```console\n$ {shot.command}\n{body}\n```\n\n"
        f"*exit status {shot.status}, {shot.seconds:.1f} s wall.*\n"
    )


def vega_files(cache: Path, page: str) -> dict[str, str]:
    """CDN address → local file of the Vega libraries ``page`` loads, fetched with npm pack."""
    cache.mkdir(parents=True, exist_ok=True)
    local = {}
    for name, version in sorted(set(CDN.findall(page))):
        package = cache / f"{name}-{version}"
        if not package.is_dir():
            subprocess.run(
                ["npm", "pack", "--silent", f"{name}@{version}"],
                cwd=cache,
                check=True,
                capture_output=True,
            )
            with tarfile.open(cache / f"{name}-{version}.tgz") as archive:
                archive.extractall(package, filter="data")
        meta = json.loads((package / "package" / "package.json").read_text())
        script = meta.get("jsdelivr") or meta.get("unpkg") or meta["main"]
        local[f"https://cdn.jsdelivr.net/npm/{name}@{version}"] = (
            package / "package" / script
        ).as_uri()
    return local


def screenshot(html: Path, out: Path, cache: Path, height: int) -> None:
    """Headless Chromium's picture of a ``dvc plots show`` page (Vega from the npm registry)."""
    page = html.read_text()
    for address, path in vega_files(cache, page).items():
        page = page.replace(f'"{address}"', f'"{path}"')
    local = html.with_name("index-local.html")
    local.write_text(page)
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        raise SystemExit("make_gallery: needs chromium on PATH (apt install chromium)")
    subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--allow-file-access-from-files",
            "--virtual-time-budget=20000",
            f"--window-size=1400,{height}",
            f"--screenshot={out}",
            local.as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )


def wandb_records(wandb_dir: Path) -> list[dict]:
    """Every offline W&B run under ``wandb_dir`` as a reviewer reads it (name, tags, summary),
    read back from its run file (``tests/helpers.py``: W&B's record format, no server)."""
    sys.path.insert(0, str(ROOT))
    from tests.helpers import wandb_run

    records = []
    for offline in sorted(wandb_dir.glob("wandb/offline-run-*")):
        scratch = Path(tempfile.mkdtemp())
        shutil.copytree(offline, scratch / "wandb" / offline.name)
        records.append(wandb_run(scratch))
    return records


def gemm_rate() -> float:
    """This machine's float32 GEMM rate now (GFLOP/s, the best of three 4096³ products): what
    every time in the gallery should be read against."""
    import numpy as np

    a = np.random.default_rng(0).random((4096, 4096), dtype=np.float32)
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        a @ a
        best = min(best, time.perf_counter() - start)
    return 2 * 4096**3 / best / 1e9


def newest(folder: Path, pattern: str) -> Path:
    """The most recently written path under ``folder`` matching ``pattern``."""
    found = sorted(folder.glob(pattern), key=lambda p: p.stat().st_mtime)
    if not found:
        raise SystemExit(f"make_gallery: nothing matches {folder}/{pattern}")
    return found[-1]


def console_section(clone: Clone, paper: Path | None) -> str:
    """The main job's console and `--help`."""
    if paper is not None:
        job = clone.run(f"infrec-train dataset=ml-1m-paper dataset.path={paper} logger=none")
        what = "the paper's ML-1M job (∞-AE, depth 1, the authors' λ grid, their split)"
    else:
        job = clone.run("infrec-train logger=none")
        what = "∞-AE on ML-100K (the paper's split is not at hand: `--paper PATH` for ML-1M)"
    helptext = clone.run("infrec-train --help")
    return (
        "## The console\n\n"
        f"### The main job: {what}\n\n"
        + block(job)
        + "\nWhat a reviewer reads: one heading naming dataset, model, sampler and budget; the "
        "memory plan before the heavy work; one line per λ of the grid with its validation "
        "HR@100 and seconds; then one table with every metric ×100 (validation and test side by "
        "side, one format), the λ chosen on validation, the seconds per phase and the run "
        "folder, whose name says model, sampler and budget.\n\n"
        "### `--help`\n\n"
        + block(helptext, head=24)
        + "\nWhat infrec does, five examples, then the configuration groups and their choices "
        "(Hydra's own listing, cut here).\n\n"
    )


TYPOS = (
    ("model=easee", "a misspelt choice: the valid choices and the nearest one"),
    ("+foo=1", "an unknown key added with `+`: refused, with the config's top-level keys"),
    ("model.lambda=5", "a wrong key inside a group: the group's keys and the nearest one"),
    (
        "dataset=ml-1m-paper",
        "missing dataset files: which files, and where to put them",
    ),
)


def errors_section(clone: Clone) -> str:
    """The one-line errors typos get."""
    parts = ["## Errors a typo gets\n\nEach is one line on stderr and exit status 2.\n\n"]
    for override, what in TYPOS:
        parts.append(f"- {what}:\n\n" + block(clone.run(f"infrec-train {override}")) + "\n")
    return "".join(parts)


def debug_section(clone: Clone, where: Path) -> str:
    """The debug study (two jobs and a report) with W&B on, its figure and a run's record."""
    study = clone.run("infrec-train -m experiment=debug logger=wandb")
    if study.status != 0:
        raise SystemExit(f"make_gallery: the debug study failed:\n{study.output}")
    folder = newest(clone.dir / "outputs" / "studies" / "debug", "*/*/report")
    FIGURES.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(folder / "fraction_curve.png", FIGURES / "debug_fraction_curve.png")
    table = "\n".join(study.output.splitlines()[-5:])
    runs = {
        json.loads((d / "metrics.json").read_text()).get("test/hr@10"): d
        for d in folder.parent.glob("[0-9]*")
    }
    lines = []
    for record in wandb_records(where / "wandb"):
        summary = {k: v for k, v in record["summary"].items() if not k.startswith("_")}
        run = runs.get(summary.get("test/hr@10"))
        if run is None:  # the report's own run
            lines.append(f"- `{record['name']}` — tags {', '.join(record['tags'])}\n")
            continue
        metrics = json.loads((run / "metrics.json").read_text())
        same = "equals" if summary == metrics else "DIFFERS FROM"
        lines.append(
            f"- `{record['name']}` — tags {', '.join(record['tags'])}; its summary ({len(summary)} "
            f"keys) {same} its run's `metrics.json`\n"
        )
    infinite = next(r for r in wandb_records(where / "wandb") if "-infinite_ae-" in r["name"])
    shown = {
        k: v
        for k, v in sorted(infinite["summary"].items())
        if k.startswith(("test/", "hp/", "time/"))
    }
    return (
        "## The debug study (`experiment=debug`)\n\n"
        "Two jobs (∞-AE and EASE on ML-100K, λ fixed at 5: a smoke test, and the log says so) and "
        "the fraction-curve report:\n\n"
        f"```console\n$ {study.command}\n…\n{table}\n```\n\n"
        f"*exit status {study.status}, {study.seconds:.1f} s wall.*\n\n"
        "![the debug study's figure](figures/gallery/debug_fraction_curve.png)\n\n"
        "What a reviewer reads: a study of full data only says so in its title; HR@10, nDCG@10 "
        "(×100, as in the table) and the fit speed-up per model, each point inside its axes; the "
        "data-fraction axis is logarithmic, and the legend lists only what is drawn.\n\n"
        "### Its W&B record (offline, read back from the run files)\n\n"
        + "".join(lines)
        + "\nThe ∞-AE run's test metrics, hyper-parameters and seconds in its summary:\n\n"
        f"```json\n{json.dumps(shown, indent=1)}\n```\n\n"
        "A run's summary holds its chosen model's metrics only (the λ grid is history, on a "
        "`lambda` axis); names and tags say model, sampler, budget, seed and the overrides that "
        "differ between the sweep's runs; the report's run is tagged `report` with its dataset.\n\n"
    )


def dvc_section(clone: Clone, where: Path, repro: bool) -> str:
    """`dvc plots show` (a Chromium screenshot), `dvc metrics show` and `dvc exp show`."""
    parts = ["## DVC on a fresh clone\n\n"]
    if repro:
        done = clone.run("dvc repro", timeout=3600)
        if done.status != 0:
            raise SystemExit(f"make_gallery: dvc repro failed:\n{done.output}")
        parts.append(
            f"After `dvc repro` ({done.seconds / 60:.1f} min here; the figures and curve files "
            "it writes are the committed ones, regenerated).\n\n"
        )
    else:
        parts.append(
            "Straight after `git clone`: the figures, curve files and metrics `dvc plots show` "
            "and `dvc metrics show` read are committed with `dvc.lock`.\n\n"
        )
    plots = clone.run(f"dvc plots show --out {where / 'dvc_plots'}")
    FIGURES.mkdir(parents=True, exist_ok=True)
    shot = FIGURES / "dvc_plots.png"
    screenshot(where / "dvc_plots" / "index.html", shot, where / "npm", height=2400)
    parts.append(
        block(plots)
        + "\n![dvc plots show, rendered by headless Chromium](figures/gallery/dvc_plots.png)\n\n"
        "What a reviewer reads (the page's top; the other models of the every-model study "
        "follow, and the two studies' PNG figures close the page): per model and dataset, test "
        "HR@10 and nDCG@10 (×100) against the share of data kept, then the speed-ups, on log "
        "axes, each title naming model and dataset, each legend listing only the samplers drawn; "
        "Distill-CF's speed-up three ways (fit only, distil + fit, amortised over the models "
        "sharing a summary), full data as the dashed line and star.\n\n"
    )
    metrics = clone.run("dvc metrics show")
    parts.append(
        "### `dvc metrics show`\n\n"
        + block(metrics)
        + "\nThe headline only: test HR@10 ×100 of Distill-CF and of random users at the study's "
        "middle budget, per model — one short row.\n\n"
    )
    columns = clone.run("dvc exp show --csv").output.splitlines()[0].count(",") + 1
    screen = first_screen(clone, "dvc exp show", where)
    parts.append(
        "### `dvc exp show`\n\n"
        f"In a terminal DVC pages the table with `less -RS`; its first screen at {WIDTH} columns "
        "(what follows scrolls to the right with the arrow keys):\n\n"
        + block(screen)
        + f"\nThe headline metrics come first, right after the experiment's name and time; the "
        f"table's {columns} columns then list the params that change results (no data "
        "checksums: the data files are dependencies) and the stages' dependencies. Without "
        "the pager (`--no-pager`, or output to a pipe) rich squeezes all of them into the "
        f"terminal's {WIDTH} columns and prints `…`; `--only-changed`, `--drop` or `--csv` "
        "select what to print.\n\n"
    )
    return "".join(parts)


def first_screen(clone: Clone, command: str, where: Path) -> Shot:
    """What ``command`` shows on the first screen of DVC's pager in a ``WIDTH``-column terminal:
    run under ``script`` (a terminal, so DVC pages) with a pager that keeps each line's first
    ``WIDTH`` characters, as ``less -S`` does."""
    pager = where / "first_screen.py"
    pager.write_text(
        "import re, sys\n"
        "text = open(sys.argv[1], encoding='utf-8').read()\n"
        "for line in text.splitlines()[:40]:\n"
        f"    print(re.sub(r'\\x1b\\[[0-9;]*[A-Za-z]', '', line)[:{WIDTH}].rstrip())\n"
    )
    plain = dict(clone.env)
    clone.env.update(DVC_PAGER=f"{sys.executable} {pager}", TERM="xterm-256color")
    try:  # (a dumb terminal would make DVC squeeze the table before paging it)
        shot = clone.run(f"script -qec {shlex.quote(command)} /dev/null")
    finally:
        clone.env = plain
    text = re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", shot.output.replace("\r", ""))
    lines = [line for line in text.splitlines() if line.strip()]
    return Shot(command, "\n".join(lines), shot.status, shot.seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repro", action="store_true", help="run `dvc repro` in the clone first")
    parser.add_argument(
        "--paper",
        type=Path,
        default=PAPER if PAPER.is_dir() else None,
        help="the paper's ML-1M split (default: ../shared/datasets/ml-1m-paper when present)",
    )
    args = parser.parse_args()
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    if dirty:
        print("make_gallery: uncommitted changes are not in the gallery (it runs HEAD)")
    head = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    rate = gemm_rate()
    with tempfile.TemporaryDirectory(prefix="infrec-gallery-") as tmp:
        where = Path(tmp)
        clone = Clone(where)
        paper = args.paper.resolve() if args.paper else None
        sections = [
            console_section(clone, paper),
            errors_section(clone),
            debug_section(clone, where),
            dvc_section(clone, where, args.repro),
        ]
    DOC.write_text(
        "# Gallery: what users and reviewers see\n\n"
        f"Generated by `python docs/make_gallery.py{' --repro' if args.repro else ''}` from "
        f"commit {head} on {time.strftime('%Y-%m-%d')} (2-core CPU machine; times are this "
        f"machine's and noisy: its float32 GEMM ran at {rate:.0f} GFLOP/s before the run, against "
        "190–250 on an idle reference machine). Every block is a command's real output, run "
        "in a fresh clone (`<clone>` stands for its path).\n\n" + "".join(sections)
    )
    print(f"wrote {DOC.relative_to(ROOT)} and {FIGURES.relative_to(ROOT)}/")


if __name__ == "__main__":
    main()
