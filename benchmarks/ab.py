"""Interleaved A/B of the headline jobs: the working tree against another commit, same machine.

    python benchmarks/ab.py --ref 0bca797 [--ref main …] [--pairs 3]
        [--jobs infinite_ae,ease,distill_step] [--path ../shared/datasets/ml-1m-paper] [--study]

Each other commit is checked out beside this one (``git worktree add --detach`` under
``/tmp/infrec-ab-<commit>``, kept for the next run) and the working tree copied to a scratch
folder as the script starts (edits made meanwhile stay out); each side runs from its own
``src/`` through ``PYTHONPATH`` with this checkout's virtual environment, so both share every
installed package and differ only in the project's code. Each round ("pair") runs every job
once per side, the order of the sides rotating from round to round; a float32 GEMM rate is
measured before each round.

Jobs (``--jobs``; each a fresh process, timed by ``wait4``: wall, user and system CPU, peak RSS):

- ``infinite_ae``: ``infrec-train dataset=ml-1m-paper logger=none`` (the paper job, 6-λ grid);
- ``ease``: the same with ``model=ease``;
- ``distill_step``: the side's ``benchmarks/bench_distill_step.py`` (its seconds per step, pooled,
  expected (where the side has it) and literal estimator, are printed beside the process figures);
- ``study`` (only with ``--study``, about 8 minutes a side): ``dvc repro --force`` of the default
  study in a throw-away copy of each side, with ``data/`` linked from this checkout.

Prepared splits are cached per side before the first round (untimed). Printed per job and
side: min/median/max of every figure and, for each other side, the ratio of the medians (other
÷ working tree, with the per-round ratios' min/median/max), every side's test metrics (they must
agree), the load average, and the ∞-AE job's dense FLOPs over the measured GEMM rate (its floor).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from bench_infinite_ae import gemm_gflops  # noqa: E402

JOBS = ("infinite_ae", "ease", "distill_step", "study")
FIGURES = ("wall_s", "user_s", "sys_s", "peak_rss_mib")


@dataclass
class Side:
    """One version of the project: where its code is and how its entry points are called."""

    name: str
    root: Path
    """The checkout (``conf/``, ``benchmarks/``, ``dvc.yaml``)."""

    @property
    def src(self) -> Path:
        return self.root / "src"

    def module(self, app: str) -> str:
        """The module of an app (``train``, ``fetch``): ``infrec.apps.<app>`` or, in commits
        before the ``apps/`` package, ``infrec.<app>``."""
        apps = self.src / "infrec" / "apps" / f"{app}.py"
        return f"infrec.apps.{app}" if apps.is_file() else f"infrec.{app}"

    def env(self) -> dict[str, str]:
        return {**os.environ, "PYTHONPATH": str(self.src), "INFREC_ROOT": str(self.root)}


@dataclass
class Result:
    """One timed process."""

    wall_s: float
    user_s: float
    sys_s: float
    peak_rss_mib: float
    extra: dict[str, float] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)


def git(*args: str, cwd: Path = ROOT) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True
    ).stdout.strip()


def working_tree(into: Path) -> Side:
    """A snapshot of this checkout's files (tracked and untracked, not ignored) under ``into``:
    edits made while the rounds run do not leak into the working tree's side."""
    for name in git("ls-files", "-co", "--exclude-standard").splitlines():
        if (ROOT / name).is_file():
            (into / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, into / name)
    return Side("working tree", into)


def other_side(ref: str) -> Side:
    """``ref`` checked out (detached) in a worktree beside this checkout, made on first use."""
    commit = git("rev-parse", "--verify", f"{ref}^{{commit}}")
    path = Path(tempfile.gettempdir()) / f"infrec-ab-{commit[:12]}"
    if not (path / "src").is_dir():
        git("worktree", "add", "--detach", str(path), commit)
    return Side(f"{ref} ({commit[:7]})", path)


def timed(cmd: list[str], env: dict[str, str], cwd: Path) -> tuple[Result, str]:
    """Run ``cmd``; its wall time, CPU times and peak RSS (this child alone, via ``wait4``)."""
    start = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out:
        proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        out.seek(0)
        text = out.read()
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{' '.join(cmd)} failed (cwd {cwd}):\n{text[-3000:]}")
    return Result(wall, usage.ru_utime, usage.ru_stime, usage.ru_maxrss / 1024), text


