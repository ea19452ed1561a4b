"""``infrec-fetch dataset=<name>``: download a dataset's raw files into ``data/``, verified."""

from __future__ import annotations

import logging
import sys

import hydra
from omegaconf import DictConfig

from infrec.data.fetch import fetch_dataset
from infrec.errors import InfrecError
from infrec.paths import config_dir
from infrec.train import register_resolvers

log = logging.getLogger("infrec.fetch")
register_resolvers()


@hydra.main(version_base="1.3", config_path=str(config_dir()), config_name="config")
def _hydra_main(cfg: DictConfig) -> None:
    try:
        folder = fetch_dataset(cfg.dataset)
    except InfrecError as e:
        raise SystemExit(f"error: {e}") from None
    print(f"{cfg.dataset.name}: raw files in {folder}")


def main() -> None:
    # fetching is not an experiment: no run dir, log to the console only
    sys.argv += ["hydra.run.dir=.", "hydra.output_subdir=null", "hydra/job_logging=stdout"]
    _hydra_main()


if __name__ == "__main__":
    main()
