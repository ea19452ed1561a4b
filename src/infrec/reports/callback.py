"""The Hydra callback that reports a study when its multirun ends (``conf/experiment/``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import OmegaConf

from infrec.config import one_line_errors, sweep_group
from infrec.errors import InfrecError
from infrec.reports import make_report
from infrec.reports.publish import check_publishable, publish


class ReportCallback(Callback):
    """Aggregate a multirun's sweep dir with the report of ``kind`` when the sweep ends.

    The report goes to ``<sweep dir>/report``; with ``publish_dir`` also there, a fixed folder
    that DVC plots and metrics read (``dvc.yaml``) whichever timestamped sweep made it last. With
    ``extend``, the published report's rows for each (model, sampler, budget) this sweep did not
    run are kept (a sweep of one more model or budget adds it to the study instead of replacing
    the study).
    """

    def __init__(
        self, kind: str = "fraction_curve", publish_dir: str | None = None, extend: bool = False
    ):
        if extend and not publish_dir:
            raise InfrecError("the report callback extends its publish_dir: set one")
        self.kind = kind
        self.publish_dir = publish_dir
        self.extend = extend

    @one_line_errors
    def on_multirun_start(self, config: Any, **kwargs: Any) -> None:
        """Refuse a publish_dir holding a user's files before the sweep runs, not after."""
        if self.publish_dir:
            check_publishable(Path(self.publish_dir))

    @one_line_errors
    def on_multirun_end(self, config: Any, **kwargs: Any) -> None:
        logger = OmegaConf.to_container(config.logger, resolve=True)
        logger["group"] = logger.get("group") or sweep_group(config.hydra.sweep.dir)
        study = config.get("study")
        if study is not None and study.get("name"):  # debug's report is the debug study's
            logger["tags"] = [f"study:{study.name}", *(logger.get("tags") or [])]
        report = make_report(
            config.hydra.sweep.dir,
            kind=self.kind,
            logger=logger,
            extend=self.publish_dir if self.extend else None,
        )
        if self.publish_dir:
            publish(report, Path(self.publish_dir))
