"""Configs name their implementation: ``<group>.name`` selects ``infrec.<package>.<name>``."""

from __future__ import annotations

import importlib
from typing import Any

from infrec.errors import InfrecError


def instantiate(group: str, package: str, classes: dict[str, str], cfg: Any, **kwargs: Any):
    """Build ``classes[cfg.name]`` from module ``infrec.<package>.<cfg.name>``.

    Every config key but ``name`` becomes a keyword argument, so an unknown key fails loudly
    (``TypeError`` naming it) instead of being ignored.
    """
    name = str(cfg.get("name"))
    if name not in classes:
        raise InfrecError(f"{group}.name={name!r}: unknown; choose one of {sorted(classes)}")
    module = importlib.import_module(f"infrec.{package}.{name}")
    options = {k: v for k, v in dict(cfg).items() if k != "name"}
    try:
        return getattr(module, classes[name])(**kwargs, **options)
    except TypeError as e:
        raise InfrecError(f"{group}={name}: {e}") from None
