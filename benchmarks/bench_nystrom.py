"""Nyström ∞-AE against exact ∞-AE on the paper's ML-1M split: the README's table.

    python benchmarks/bench_nystrom.py [--path ../shared/datasets/ml-1m-paper] [--out DIR]
        [--sizes 250,500,1000,2000,4000,6040]

Four Hydra multiruns of ``infrec-train`` (λ chosen on validation hr@100 from the default grid):

1. Nyström ∞-AE, every training user a target, ``m`` random landmarks (``model.solver=nystrom
   model.landmarks=m``) for each size;
2. exact ∞-AE on random-user supports of the same sizes (``sampler=random_user``), and on all
   users (``sampler=full``: the full-data reference, equal to Nyström with m = all);
3. exact and Nyström ∞-AE on the Distill-CF summary of 500 users (``sampler=distill_cf``; the
   distilled support is reused from ``outputs/supports`` when there, else distilled first).

It prints one markdown table of test nDCG@10, HR@100 and fit seconds (kernel/accumulation and
solve for the chosen λ, as ``time/fit_s`` records it).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def multirun(out: Path, path: str, *overrides: str) -> None:
    cmd = [
        sys.executable,
        "-m",
        "infrec.apps.train",
        "-m",
        "dataset=ml-1m-paper",
        f"dataset.path={path}",
        f"hydra.sweep.dir={out}",
        *overrides,
    ]
    print("$", " ".join(cmd[2:]), flush=True)
    subprocess.run(cmd, cwd=ROOT, check=True)


def runs(out: Path) -> list[tuple[dict, dict]]:
    """(config, metrics) of every job under ``out``."""
    found = []
    for metrics_file in sorted(out.rglob("metrics.json")):
        config = json.loads(metrics_file.with_name("config.json").read_text())
        found.append((config, json.loads(metrics_file.read_text())))
    return found


def cells(metrics: dict) -> str:
    return (
        f"{100 * metrics['test/ndcg@10']:.2f} | {100 * metrics['test/hr@100']:.2f} | "
        f"{metrics['time/fit_s']:.1f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--path", default=str(ROOT.parent / "shared/datasets/ml-1m-paper"))
    parser.add_argument("--out", default=str(ROOT / "outputs/bench/nystrom"))
    parser.add_argument("--sizes", default="250,500,1000,2000,4000,6040")
    args = parser.parse_args()
    out, sizes = Path(args.out), [int(s) for s in args.sizes.split(",")]
    multirun(out / "nystrom", args.path, "model.solver=nystrom", f"model.landmarks={args.sizes}")
    budgets = ",".join(str(s) for s in sizes if s < 6040)
    multirun(out / "random", args.path, "sampler=random_user", f"sampler.budget={budgets}")
    multirun(out / "full", args.path, "sampler=full")
    multirun(
        out / "distill",
        args.path,
        "sampler=distill_cf",
        "sampler.budget=500",
        "model.solver=exact,nystrom",
    )
    nystrom = {c["model"]["landmarks"]: m for c, m in runs(out / "nystrom")}
    random = {c["sampler"]["budget"]: m for c, m in runs(out / "random")}
    (_, full), *_ = runs(out / "full")
    random[6040] = full
    print(
        "\n| users m | Nyström ∞-AE nDCG@10 | HR@100 | fit s | "
        "exact ∞-AE on m random users nDCG@10 | HR@100 | fit s |"
    )
    print("|---|---|---|---|---|---|---|")
    for m in sizes:
        print(f"| {m:,} | {cells(nystrom[m])} | {cells(random[m])} |")
    distill = {c["model"]["solver"]: m for c, m in runs(out / "distill")}
    print(
        f"| 500 Distill-CF | {cells(distill['nystrom'])} | {cells(distill['exact'])} |"
        "  (landmarks / support: the summary)"
    )


if __name__ == "__main__":
    main()
