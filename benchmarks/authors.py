"""The authors' code (noveens/infinite_ae_cf, noveens/distill_cf) run side by side with infrec.

    python benchmarks/authors.py --iae /work/authors/infinite_ae_cf \\
        --distill /work/authors/distill_cf --python /work/authors/.venv/bin/python \\
        [--path ../shared/datasets/ml-1m-paper] [--pairs 3] [--steps 3] \\
        [--jobs infinite_ae,distill_step]

Each round runs every job once per side, the order of the sides rotating from round to round,
each as a fresh process timed by ``wait4`` (wall, user and system CPU, peak RSS; the helpers of
``benchmarks/ab.py``); a float32 GEMM rate is measured before each round and the load average
noted before each run. ``/tmp/infrec-quiet`` exists while the rounds run (other helpers hold
off heavy jobs while it does).

- ``infinite_ae``: the authors' ``python main.py`` in their ∞-AE checkout (their defaults: depth 1,
  λ grid {0, 1, 5, 20, 50, 100} chosen by val HR@100, ML-1M from ``data/ml-1m``) against
  ``infrec-train dataset=ml-1m-paper logger=none`` with a fresh cache (both read the split's
  HDF5 file every run); both sides' test metrics are printed (they should agree).
- ``distill_step``: seconds per Distill-CF step at μ = 500, γ = 200, all 6,040 targets, the step
  alone after compilation: the authors' code through ``benchmarks/authors_distill_step.py`` (a
  timing driver, run in their checkout with their Python, that imports their modules and times
  ``--steps`` iterations of their training loop body, no validation) against infrec's
  ``benchmarks/bench_distill_step.py`` (3 pooled, 3 expected and 1 literal step, as ``ab.py`` runs
  it).

Setting up the authors' side (what was used on 2026-12-04; Python 3.11, PyPI only)::

    mkdir -p /work/authors && cd /work/authors
    git clone <mirror of github.com/noveens/infinite_ae_cf> infinite_ae_cf   # be89111
    git clone <mirror of github.com/noveens/distill_cf> distill_cf           # fc8b7b9
    for r in infinite_ae_cf distill_cf; do
        rm -rf $r/data/ml-1m && ln -s /work/shared/datasets/ml-1m-paper $r/data/ml-1m
    done
    python3 -m venv .venv
    .venv/bin/pip install jax==0.4.13 jaxlib==0.4.13 neural-tangents==0.6.1 \\
        tensorflow-cpu==2.14.1 "numpy<2" "scipy<1.12" h5py numba

jax 0.4.13 is the oldest jaxlib with a wheel for this Python and still has every API their
code calls (``jax.config``, ``solve(sym_pos=True)``, ``jax.example_libraries``), so their code
runs unchanged; neural-tangents 0.5.0 (their floor) needs ``tree_multimap`` (gone from jax), and
0.6.x imports ``jax2tf``, hence TensorFlow.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from ab import (  # noqa: E402
    FIGURES,
    Result,
    Side,
    paper_job_tflop,
    run_job,
    spread,
    timed,
    train_cmd,
    working_tree,
)
from bench_infinite_ae import gemm_gflops  # noqa: E402

JOBS = ("infinite_ae", "distill_step")
SIDES = ("authors", "infrec")
QUIET = Path("/tmp/infrec-quiet")
METRICS = ("ndcg@10", "hr@10", "hr@100", "ndcg@100", "psp@10", "psp@100", "auc")


def authors_metrics(text: str) -> dict[str, float]:
    """The test metrics from the authors' ``| end of step … (TEST)`` line (percent, AUC as is)."""
    line = next(x for x in text.splitlines() if x.rstrip().endswith("(TEST)"))
    found = {k.lower(): float(v) for k, v in re.findall(r"([A-Z]+@?\d*) = ([\d.]+)", line)}
    return {k: found[k] for k in METRICS}


def infrec_metrics(run: Path) -> dict[str, float]:
    """infrec's test metrics from ``metrics.json``, in the authors' units (percent, AUC as is)."""
    saved = json.loads((run / "metrics.json").read_text())
    return {k: saved[f"test/{k}"] * (1 if k == "auc" else 100) for k in METRICS} | {
        "lambda": saved["hp/lambda"]
    }


def run_authors(job: str, args: argparse.Namespace) -> Result:
    """One run of the authors' ``job`` in their checkout with their Python."""
    if job == "infinite_ae":
        result, text = timed([args.python, "main.py"], dict(os.environ), Path(args.iae))
        result.metrics = authors_metrics(text)
        return result
    driver = str(ROOT / "benchmarks" / "authors_distill_step.py")
    result, text = timed(
        [args.python, driver, str(args.steps)], dict(os.environ), Path(args.distill)
    )
    seconds = next(x for x in text.splitlines() if x.startswith("authors s/step"))
    result.extra["s_per_step"] = float(seconds.split()[2])
    return result


