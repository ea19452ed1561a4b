"""``infrec-fetch dataset=<name>``: download a dataset's raw files into ``data/`` (verified), then
prepare and cache its split under ``paths.cache_dir`` (the pipeline's fetch/prepare stage)."""

from __future__ import annotations

import logging
import sys

import hydra
from omegaconf import DictConfig

from infrec.config import register_resolvers
from infrec.data.load import load_split
from infrec.errors import InfrecError
from infrec.paths import config_dir

log = logging.getLogger("infrec.fetch")


@hydra.main(version_base="1.3", config_path=str(config_dir()), config_name="config")
def _hydra_main(cfg: DictConfig) -> None:
    try:
        split = load_split(cfg)
    except InfrecError as e:
        raise SystemExit(f"error: {e}") from None
    print(split.describe())


def main() -> None:
    register_resolvers()
    # fetching is not an experiment: no run dir, log to the console only
    sys.argv += ["hydra.run.dir=.", "hydra.output_subdir=null", "hydra/job_logging=stdout"]
    _hydra_main()


if __name__ == "__main__":
    main()
