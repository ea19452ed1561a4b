"""``infrec-fetch dataset=<name>``: download a dataset's raw files into ``data/`` (verified), then
prepare and cache its split under ``paths.cache_dir`` (the pipeline's fetch/prepare stage)."""

from __future__ import annotations

import logging
import sys

import hydra
from omegaconf import DictConfig

from infrec.config import one_line_errors, run_app
from infrec.data.load import load_split
from infrec.paths import config_dir

log = logging.getLogger("infrec.fetch")


@hydra.main(version_base="1.3", config_path=str(config_dir()), config_name="config")
@one_line_errors
def _hydra_main(cfg: DictConfig) -> None:
    print(load_split(cfg).describe())


def main() -> None:
    # fetching is not an experiment: no run dir, log to the console only
    sys.argv += ["hydra.run.dir=.", "hydra.output_subdir=null", "hydra/job_logging=stdout"]
    run_app(_hydra_main)


if __name__ == "__main__":
    main()
