"""``infrec-fetch dataset=<name>``: download a dataset's raw files into ``data/`` (verified), then
prepare and cache its split under ``paths.cache_dir`` (the pipeline's fetch/prepare stage)."""

from __future__ import annotations

import logging
import sys

import hydra
from omegaconf import DictConfig

from infrec.errors import InfrecError
from infrec.paths import config_dir
from infrec.train import load_split, register_resolvers

log = logging.getLogger("infrec.fetch")
register_resolvers()


@hydra.main(version_base="1.3", config_path=str(config_dir()), config_name="config")
def _hydra_main(cfg: DictConfig) -> None:
    try:
        split = load_split(cfg)
    except InfrecError as e:
        raise SystemExit(f"error: {e}") from None
    print(split.describe())


def main() -> None:
    # fetching is not an experiment: no run dir, log to the console only
    sys.argv += ["hydra.run.dir=.", "hydra.output_subdir=null", "hydra/job_logging=stdout"]
    _hydra_main()


if __name__ == "__main__":
    main()