def run_infrec(job: str, side: Side, path: str, work: Path) -> Result:
    """One run of infrec's ``job`` from the snapshot ``side``, a fresh cache under ``work``."""
    if job == "distill_step":
        return run_job(job, side, path, work)
    result, _ = timed(train_cmd(side, path, work, "model=infinite_ae"), side.env(), side.root)
    result.metrics = infrec_metrics(work / "run")
    return result


def report(results: dict[tuple[str, str], list[Result]], jobs: list[str]) -> None:
    """min/median/max per job, side and figure; authors ÷ infrec ratios; metrics; per-step s."""
    print(f"\n{'job':<13} {'side':<16} {'figure':<20} {'min':>9} {'median':>9} {'max':>9}")
    for job in jobs:
        for side in SIDES:
            runs = results[(job, side)]
            for name in [*FIGURES, *sorted(runs[0].extra)]:
                values = [getattr(r, name) if name in FIGURES else r.extra[name] for r in runs]
                print(f"{job:<13} {side:<16} {name:<20} {spread(values)}")
        ours, theirs = results[(job, "infrec")], results[(job, "authors")]
        for name in FIGURES:
            ratios = [
                getattr(t, name) / getattr(o, name) for t, o in zip(theirs, ours, strict=True)
            ]
            med = statistics.median(getattr(t, name) for t in theirs) / statistics.median(
                getattr(o, name) for o in ours
            )
            print(
                f"{job:<13} {'authors/infrec':<16} {name:<20} {spread(ratios)}"
                f"   (of medians {med:.2f})"
            )
        for side in SIDES:
            if results[(job, side)][0].metrics:
                print(f"{job:<13} {side:<16} test {results[(job, side)][0].metrics}")
    if "distill_step" in jobs:
        theirs = statistics.median(
            r.extra["s_per_step"] for r in results[("distill_step", "authors")]
        )
        for est in ("pooled", "expected", "literal"):
            runs = results[("distill_step", "infrec")]
            if f"{est}_s_per_step" not in runs[0].extra:
                continue
            ours = statistics.median(r.extra[f"{est}_s_per_step"] for r in runs)
            print(
                f"Distill-CF s/step (medians): authors {theirs:.2f}, infrec {est} {ours:.2f}"
                f"  → authors/infrec {theirs / ours:.1f}×"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iae", required=True, help="the authors' infinite_ae_cf checkout")
    parser.add_argument("--distill", required=True, help="the authors' distill_cf checkout")
    parser.add_argument("--python", required=True, help="the Python of the authors' environment")
    parser.add_argument("--path", default=str(ROOT.parent / "shared/datasets/ml-1m-paper"))
    parser.add_argument("--pairs", type=int, default=3, help="rounds (each side once a round)")
    parser.add_argument("--steps", type=int, default=3, help="authors' Distill-CF steps timed")
    parser.add_argument("--jobs", default=",".join(JOBS))
    args = parser.parse_args()
    jobs = [j for j in args.jobs.split(",") if j]
    if set(jobs) - set(JOBS):
        sys.exit(f"--jobs: choose from {', '.join(JOBS)}")
    if not Path(args.path, "total_data.hdf5").is_file():
        sys.exit(f"{args.path}: no total_data.hdf5; pass --path to the paper's ML-1M split")

    results: dict[tuple[str, str], list[Result]] = {}
    rates: list[float] = []
    with tempfile.TemporaryDirectory(prefix="infrec-authors-") as tmp:
        side = working_tree(Path(tmp, "working-tree"))
        QUIET.touch()
        try:
            for pair in range(args.pairs):
                rates.append(gemm_gflops())
                order = SIDES if pair % 2 == 0 else SIDES[::-1]
                for job in jobs:
                    for name in order:
                        load = os.getloadavg()
                        work = Path(tmp, f"{job}-{pair}")
                        if name == "authors":
                            result = run_authors(job, args)
                        else:
                            result = run_infrec(job, side, args.path, work)
                        results.setdefault((job, name), []).append(result)
                        print(
                            f"round {pair + 1} {job:<13} {name:<8} wall {result.wall_s:7.1f} s"
                            f"  user {result.user_s:6.1f} s  sys {result.sys_s:5.1f} s"
                            f"  rss {result.peak_rss_mib:6.0f} MiB  load {load[0]:.2f}"
                            f"  GEMM {rates[-1]:.0f} GFLOP/s"
                            + "".join(f"  {k} {v:.2f}" for k, v in result.extra.items()),
                            flush=True,
                        )
        finally:
            QUIET.unlink(missing_ok=True)
    report(results, jobs)
    print(f"\nfloat32 GEMM (4096³, NumPy) GFLOP/s before each round: {np.round(rates).tolist()}")
    if "infinite_ae" in jobs:
        flop = paper_job_tflop()
        print(
            f"∞-AE paper job: {flop:.2f} TFLOP"
            f" → floor {flop * 1e3 / statistics.median(rates):.1f} s at the median GEMM rate"
        )
    print("load average (1, 5, 15 min) now:", np.round(os.getloadavg(), 2).tolist())


if __name__ == "__main__":
    main()
