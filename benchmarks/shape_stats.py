"""Shape statistics of a prepared dataset: the table of README "Scale" (latent-taste data).

    python benchmarks/shape_stats.py dataset=netflix_synthetic_small
    python benchmarks/shape_stats.py dataset=netflix_synthetic dataset.mode=popularity

Arguments are Hydra overrides of the run config; the split is loaded (or generated and prepared,
then cached) as any run does. From train + validation + test: users × items, interactions, the
10/50/90/99th percentiles and maximum of the per-user and per-item counts, the share of
interactions on the top 1% and 10% of items, and the slope of log item count against log rank
over ranks 10 … n/2 (a Zipf exponent's estimate; popularity-only data at exponent 1.0 gives
about −0.9 there).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from hydra import compose, initialize_config_dir

from infrec.config import register
from infrec.data.load import load_split

ROOT = Path(__file__).resolve().parents[1]


def shape_row(per_user: np.ndarray, per_item: np.ndarray) -> dict[str, str]:
    """The README table's cells for per-user and per-item interaction counts."""

    def pcts(counts: np.ndarray) -> str:
        p = np.percentile(counts, [10, 50, 90, 99]).round().astype(int)
        return " / ".join(f"{v:,}" for v in [*p, int(counts.max())])

    ranked = np.sort(per_item)[::-1].astype(np.float64)
    total = ranked.sum()
    top = [ranked[: max(1, round(share * len(ranked)))].sum() / total for share in (0.01, 0.1)]
    ranks = np.arange(10, len(ranked) // 2)
    kept = ranked[ranks - 1] > 0
    slope = np.polyfit(np.log(ranks[kept]), np.log(ranked[ranks - 1][kept]), 1)[0]
    return {
        "users × items": f"{len(per_user):,} × {len(per_item):,}",
        "interactions": f"{int(per_user.sum()):,}",
        "per user p10 / p50 / p90 / p99 / max": pcts(per_user),
        "per item p10 / p50 / p90 / p99 / max": pcts(per_item),
        "top 1% / 10% of items hold": f"{top[0]:.1%} / {top[1]:.1%}",
        "log-log slope (ranks 10 … n/2)": f"{slope:.2f}",
    }


def main(overrides: list[str]) -> None:
    register()
    with initialize_config_dir(str(ROOT / "conf"), version_base="1.3"):
        cfg = compose("config", overrides=overrides or ["dataset=netflix_synthetic_small"])
    split = load_split(cfg)
    every = (split.train + split.val + split.test).tocsr()
    row = shape_row(np.diff(every.indptr), np.bincount(every.indices, minlength=split.n_items))
    print(f"{cfg.dataset.name} (mode {cfg.dataset.get('mode', '-')})")
    print("| " + " | ".join(row) + " |")
    print("| " + " | ".join(row.values()) + " |")


if __name__ == "__main__":
    main(sys.argv[1:])
