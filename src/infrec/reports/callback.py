"""The Hydra callback that reports a study when its multirun ends (``conf/experiment/``)."""

from __future__ import annotations

from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import OmegaConf

from infrec.config import sweep_group
from infrec.reports import make_report


class ReportCallback(Callback):
    """Aggregate a multirun's sweep dir with the report of ``kind`` when the sweep ends."""

    def __init__(self, kind: str = "fraction_curve"):
        self.kind = kind

    def on_multirun_end(self, config: Any, **kwargs: Any) -> None:
        logger = OmegaConf.to_container(config.logger, resolve=True)
        logger["group"] = logger.get("group") or sweep_group(config.hydra.sweep.dir)
        make_report(config.hydra.sweep.dir, kind=self.kind, logger=logger)