def train_cmd(side: Side, path: str, work: Path, *overrides: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        side.module("train"),
        "dataset=ml-1m-paper",
        f"dataset.path={path}",
        "logger=none",
        f"paths.cache_dir={work / 'cache'}",
        f"hydra.run.dir={work / 'run'}",
        *overrides,
    ]


def prepare(side: Side, path: str, work: Path) -> None:
    """The side's prepared-split cache for the ML-1M split (untimed, before the rounds)."""
    cmd = [
        sys.executable,
        "-m",
        side.module("fetch"),
        "dataset=ml-1m-paper",
        f"dataset.path={path}",
        f"paths.cache_dir={work / 'cache'}",
        f"hydra.run.dir={work / 'fetch'}",
    ]
    timed(cmd, side.env(), side.root)


def run_job(job: str, side: Side, path: str, work: Path) -> Result:
    """One run of ``job`` for ``side``, its scratch files under ``work``."""
    if job in ("infinite_ae", "ease"):
        run = work / "run"
        shutil.rmtree(run, ignore_errors=True)
        result, _ = timed(train_cmd(side, path, work, f"model={job}"), side.env(), side.root)
        metrics = json.loads((run / "metrics.json").read_text())
        result.metrics = {k: v for k, v in metrics.items() if k.startswith("test/")}
        result.metrics["hp/lambda"] = metrics["hp/lambda"]
        return result
    if job == "distill_step":
        script = side.root / "benchmarks" / "bench_distill_step.py"
        cmd = [sys.executable, str(script), "--path", path, "--steps", "3", "--literal-steps", "1"]
        result, text = timed(cmd, side.env(), side.root)
        for line in text.splitlines():
            for key, label in (
                ("pooled_s_per_step", "pooled"),
                ("expected_s_per_step", "expected"),
                ("literal_s_per_step", "literal"),
            ):
                if line.startswith(label):
                    result.extra[key] = float(line.split("s/step")[0].split()[-1])
        return result
    if job == "study":
        return run_study(side, work)
    raise ValueError(job)


def run_study(side: Side, work: Path) -> Result:
    """``dvc repro --force`` of the default study in a fresh copy of ``side`` (its tracked and
    untracked, not ignored, files), ``data/`` linked from this checkout and the console scripts
    pointing at the side's modules."""
    copy = work / "study"
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(side.root, copy, ignore=shutil.ignore_patterns(".git", "outputs", "data"))
    (copy / "data").symlink_to(ROOT / "data")
    subprocess.run(["git", "init", "-q"], cwd=copy, check=True)  # dvc needs a repository
    bin_dir = copy / ".ab-bin"
    bin_dir.mkdir()
    for app in ("train", "fetch", "distill", "report"):
        shim = bin_dir / f"infrec-{app}"
        shim.write_text(f'#!/bin/sh\nexec {sys.executable} -m {side.module(app)} "$@"\n')
        shim.chmod(0o755)
    env = {
        **side.env(),
        "PYTHONPATH": str(copy / "src"),
        "INFREC_ROOT": str(copy),
        "PATH": f"{bin_dir}:{Path(sys.executable).parent}:{os.environ['PATH']}",
    }
    result, _ = timed([str(Path(sys.executable).parent / "dvc"), "repro", "--force"], env, copy)
    return result


def spread(values: list[float]) -> str:
    return f"{min(values):9.2f} {statistics.median(values):9.2f} {max(values):9.2f}"


