"""Configs name their implementation: ``_target_: infrec.<package>.<module>.<Class>``.

The YAML in ``conf/<group>/`` is the one source of a model's or sampler's settings: constructors
take no defaults, and :func:`build` passes every key but ``_target_`` and ``name``, plus the
run-wide values a constructor asks for (``seed``, ``dtype``). A key the class does not take, or a
parameter the config does not set, is an error naming it, and so is a value whose type does not
match the constructor's annotation (``model.depth=abc``: "expected an integer") — all before any
data is read.
"""

from __future__ import annotations

import inspect
import types
import typing
from collections.abc import Mapping, Sequence
from typing import Any

from hydra.utils import get_class
from omegaconf import DictConfig, OmegaConf

from infrec.errors import InfrecError

RESERVED = ("_target_", "name")

_NAMES = {int: "an integer", float: "a number", bool: "true or false", str: "a string"}


def _describe(hint: Any) -> str:
    origin = typing.get_origin(hint)
    if hint is type(None):
        return "null"
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(hint)
        if float in options:  # an int is a number too
            options = tuple(h for h in options if h is not int)
        return " or ".join(_describe(h) for h in options)
    if origin is not None and issubclass(origin, Sequence) and origin is not str:
        (item, *_) = typing.get_args(hint) or (Any,)
        return f"a list of {_describe(item).removeprefix('an ').removeprefix('a ')}s"
    return _NAMES.get(hint, getattr(hint, "__name__", str(hint)))


def matches(value: Any, hint: Any) -> bool:
    """Whether a config value has the type a constructor annotates (ints pass for floats)."""
    origin = typing.get_origin(hint)
    if hint is Any or hint is inspect.Parameter.empty:
        return True
    if hint is type(None):
        return value is None
    if origin in (typing.Union, types.UnionType):
        return any(matches(value, h) for h in typing.get_args(hint))
    if origin is not None and issubclass(origin, Sequence) and origin is not str:
        (item, *_) = typing.get_args(hint) or (Any,)
        return isinstance(value, list | tuple) and all(matches(v, item) for v in value)
    if hint is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if isinstance(hint, type):
        return isinstance(value, hint)
    return True


def check_types(group: str, values: Mapping[str, Any], hints: Mapping[str, Any]) -> None:
    """A one-line error naming the first key whose value has the wrong type, and the type."""
    for key, value in values.items():
        if key in hints and not matches(value, hints[key]):
            raise InfrecError(f"{group}.{key}={value!r}: expected {_describe(hints[key])}")


def constructor_hints(cls: type) -> dict[str, Any]:
    """Keyword parameters of ``cls(...)`` and their annotations, following ``**kwargs`` up the
    base classes."""
    hints: dict[str, Any] = {}
    for klass in cls.__mro__:
        init = vars(klass).get("__init__")
        if init is None:
            continue
        annotations = typing.get_type_hints(init)
        params = list(inspect.signature(init).parameters.values())[1:]
        for p in params:
            if p.kind is p.POSITIONAL_OR_KEYWORD and p.name not in hints:
                hints[p.name] = annotations.get(p.name, Any)
        if not any(p.kind is p.VAR_KEYWORD for p in params):
            break
    return hints


def constructor_params(cls: type) -> list[str]:
    """Keyword parameters of ``cls(...)``, following ``**kwargs`` up to the base classes."""
    return list(constructor_hints(cls))


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
    hints = constructor_hints(cls)
    params = list(hints)
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
    check_types(group, kwargs, hints)
    return cls(**kwargs)
