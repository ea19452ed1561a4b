"""Choosing hyper-parameters on validation: one step for the app's grids and Distill-CF's λ.

A model's :meth:`~infrec.models.base.Model.candidates` yields ``(hyper-parameters, fitted)``;
:func:`select` validates each, keeps the best by one validation metric and records the grid.
Test data is never looked at here: the caller evaluates the winner on test once.

Fit seconds leave out compilation. The first fit of a new shape in a process pays JAX's tracing,
lowering and XLA compilation (a fraction of a second to seconds); the next fit of that shape in
the same process does not — so in a Hydra multirun the first full-data job would look several
times slower than a later full-data job, and speed-ups would measure the order of the jobs.
:func:`select` therefore *times compilation apart*: JAX reports each compilation's duration
(:mod:`jax.monitoring`), :func:`compile_clock` keeps their time spans, and every candidate's
``fit_seconds`` (and the selection's) is the model's own clock minus the compilation that ran
inside the stretches that clock covers — the candidate's own production and, for a grid whose
fits share a first phase (∞-AE's kernel, EASE's Gram), that phase at the start of the first
candidate — never the validation passes (a trained model's early-stopping monitor), which are not
fit time. A clock that covers only part of its candidate's stretch (a trained model times its
epochs, not the set-up before them) has as much taken off as certainly fell inside it: the
compilation in the stretch less the time the clock does not cover — never more than it holds.
The JAX backend is started before the clock runs (its one-off start-up is not fit time either).
``compile_seconds`` says how much compilation ran while candidates were produced.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from weakref import WeakKeyDictionary

from infrec.errors import InfrecError
from infrec.models.base import Fitted

Metrics = dict[str, float]
Spans = list[tuple[float, float]]
"""Time spans ``(start, end)`` on :func:`time.perf_counter`'s clock."""

COMPILE_EVENTS = (
    "/jax/core/compile/jaxpr_trace_duration",
    "/jax/core/compile/jaxpr_to_mlir_module_duration",
    "/jax/core/compile/backend_compile_duration",
)
"""JAX's events for tracing, lowering and XLA compilation (:mod:`jax.monitoring`)."""


class CompileClock:
    """When JAX compiled in this process: the time span of every tracing, lowering and XLA
    compilation JAX reports, kept (the latest 100,000) for :func:`compile_seconds`."""

    def __init__(self) -> None:
        self._spans: deque[tuple[float, float]] = deque(maxlen=100_000)
        self._lock = threading.Lock()
        self._listening = False

    def start(self) -> None:
        """Listen to JAX's compile events (once per process) and start JAX's backend, so that
        neither its start-up nor compilation counts as fit time."""
        with self._lock:
            if not self._listening:
                from jax import monitoring

                monitoring.register_event_duration_secs_listener(self._heard)
                self._listening = True
        import jax

        jax.devices()  # the backend's one-off start-up, before any clock runs

    def _heard(self, event: str, duration: float, **_: Any) -> None:
        if event in COMPILE_EVENTS:
            end = time.perf_counter()
            with self._lock:
                self._spans.append((end - float(duration), end))

    def spans(self, since: float) -> Spans:
        """Compilation spans that ended after ``since``."""
        with self._lock:
            return [s for s in self._spans if s[1] > since]


_CLOCK: list[CompileClock] = []


def compile_clock() -> CompileClock:
    """The process's :class:`CompileClock` (made on first use)."""
    if not _CLOCK:
        _CLOCK.append(CompileClock())
    return _CLOCK[0]


def _merged(spans: Iterable[tuple[float, float]]) -> Spans:
    out: Spans = []
    for start, end in sorted(s for s in spans if s[1] > s[0]):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def _intersection(a: Sequence[tuple[float, float]], b: Sequence[tuple[float, float]]) -> Spans:
    """The intersection of two merged, sorted lists of spans."""
    out, i, j = [], 0, 0
    while i < len(a) and j < len(b):
        start, end = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if start < end:
            out.append((start, end))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return out


def _length(spans: Iterable[tuple[float, float]]) -> float:
    return sum(end - start for start, end in spans)


def compile_seconds(compiles: Spans, windows: Spans, excluded: Spans = ()) -> float:
    """Seconds of ``compiles`` that fall inside ``windows`` but outside ``excluded`` (each a
    list of spans, overlaps counted once)."""
    inside = _intersection(_merged(compiles), _merged(windows))
    return _length(inside) - _length(_intersection(inside, _merged(excluded)))


