"""The sampler protocol: ``sample(split) -> Support`` (a matrix plus what was kept and how fast).

A support is just another dataset: users × items, values in [0, 1] (real values allowed), fitted
on by any model and evaluated on every real user. Budgets are a count (an int ≥ 1: users, or
interactions for ``random_interaction``) or a share (a float in (0, 1]).
"""

from __future__ import annotations

import math
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from infrec.data.matrix import Split
from infrec.errors import InfrecError
from infrec.models.base import Record, no_record
from infrec.registry import build


@dataclass
class Support:
    """What a model is fitted on, with metadata: ``users``, ``interactions``, ``user_share``,
    ``interaction_share`` and ``seconds`` (plus sampler-specific numbers)."""

    matrix: sp.csr_matrix | np.ndarray
    meta: dict[str, float] = field(default_factory=dict)
    hints: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Settings the support was made for, per model name (Distill-CF: ∞-AE's depth and λ), which
    :meth:`infrec.models.base.Model.for_support` may adopt."""


def describe_support(
    matrix: sp.csr_matrix | np.ndarray, train: sp.csr_matrix, seconds: float
) -> dict[str, float]:
    """Users, interactions and their shares of the full train matrix.

    ``interactions`` is the total mass of the support (its sum): the count of 1s for binary
    supports, the expected number of interactions for real-valued ones (Distill-CF).
    """
    mass = float(matrix.sum())
    return {
        "users": float(matrix.shape[0]),
        "interactions": mass,
        "user_share": matrix.shape[0] / max(train.shape[0], 1),
        "interaction_share": mass / max(train.nnz, 1),
        "seconds": float(seconds),
    }


def resolve_budget(budget: Any, total: int, what: str = "users") -> int:
    """A budget as a count out of ``total``: ints are counts, floats in (0, 1] are shares."""
    if budget is None or isinstance(budget, bool):
        raise InfrecError(f"sampler.budget is not set; give a count of {what} or a share in (0, 1]")
    value = float(budget)
    if isinstance(budget, float) and 0 < value <= 1:
        return max(1, round(value * total))
    if isinstance(budget, float) and value > 1:
        raise InfrecError(
            f"sampler.budget={budget}: a float is a share in (0, 1]; give a count of {what} as an "
            "integer (e.g. 500)"
        )
    if value != int(value) or value < 1 or math.isnan(value):
        raise InfrecError(
            f"sampler.budget={budget}: use a count of {what} ≥ 1 or a share in (0, 1]"
        )
    if value > total:
        raise InfrecError(f"sampler.budget={budget}: above the {total:,} {what} available")
    return int(value)


def keep_rows(train: sp.csr_matrix, rows: np.ndarray, seconds: float, **extra: float) -> Support:
    """The support made of some users' train rows (in ascending user order)."""
    rows = np.sort(np.asarray(rows))
    matrix = train[rows]
    return Support(matrix, {**describe_support(matrix, train, seconds), **extra})


class Sampler(ABC):
    name: str = "sampler"

    @abstractmethod
    def sample(self, split: Split, record: Record = no_record) -> Support:
        """The support for this sampler's budget, from ``split.train`` (validation data only
        where a sampler tunes itself, as Distill-CF does); ``record`` takes the history of
        samplers that optimise (Distill-CF's steps)."""


class UserSubsetSampler(Sampler):
    """Keeps ``budget`` real users chosen by :meth:`choose`, with all their train interactions."""

    def __init__(self, budget: int | float | None, seed: int):
        self.budget, self.seed = budget, seed

    @abstractmethod
    def choose(self, split: Split, k: int) -> tuple[np.ndarray, dict[str, float]]:
        """``k`` user indices, and any sampler-specific numbers for the metadata."""

    def sample(self, split: Split, record: Record = no_record) -> Support:
        start = time.perf_counter()
        rows, extra = self.choose(split, resolve_budget(self.budget, split.n_users))
        return keep_rows(split.train, rows, time.perf_counter() - start, **extra)


def build_sampler(cfg: Any, **runtime: Any) -> Sampler:
    """The sampler ``cfg._target_`` names (``conf/sampler/<name>.yaml``); ``runtime``: the run's
    ``seed`` and, for samplers that cache their output, ``support_dir`` (``paths.support_dir``)."""
    return build("sampler", cfg, **runtime)
