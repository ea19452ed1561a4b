"""Seconds, peak RSS and test nDCG@10 of each model of the paper table, one fresh process each.

    python benchmarks/bench_baselines.py [--path ../shared/datasets/ml-1m-paper]
        [--models poprec,mf,neumf,mvae,lightgcn,ease,infinite_ae] [--out DIR]

Each model runs as ``infrec-train -m experiment=paper_table hydra.sweeper.params.model=<model>`` on
the paper's ML-1M split with its tuned defaults (conf/model/), so training, early-stopping
validation and the test pass are all timed; the runs land under ``--out`` and the script ends by
writing the paper table from them (``infrec-report <out> --kind paper_table``). Budget per model: 15
minutes.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODELS = "poprec,mf,neumf,mvae,lightgcn,ease,infinite_ae"
LIMIT_S = 15 * 60


def run_model(model: str, path: str, out: Path) -> tuple[float, float, dict]:
    """(wall seconds, peak RSS GB, metrics) of one model's run in a fresh process."""
    cmd = [
        sys.executable,
        "-m",
        "infrec.apps.train",
        "-m",
        "experiment=paper_table",
        f"hydra.sweeper.params.model={model}",
        "dataset=ml-1m-paper",
        f"dataset.path={path}",
        "logger=none",
        f"hydra.sweep.dir={out / model}",
    ]
    t0 = time.perf_counter()
    with open(out / f"{model}.log", "w") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{model} failed; see {out / f'{model}.log'}")
    (metrics_file,) = (out / model).glob("*/metrics.json")
    return wall, usage.ru_maxrss / 1024**2, json.loads(metrics_file.read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--path", default=str(ROOT.parent / "shared/datasets/ml-1m-paper"))
    parser.add_argument("--models", default=MODELS)
    parser.add_argument("--out", default=str(ROOT / "outputs/studies/paper_table/bench"))
    args = parser.parse_args()
    if not Path(args.path, "total_data.hdf5").is_file():
        sys.exit(f"{args.path}: no total_data.hdf5; pass --path to the paper's ML-1M split")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    print(
        f"{'model':<12}{'wall s':>8}{'train s':>9}{'epochs':>8}{'RSS GB':>8}{'nDCG@10':>9}"
        f"{'≤15 min':>9}",
        flush=True,
    )
    for model in args.models.split(","):
        wall, rss, m = run_model(model, args.path, out)
        epochs = m.get("hp/epochs_run")
        print(
            f"{model:<12}{wall:>8.1f}{m['time/fit_best_s']:>9.1f}"
            f"{(f'{epochs:.0f}' if epochs else '—'):>8}{rss:>8.2f}"
            f"{100 * m['test/ndcg@10']:>9.2f}{('yes' if wall <= LIMIT_S else 'NO'):>9}",
            flush=True,
        )
    subprocess.run(
        [
            sys.executable,
            "-m",
            "infrec.apps.report",
            str(out),
            "--kind",
            "paper_table",
            "--out",
            str(out / "report"),
        ],
        check=True,
    )


if __name__ == "__main__":
    main()