def paper_job_tflop(users: int = 6040, items: int = 3706, positive_lambdas: int = 5) -> float:
    """Dense FLOPs of the exact ∞-AE paper job: the Gram product (``U²I``, symmetric), per λ > 0
    one Cholesky (``U³/3``) and two triangular solves (``2U²I``), and the test scoring product
    ``K_C α`` (``2U²I``); in TFLOP (≈ 2.1 for ML-1M)."""
    u, i = float(users), float(items)
    return (u * u * i + positive_lambdas * (u**3 / 3 + 2 * u * u * i) + 2 * u * u * i) / 1e12


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--ref", action="append", required=True, help="a commit to compare with (repeatable)"
    )
    parser.add_argument("--pairs", type=int, default=3, help="rounds (each side once a round)")
    parser.add_argument("--jobs", default="infinite_ae,ease,distill_step")
    parser.add_argument("--path", default=str(ROOT.parent / "shared/datasets/ml-1m-paper"))
    parser.add_argument("--study", action="store_true", help="also the default dvc repro study")
    args = parser.parse_args()
    jobs = [j for j in args.jobs.split(",") if j] + (["study"] if args.study else [])
    unknown = sorted(set(jobs) - set(JOBS))
    if unknown:
        sys.exit(f"--jobs: unknown {unknown}; choose from {', '.join(JOBS[:-1])}")
    if not Path(args.path, "total_data.hdf5").is_file():
        sys.exit(f"{args.path}: no total_data.hdf5; pass --path to the paper's ML-1M split")

    results: dict[tuple[str, str], list[Result]] = {}
    rates: list[float] = []
    loads = [os.getloadavg()]
    with tempfile.TemporaryDirectory(prefix="infrec-ab-") as tmp:
        sides = [working_tree(Path(tmp, "working-tree")), *map(other_side, args.ref)]
        works = {side.name: Path(tmp, f"side{n}") for n, side in enumerate(sides)}
        for side in sides:
            prepare(side, args.path, works[side.name])
        for pair in range(args.pairs):
            rates.append(gemm_gflops())
            turn = pair % len(sides)
            order = sides[turn:] + sides[:turn]
            for job in jobs:
                for side in order:
                    result = run_job(job, side, args.path, works[side.name])
                    results.setdefault((job, side.name), []).append(result)
                    print(
                        f"round {pair + 1} {job:<13} {side.name:<24} wall {result.wall_s:7.1f} s"
                        f"  sys {result.sys_s:5.1f} s  rss {result.peak_rss_mib:6.0f} MiB"
                        + "".join(f"  {k} {v:.2f}" for k, v in result.extra.items()),
                        flush=True,
                    )
            loads.append(os.getloadavg())

    print(f"\n{'job':<13} {'side':<24} {'figure':<20} {'min':>9} {'median':>9} {'max':>9}")
    for job in jobs:
        for side in sides:
            runs = results[(job, side.name)]
            names = [*FIGURES, *sorted(runs[0].extra)]
            for name in names:
                values = [getattr(r, name) if name in FIGURES else r.extra[name] for r in runs]
                print(f"{job:<13} {side.name:<24} {name:<20} {spread(values)}")
        base = results[(job, sides[0].name)]
        for side in sides[1:]:
            other = results[(job, side.name)]
            for name in FIGURES:
                ratios = [
                    getattr(o, name) / getattr(b, name) for b, o in zip(base, other, strict=True)
                ]
                med = statistics.median(getattr(o, name) for o in other) / statistics.median(
                    getattr(b, name) for b in base
                )
                label = f"{side.name.split()[0]}/working"
                print(f"{job:<13} {label:<24} {name:<20} {spread(ratios)}   (of medians {med:.3f})")
        for side in sides:
            if results[(job, side.name)][0].metrics:
                shown = {
                    k: round(v * 100, 2) if "@" in k or k.endswith("auc") else v
                    for k, v in results[(job, side.name)][0].metrics.items()
                }
                print(f"{job:<13} {side.name:<24} {shown}")

    flop = paper_job_tflop()
    rate = statistics.median(rates)
    print(f"\nfloat32 GEMM (4096³, NumPy) GFLOP/s: min/median/max {spread(rates)}")
    print(f"∞-AE paper job: {flop:.2f} TFLOP dense → floor {flop * 1e3 / rate:.1f} s at the median")
    if ("infinite_ae", sides[0].name) in results:
        for side in sides:
            wall = statistics.median(r.wall_s for r in results[("infinite_ae", side.name)])
            ratio = wall * rate / flop / 1e3
            print(f"  {side.name:<24} median wall {wall:6.1f} s = {ratio:.2f}× floor")
    print("load average (1, 5, 15 min), start and after each round:", np.round(loads, 2).tolist())


if __name__ == "__main__":
    main()
