"""Exact ∞-AE's wall time and peak RSS against support size, with fitted growth exponents.

    python benchmarks/bench_scale_infinite_ae.py [--sizes 1000,2000,5000,10000,20000]
        [--users 100000] [--eval-users 20000] [--memory-gb 20] [--out outputs/bench/scale]

Each size is one ``infrec-train`` process on a synthetic set of ``--users`` users × 17,770
items at Netflix's density (209 interactions per user, ``dataset=synthetic``; prepared once by an
untimed 10-user run, then read from the cache): ``sampler=random_user sampler.budget=<size>``,
λ fixed at 5 (one solve), validation and test on a seeded ``--eval-users`` sample,
``runtime.memory_gb=--memory-gb``. It prints wall seconds and peak RSS per size (``os.wait4``'s
rusage of that process alone), the exponents of ``time ∝ size^a`` and ``RSS ∝ size^b`` fitted on
the sizes ≥ 5,000 (where the users² terms grow into the cost), and saves ``scale.png`` (log–log)
and ``scale.json`` under ``--out``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def run_size(size: int, args: argparse.Namespace, out: Path, *extra: str) -> tuple[float, float]:
    """(wall seconds, peak RSS GB) of one exact ∞-AE run on ``size`` random support users."""
    cmd = [
        sys.executable,
        "-m",
        "infrec.apps.train",
        "dataset=synthetic",
        f"dataset.name=synthetic-{args.users}",
        f"dataset.users={args.users}",
        "dataset.items=17770",
        f"dataset.interactions={209 * args.users}",
        "dataset.user_tail=2.5",
        "sampler=random_user",
        f"sampler.budget={size}",
        "model.lambdas=[5]",
        f"eval.users={args.eval_users}",
        f"runtime.memory_gb={args.memory_gb}",
        f"hydra.run.dir={out / str(size)}",
        *extra,
    ]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"size {size}: infrec-train failed; see {out / str(size)}/train.log")
    return wall, usage.ru_maxrss / 1024**2


def fitted_sizes(sizes: list[int]) -> list[int]:
    """The sizes the exponents are fitted on: those ≥ 5,000 when there are two, else all."""
    big = [s for s in sizes if s >= 5000]
    return big if len(big) > 1 else sizes


def exponent(sizes: list[int], values: list[float]) -> float:
    pairs = [(s, v) for s, v in zip(sizes, values, strict=True) if s in fitted_sizes(sizes)]
    x, y = np.log([s for s, _ in pairs]), np.log([v for _, v in pairs])
    return float(np.polyfit(x, y, 1)[0]) if len(pairs) > 1 else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,2000,5000,10000,20000")
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--eval-users", type=int, default=20_000)
    parser.add_argument("--memory-gb", type=float, default=20.0)
    parser.add_argument("--out", default=str(ROOT / "outputs/bench/scale"))
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    sizes = [int(s) for s in args.sizes.split(",")]
    print("preparing the dataset once (untimed) …", flush=True)
    run_size(10, args, out, "eval.users=100")
    rows = []
    print(f"{'support users':>14} {'wall s':>9} {'peak RSS GB':>12}", flush=True)
    for size in sizes:
        wall, rss = run_size(size, args, out)
        rows.append({"size": size, "wall_s": wall, "peak_rss_gb": rss})
        print(f"{size:>14,} {wall:>9.1f} {rss:>12.2f}", flush=True)
    a = exponent(sizes, [r["wall_s"] for r in rows])
    b = exponent(sizes, [r["peak_rss_gb"] for r in rows])
    used = ", ".join(f"{s:,}" for s in fitted_sizes(sizes))
    print(f"time ∝ size^{a:.2f}, peak RSS ∝ size^{b:.2f} (fitted on sizes {used})")
    (out / "scale.json").write_text(json.dumps({"runs": rows, "time_exp": a, "rss_exp": b}))

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (t_ax, m_ax) = plt.subplots(1, 2, figsize=(10, 4))
    t_ax.loglog(sizes, [r["wall_s"] for r in rows], "o-", label=f"∝ size^{a:.2f}")
    t_ax.set_ylabel("wall seconds, whole run")
    m_ax.loglog(sizes, [r["peak_rss_gb"] for r in rows], "s-", color="C1", label=f"∝ size^{b:.2f}")
    m_ax.axhline(
        args.memory_gb, color="grey", ls=":", label=f"runtime.memory_gb = {args.memory_gb:g}"
    )
    m_ax.set_ylabel("peak RSS (GB)")
    for ax in (t_ax, m_ax):
        ax.set_xlabel("support users (exact ∞-AE, λ fixed)")
        ax.legend()
    fig.suptitle(
        f"exact ∞-AE on {args.users:,} users × 17,770 items, evaluated on {args.eval_users:,}"
    )
    fig.tight_layout()
    fig.savefig(out / "scale.png", dpi=120)
    print(f"plot: {out / 'scale.png'}")


if __name__ == "__main__":
    main()
