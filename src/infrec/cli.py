"""The command line's overrides checked before Hydra composes them, so a typo is one line.

Hydra accepts ``+foo=1`` silently, answers ``foo=1`` and ``model.lambda=5`` with generic hints and
``model=easee`` with its search-path dump. :func:`check_overrides` reads the same arguments first
and refuses, in one line naming the bad key or value with the valid choices (and the closest one):

- a config group choice that has no YAML (``model=easee``: "did you mean ease?");
- a key the composed config does not have (``foo=1``, ``model.lambda=5``), listing the keys of
  its parent node;
- an added top-level key (``+foo=1``): infrec reads only the keys its configs declare, so adding
  one would be ignored; ``+`` stays allowed for config groups (``+experiment=debug``) and for new
  entries of a mapping (``+study.paper.custom.mf=20``), which the code reading it checks (a model
  or sampler checks its keys against its constructor).

Keys under ``hydra`` are Hydra's own and left to it; deletions (``~key``) too.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any

from infrec.errors import InfrecError
from infrec.paths import config_dir


def _choices(group: str) -> list[str]:
    folder = config_dir() / group
    return sorted(p.stem for p in folder.glob("*.yaml")) if folder.is_dir() else []


def _closest(word: str, options: Iterable[str]) -> str:
    found = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return f" (did you mean {found[0]}?)" if found else ""


def _values(override: Any) -> list[str]:
    if override.is_sweep_override():
        return [str(v) for v in override.sweep_string_iterator()]
    value = override.value()
    return [str(value)] if value is not None else []


def split_overrides(argv: list[str]) -> list[str]:
    """The overrides among a command line's arguments (Hydra's own flags left out)."""
    from hydra._internal.utils import get_args_parser

    known, rest = get_args_parser().parse_known_args(argv)
    return [*known.overrides, *(a for a in rest if not a.startswith("-"))]


def _own_configs(argv: list[str]) -> bool:
    """Whether the command line points Hydra at other configs (``-cd``, ``-cp``, ``-cn``) or asks
    it for help or its config, where these checks do not apply."""
    from hydra._internal.utils import get_args_parser

    known, _ = get_args_parser().parse_known_args(argv)
    return bool(
        known.config_dir
        or known.config_path
        or known.config_name
        or known.help
        or known.hydra_help
        or known.cfg
        or known.info
        or known.shell_completion
    )


def check_overrides(argv: list[str], config_name: str) -> None:
    """Refuse an unknown group choice, key or added key among ``argv``'s overrides (one line),
    then a run (or sweep) folder that cannot be written (Hydra would fail on it with a
    traceback before infrec's own checks run)."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    try:
        if _own_configs(argv):
            return
        overrides = OverridesParser.create().parse_overrides(split_overrides(argv))
    except Exception:
        return
    groups: list[str] = []
    keys = []
    for o in overrides:
        key = o.key_or_group
        if o.is_delete():
            continue
        if key.startswith("hydra/"):  # hydra/launcher=…: Hydra checks it
            groups.append(_group_override(o))
            continue
        if key.split(".")[0] == "hydra":
            continue
        if _is_group(key):
            options = _choices(key)
            for value in _values(o):
                if value not in options and value != "null":
                    raise InfrecError(
                        f"{key}={value}: no such {key}; choose one of {', '.join(options)}"
                        + _closest(value, options)
                    )
            groups.append(_group_override(o))
        else:
            keys.append(o)
    cfg = _compose([g for g in groups if g], config_name)
    if cfg is None:  # composition errors are Hydra's to report
        return
    if keys:
        _check_keys(keys, cfg)
    _check_output_dir(overrides, "-m" in argv or "--multirun" in argv, cfg)


def _is_group(key: str) -> bool:
    """Whether ``key`` names a config group (``model``, ``hydra/launcher``), not a value."""
    return key.startswith("hydra/") or (config_dir() / key).is_dir()


def _group_override(o: Any) -> str:
    """A group override with a sweep cut to its first choice (``model=ease,mf`` → ``model=ease``);
    empty for ``group=null``."""
    values = _values(o)
    return f"{'+' if o.is_add() else ''}{o.key_or_group}={values[0]}" if values else ""


def _compose(groups: list[str], config_name: str) -> Any:
    """The config (with Hydra's own node) for the group choices alone, or None when it does not
    compose. Composed once, here: it is most of the checks' cost (~0.3 s a composition)."""
    from hydra import compose, initialize_config_dir

    try:
        with initialize_config_dir(str(config_dir()), version_base="1.3"):
            return compose(config_name, overrides=groups, return_hydra_config=True)
    except Exception:
        return None


def _first_value(o: Any) -> Any:
    """An override's value, a sweep's first (typed, as Hydra would set it)."""
    return next(iter(o.sweep_iterator())) if o.is_sweep_override() else o.value()


def _check_output_dir(overrides: list[Any], multirun: bool, cfg: Any) -> None:
    """The run dir (or, in a multirun, the sweep dir) Hydra will create, proved writable: the
    composed config with every key override applied (group choices are in it already)."""
    from omegaconf import OmegaConf

    from infrec.paths import check_writable

    try:
        cfg = cfg.copy()
        for o in overrides:
            if o.is_delete() or _is_group(o.key_or_group):
                continue
            OmegaConf.update(cfg, o.key_or_group, _first_value(o), force_add=True)
        multirun = multirun or str(OmegaConf.select(cfg, "hydra.mode")) == "RunMode.MULTIRUN"
        key = "hydra.sweep.dir" if multirun else "hydra.run.dir"
        folder = OmegaConf.select(cfg, key)
    except Exception:  # resolution errors are Hydra's to report
        return
    if folder:
        check_writable(folder, key)


def _check_keys(keys: list[Any], cfg: Any) -> None:
    from omegaconf import OmegaConf

    for o in keys:
        key = o.key_or_group
        parent, _, leaf = key.rpartition(".")
        node = OmegaConf.select(cfg, parent) if parent else cfg
        # keys(), not `in node`: a key whose value is ``???`` (dataset.path) counts as there
        there = OmegaConf.is_dict(node) and leaf in node.keys()  # noqa: SIM118
        text = o.input_line or key
        if (o.is_add() or o.is_force_add()) and there:
            if o.is_add():
                raise InfrecError(f"{text}: {key} exists already; set it without '+' ({key}=…)")
            continue
        if there:
            continue
        if (o.is_add() or o.is_force_add()) and parent:
            continue  # a new entry in a mapping (study.paper.<dataset>.<model>): its reader checks
        if not OmegaConf.is_dict(node):
            raise InfrecError(f"{text}: {parent or key} has no keys to set")
        hidden = {"hydra"} if not parent else set()  # Hydra's own node, composed alongside
        known = sorted(str(k) for k in node if not str(k).startswith("_") and str(k) not in hidden)
        where = f"{parent} ({_group_choice(parent, cfg)})" if parent else "the config"
        adding = " (infrec reads only the keys its configs declare)" if o.is_add() else ""
        raise InfrecError(
            f"{text}: no key '{leaf}' in {where}{adding}; its keys: {', '.join(known)}"
            + _closest(leaf, known)
        )


def _group_choice(parent: str, cfg: Any) -> str:
    top = parent.split(".")[0]
    name = cfg.get(top, {}).get("name") if top in cfg else None
    return f"{top}={name}" if name else top
