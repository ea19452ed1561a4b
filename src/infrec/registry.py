"""Configs name their implementation: ``_target_: infrec.<package>.<module>.<Class>``.

The YAML in ``conf/<group>/`` is the one source of a model's or sampler's settings: constructors
take no defaults, and :func:`build` passes every key but ``_target_`` and ``name``, plus the
run-wide values a constructor asks for (``seed``, ``dtype``). A key the class does not take, or a
parameter the config does not set, is an error naming it.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any

from hydra.utils import get_class
from omegaconf import DictConfig, OmegaConf

from infrec.errors import InfrecError

RESERVED = ("_target_", "name")


def constructor_params(cls: type) -> list[str]:
    """Keyword parameters of ``cls(...)``, following ``**kwargs`` up to the base classes."""
    names: list[str] = []
    for klass in cls.__mro__:
        if "__init__" not in vars(klass):
            continue
        params = list(inspect.signature(vars(klass)["__init__"]).parameters.values())[1:]
        names += [
            p.name for p in params if p.kind is p.POSITIONAL_OR_KEYWORD and p.name not in names
        ]
        if not any(p.kind is p.VAR_KEYWORD for p in params):
            break
    return names


def build(group: str, cfg: Mapping[str, Any] | DictConfig, **runtime: Any) -> Any:
    """Instantiate the class ``cfg._target_`` names from the rest of ``cfg`` and ``runtime``.

    ``runtime`` holds run-wide values (``seed``, ``dtype``); each is passed only where the
    constructor takes it, and never overrides a key the config sets.
    """
    options = (
        OmegaConf.to_container(cfg, resolve=True) if isinstance(cfg, DictConfig) else dict(cfg)
    )
    name = options.get("name", "?")
    target = options.get("_target_")
    if not target:
        raise InfrecError(f"{group}={name}: its config names no _target_ class")
    try:
        cls = get_class(str(target))
    except Exception as e:  # hydra raises ImportError or ValueError, worded by the import system
        raise InfrecError(f"{group}._target_={target}: cannot be imported ({e})") from None
    params = constructor_params(cls)
    kwargs = {k: v for k, v in options.items() if k not in RESERVED}
    unknown = sorted(set(kwargs) - set(params))
    if unknown:
        raise InfrecError(
            f"{group}={name}: unknown key(s) {', '.join(unknown)}; it takes {', '.join(params)}"
        )
    kwargs.update({k: v for k, v in runtime.items() if k in params and k not in kwargs})
    missing = [p for p in params if p not in kwargs]
    if missing:
        raise InfrecError(
            f"{group}={name}: {', '.join(missing)} not set in conf/{group}/{name}.yaml"
        )
    return cls(**kwargs)
