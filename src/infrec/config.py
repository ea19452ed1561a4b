"""Config plumbing shared by the entry points: resolvers, sweep groups and run names.

Registering the resolvers and the schema is an explicit call (:func:`register`, made by
:func:`run_app` in each entry point and by tests that compose a config); importing this module
changes nothing.

- ``${infrec.root:}``: the project root, so paths hold wherever a command is started;
- ``${infrec.name:<key>,${<key>}}``: a config value used in a folder name (the run and sweep
  dirs), refused with one line when it holds a separator, ``..`` or a control character;
- ``${infrec.sweep_group:}``: in a multirun, the sweep's name (:func:`sweep_group` of its dir),
  so every job of a sweep — plain ``-m``, ``search=``, ``experiment=`` — and its report land in
  one W&B group; ``null`` in a single run.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from omegaconf import MISSING, OmegaConf

from infrec.errors import InfrecError, fail
from infrec.paths import project_root, safe_name, user_error


def sweep_group(sweep_dir: str | Path) -> str:
    """A sweep's name from its dir: its last three path parts joined by ``-`` (e.g.
    ``fraction_curve-ml-100k-2026-12-01_10-00-00`` for ``outputs/studies/fraction_curve/…``)."""
    return "-".join(Path(sweep_dir).parts[-3:])


def _current_sweep_group() -> str | None:
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    if not HydraConfig.initialized():
        return None
    hydra = HydraConfig.get()
    return sweep_group(hydra.sweep.dir) if hydra.mode == RunMode.MULTIRUN else None


def register_resolvers() -> None:
    """Register ``${infrec.root:}`` and ``${infrec.sweep_group:}`` (once)."""
    if not OmegaConf.has_resolver("infrec.root"):
        OmegaConf.register_new_resolver("infrec.root", lambda: str(project_root()))
    if not OmegaConf.has_resolver("infrec.sweep_group"):
        OmegaConf.register_new_resolver("infrec.sweep_group", _current_sweep_group)
    if not OmegaConf.has_resolver("infrec.name"):
        OmegaConf.register_new_resolver("infrec.name", _path_name)


def _path_name(key: str, value: Any) -> str:
    """``${infrec.name:dataset.name,${dataset.name}}``: the value, refused (naming the key) when
    it would not stay one folder or file name in the path it builds (:func:`safe_name`)."""
    try:
        return safe_name(value, key)
    except InfrecError as e:
        raise fail(e) from None


NAMED_ELSEWHERE = ("dataset", "model", "sampler", "sampler.budget", "seed")
"""Override keys a run's name and tags already carry (or, for the seed, its group and config)."""
NOT_DIFFERENCES = ("hydra", "paths", "logger", "dataset.path", "dataset.filename", "runtime")
"""Override keys that change where or how a run is recorded, not what it measures."""


def job_overrides() -> list[str]:
    """This job's command-line overrides (in a multirun, the sweep's values for this job)."""
    from hydra.core.hydra_config import HydraConfig

    if not HydraConfig.initialized():
        return []
    return [str(o) for o in HydraConfig.get().overrides.task]


def differences(overrides: list[str]) -> list[str]:
    """The overrides that make this run differ from its siblings: ``depth=2``, ``lr=0.01``…
    (the leaf key), leaving out what the name already says and where things are written."""
    out = []
    for text in overrides:
        key, sep, value = text.lstrip("+~").partition("=")
        if not sep or key in NAMED_ELSEWHERE or key.split(".")[0].split("/")[0] in NOT_DIFFERENCES:
            continue
        if key.startswith(NOT_DIFFERENCES) or key in ("experiment", "search", "tuner"):
            continue
        out.append(f"{key.rsplit('.', 1)[-1]}={value}")
    return out


def run_name(cfg: Any, overrides: list[str] | None = None) -> str:
    """``<dataset>-<model>-<sampler>[-<budget>][-<key=value>…]-seed<seed>``: what a run is at a
    glance on a dashboard, unique within a sweep (the overrides that differ are in it)."""
    parts = [cfg.dataset.name, cfg.model.name, cfg.sampler.name]
    budget = cfg.sampler.get("budget")
    if budget is not None and cfg.sampler.name != "full":
        parts.append(f"{budget:g}" if isinstance(budget, float) else str(budget))
    parts += differences(job_overrides() if overrides is None else overrides)
    parts.append(f"seed{cfg.seed}")
    return "-".join(str(p) for p in parts)


