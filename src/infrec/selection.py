"""Choosing hyper-parameters on validation: one step for the app's grids and Distill-CF's λ.

A model's :meth:`~infrec.models.base.Model.candidates` yields ``(hyper-parameters, fitted)``;
:func:`select` validates each, keeps the best by one validation metric and records the grid.
Test data is never looked at here: the caller evaluates the winner on test once.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from weakref import WeakKeyDictionary

from infrec.errors import InfrecError
from infrec.models.base import Fitted

Metrics = dict[str, float]


class Validation:
    """Validation metrics of fitted models, computed once per fitted model.

    A trained model's early-stopping monitor and the selection after it both ask for the best
    epoch's metrics; the second ask is free.
    """

    def __init__(self, evaluate: Callable[[Fitted], Metrics]):
        self._evaluate = evaluate
        self._seen: WeakKeyDictionary[Fitted, Metrics] = WeakKeyDictionary()

    def __call__(self, fitted: Fitted) -> Metrics:
        if fitted not in self._seen:
            self._seen[fitted] = self._evaluate(fitted)
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
    (logging, tracking). Fit seconds are the time spent producing candidates.
    """
    best: Selection | None = None
    best_rank: tuple[float, float] | None = None
    grid: list[dict[str, Any]] = []
    fit_s = validate_s = 0.0
    t_fit = time.perf_counter()
    for hp, fitted in candidates:
        t_val = time.perf_counter()
        fit_s += t_val - t_fit
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
    return best
