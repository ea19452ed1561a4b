"""Wall time and peak RSS of making a dataset's prepared split: generate (or read), split, save.

    python benchmarks/bench_prepare_scale.py [dataset=netflix_synthetic] [dataset.users=60000 ...]

Arguments are Hydra overrides of the run config (the dataset group). Each phase — the generator
or reader, the preparation (de-duplication, re-indexing, the per-user split) and writing the cache
file — is timed in this process; peak RSS is the process's high-water mark after each phase. The
cache file goes to a temporary folder (removed at the end), so every call measures a cold build.
"""

from __future__ import annotations

import resource
import sys
import tempfile
import time
from pathlib import Path

from hydra import compose, initialize_config_dir

from infrec.config import register
from infrec.data.prepare import build_split, read_interactions, resolve_source, synthetic_key
from infrec.data.synthetic import generate

ROOT = Path(__file__).resolve().parents[1]


def peak_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def main(overrides: list[str]) -> None:
    register()
    with initialize_config_dir(str(ROOT / "conf"), version_base="1.3"):
        cfg = compose("config", overrides=overrides or ["dataset=netflix_synthetic"]).dataset
    t0 = time.perf_counter()
    if str(cfg.format) == "synthetic":
        inter, key = generate(cfg), synthetic_key(cfg)
    else:
        inter, key = read_interactions(cfg, resolve_source(cfg)), "bench"
    t1 = time.perf_counter()
    print(f"read/generate  {t1 - t0:8.1f} s   peak RSS {peak_gb():6.2f} GB   {len(inter):,} rows")
    split = build_split(inter, cfg, name=str(cfg.name), key=key)
    del inter
    t2 = time.perf_counter()
    print(f"prepare        {t2 - t1:8.1f} s   peak RSS {peak_gb():6.2f} GB   {split.describe()}")
    with tempfile.TemporaryDirectory() as tmp:
        split.save(Path(tmp) / "split.npz")
        t3 = time.perf_counter()
        size = (Path(tmp) / "split.npz").stat().st_size / 1024**3
    print(f"save           {t3 - t2:8.1f} s   peak RSS {peak_gb():6.2f} GB   {size:.2f} GB on disk")
    print(f"total          {t3 - t0:8.1f} s   peak RSS {peak_gb():6.2f} GB")


if __name__ == "__main__":
    main(sys.argv[1:])