def run_tags(cfg: Any, overrides: list[str] | None = None) -> list[str]:
    """Tags to filter a dashboard by: dataset, model, sampler (and budget), each differing
    override, the study if any, and the user's."""
    tags = [f"dataset:{cfg.dataset.name}", f"model:{cfg.model.name}", f"sampler:{cfg.sampler.name}"]
    budget = cfg.sampler.get("budget")
    if budget is not None and cfg.sampler.name != "full":
        tags.append(f"budget:{budget:g}" if isinstance(budget, float) else f"budget:{budget}")
    tags += differences(job_overrides() if overrides is None else overrides)
    study = cfg.get("study")
    if study is not None and study.get("name"):
        tags.append(f"study:{study.name}")
    return tags + [str(t) for t in (cfg.logger.get("tags") or [])]


@dataclass
class EvalSchema:
    ks: list[int] = MISSING
    n_negatives: int = MISSING
    block_users: Optional[int] = None  # noqa: UP045
    users: Optional[float] = None  # noqa: UP045 - OmegaConf's schemas need typing.Optional


@dataclass
class RuntimeSchema:
    memory_gb: Optional[float] = None  # noqa: UP045 - OmegaConf's schemas need typing.Optional
    distributed: bool = False
    coordinator: Optional[str] = None  # noqa: UP045
    processes: Optional[int] = None  # noqa: UP045
    process_id: Optional[int] = None  # noqa: UP045


@dataclass
class SelectionSchema:
    metric: str = MISSING


@dataclass
class RunSchema:
    """The types of ``conf/config.yaml``'s own keys, checked by Hydra as it composes a config
    (``seed=abc`` fails there, naming the key); values and defaults stay in the YAML. The groups'
    own keys (``model.*``, ``sampler.*``) are checked against their constructors by
    :func:`infrec.registry.build` before any data is read."""

    seed: int = MISSING
    dtype: str = MISSING
    eval: EvalSchema = field(default_factory=EvalSchema)
    selection: SelectionSchema = field(default_factory=SelectionSchema)
    runtime: RuntimeSchema = field(default_factory=RuntimeSchema)
    dataset: Any = MISSING
    sampler: Any = MISSING
    model: Any = MISSING
    logger: Any = MISSING
    paths: Any = MISSING
    study: Any = None


def register_schema() -> None:
    """Store :class:`RunSchema` as ``infrec_schema``, the first entry of config.yaml's defaults."""
    from hydra.core.config_store import ConfigStore

    ConfigStore.instance().store(name="infrec_schema", node=RunSchema)


def register() -> None:
    """Everything Hydra needs from infrec before composing a config: resolvers and the schema."""
    register_resolvers()
    register_schema()


def one_line_errors(task: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a Hydra task or callback so bad input — or a full disk, a read-only or unwritable
    folder — ends it with one ``error: …`` line and :data:`~infrec.errors.USER_ERROR_EXIT`, not a
    traceback (Hydra lets ``SystemExit`` through)."""

    @functools.wraps(task)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        try:
            return task(*args, **kwargs)
        except InfrecError as e:  # printed once, on stderr (a log line would repeat it)
            raise fail(e) from None
        except OSError as e:
            raise fail(user_error(e, "reading or writing")) from None

    return wrapped


@contextmanager
def exit_cleanly() -> Iterator[None]:
    """Ctrl-C ends an entry point with one line and exit status 130, not a traceback; a closed
    pipe (``infrec-train --help | head``) ends it quietly."""
    try:
        yield
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.stdout.flush()
        sys.stderr.flush()
        # the run's own clean-up (trackers, temporary files) ran as the interrupt unwound; an
        # interpreter shutdown with XLA's threads mid-computation can crash (SIGSEGV), so leave now
        os._exit(130)
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise SystemExit(0) from None


def run_app(hydra_main: Callable[[], Any], config_name: str = "config") -> None:
    """Start a Hydra entry point: one malloc arena (:func:`infrec.threads.one_malloc_arena`),
    register infrec's resolvers and schema, refuse a mistyped override in one line
    (:func:`infrec.cli.check_overrides`), exit cleanly on Ctrl-C."""
    from infrec.cli import check_overrides
    from infrec.threads import one_malloc_arena

    one_malloc_arena()
    register()
    with exit_cleanly():
        try:
            check_overrides(sys.argv[1:], config_name)
        except InfrecError as e:
            raise fail(e) from None
        hydra_main()
