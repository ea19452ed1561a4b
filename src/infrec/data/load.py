"""The prepared split a config names: raw files fetched when missing, then prepared (cached)."""

from __future__ import annotations

import logging
from typing import Any

from infrec.data.download import fetch_dataset, missing_files
from infrec.data.matrix import Split
from infrec.data.prepare import prepare

log = logging.getLogger(__name__)


def load_split(cfg: Any) -> Split:
    """The prepared split for ``cfg.dataset``, fetching raw files first when they are missing."""
    missing = missing_files(cfg.dataset)
    if missing:
        log.info("%s missing; fetching dataset '%s'", ", ".join(missing), cfg.dataset.name)
        fetch_dataset(cfg.dataset)
    return prepare(cfg.dataset, cache_dir=cfg.paths.cache_dir)