class Validation:
    """Validation metrics of fitted models, computed once per fitted model.

    A trained model's early-stopping monitor and the selection after it both ask for the best
    epoch's metrics; the second ask is free.
    """

    def __init__(self, evaluate: Callable[[Fitted], Metrics]):
        self._evaluate = evaluate
        self._seen: WeakKeyDictionary[Fitted, Metrics] = WeakKeyDictionary()
        self.spans: Spans = []
        """When it evaluated: not fit time, though a trained model validates while it trains."""

    def __call__(self, fitted: Fitted) -> Metrics:
        if fitted not in self._seen:
            start = time.perf_counter()
            self._seen[fitted] = self._evaluate(fitted)
            self.spans.append((start, time.perf_counter()))
        return self._seen[fitted]


@dataclass
class Selection:
    """The chosen setting, its fitted model and validation metrics, and every setting tried."""

    hp: dict[str, Any]
    fitted: Fitted
    val: Metrics
    grid: list[dict[str, Any]] = field(default_factory=list)
    fit_seconds: float = 0.0
    validate_seconds: float = 0.0
    compile_seconds: float = 0.0
    """Compilation set apart from ``fit_seconds`` (tracing, lowering, XLA compiling)."""


def select(
    candidates: Iterable[tuple[dict[str, Any], Fitted]],
    validate: Callable[[Fitted], Metrics],
    metric: str,
    *,
    prefer: Callable[[dict[str, Any]], float] | None = None,
    on_candidate: Callable[[int, dict[str, Any], Metrics, float], None] | None = None,
) -> Selection:
    """The candidate with the highest ``validate(fitted)[metric]``.

    A grid with nothing to validate on (the metric is undefined for every candidate) is an error
    unless it has one setting. Ties go to the earlier candidate, or with ``prefer`` to the larger
    ``prefer(hp)`` (Distill-CF prefers the larger λ among equally validating ones, as the
    published code does).
    ``on_candidate(index, hp, metrics, seconds)`` is told about each one as it is validated
    (logging, tracking). Fit seconds are the time spent producing candidates, and each
    candidate's ``fit_seconds`` its model's clock, both without compilation (module docstring).
    """
    best: Selection | None = None
    best_rank: tuple[float, float] | None = None
    grid: list[dict[str, Any]] = []
    fit_s = validate_s = compiled_s = 0.0
    compiles_clock = compile_clock()
    compiles_clock.start()
    validating = getattr(validate, "spans", None)
    validating = validating if isinstance(validating, list) else []
    t_fit = first = time.perf_counter()
    for hp, fitted in candidates:
        t_val = time.perf_counter()
        own = [(t_fit, t_val)]  # producing this candidate; its validation passes set aside
        excluded = _merged(validating)
        compiles = compiles_clock.spans(first)
        monitored = _length(_intersection(own, excluded))
        own_s = t_val - t_fit - monitored
        own_compiled = compile_seconds(compiles, own, excluded)
        # the model's clock: its part inside this candidate's own stretch, and beyond that a
        # first phase the grid shares (∞-AE's kernel), at the start of the first candidate's
        own_clock = min(fitted.fit_seconds, own_s)
        shared_s = fitted.fit_seconds - own_clock
        # a clock that covers only part of its stretch (a trained model times its epochs, not
        # its set-up) may have missed as much compilation as the part it does not cover
        compiled = max(own_compiled - (own_s - own_clock), 0.0)
        if grid and shared_s > 0:
            compiled += compile_seconds(compiles, [(first, first + shared_s)], excluded)
        fitted.fit_seconds = max(fitted.fit_seconds - compiled, 0.0)
        fit_s += own_s - own_compiled
        validate_s += monitored
        compiled_s += own_compiled
        val = validate(fitted)
        validate_s += time.perf_counter() - t_val
        grid.append({"hp": hp, "val": val, "fit_seconds": fitted.fit_seconds})
        if on_candidate is not None:
            on_candidate(len(grid) - 1, hp, val, time.perf_counter() - t_fit)
        rank = (val.get(metric, -math.inf), prefer(hp) if prefer else 0.0)
        if best_rank is None or rank > best_rank:
            best, best_rank = Selection(hp, fitted, val), rank
        t_fit = time.perf_counter()
    if best is None:
        raise InfrecError("the model yielded no settings to choose from (an empty grid?)")
    if metric not in best.val and len(grid) > 1:
        raise InfrecError(
            f"validation has no users with held-out items, so nothing tells the {len(grid)} "
            f"settings apart by {metric}; give one setting (e.g. model.lambdas=[5]) or a split "
            "with validation items"
        )
    best.grid, best.fit_seconds, best.validate_seconds = grid, fit_s, validate_s
    best.compile_seconds = compiled_s
    return best
