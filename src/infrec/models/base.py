"""The model protocol: ``candidates(support)`` yields one fitted model per hyper-parameter setting.

Models that share work across settings (∞-AE's kernel, EASE's Gram matrix) compute it once and
yield a cheap solve per setting; the caller keeps the one that validates best. Trained models
(MF, NeuMF, Mult-VAE, LightGCN) yield one setting, tuned by Hydra sweeps instead, and stop early
on the validation *monitor* the caller passes. A fitted model
turns a *context* matrix (each user's own history: train rows at validation time, train +
validation rows at test time) into a function scoring a block of users over all items.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from infrec.memory import Need
from infrec.registry import build

SCORE_ROWS = 1024
"""Users scored at once inside an evaluation block (:func:`score_in_pieces`): a model's scoring
temporaries stay ``SCORE_ROWS`` rows whatever the block holds (6,040-user blocks of ML-1M held
their device results, host copies and kernel rows whole; docs/performance.md, issue 25)."""


def score_in_pieces(
    rows: np.ndarray, width: int, dtype: Any, score: Callable[[np.ndarray], Any]
) -> np.ndarray:
    """``score(rows)`` as one ``(len(rows), width)`` array filled :data:`SCORE_ROWS` users at a
    time, ``score`` called on each piece of ``rows``."""
    rows = np.asarray(rows)
    out = np.empty((len(rows), width), dtype)
    for start in range(0, len(rows), SCORE_ROWS):
        part = rows[start : start + SCORE_ROWS]
        out[start : start + len(part)] = score(part)
    return out


ScoreFn = Callable[[np.ndarray], np.ndarray]
"""Scores (users × items, float) for an array of user indices."""

Record = Callable[[str, int, dict[str, float]], None]
"""``record(axis, step, values)``: history on a named step axis (``epoch``, ``grid``, …)."""


def no_record(axis: str, step: int, values: dict[str, float]) -> None:
    """The default recorder: history goes nowhere."""


@dataclass
class Monitor:
    """What a trained model reports to while it trains: ``score(fitted)`` is its validation
    score (higher is better, used for early stopping), ``record`` takes its per-epoch history."""

    score: Callable[[Fitted], float]
    record: Record = no_record

    def __call__(self, fitted: Fitted) -> float:
        return self.score(fitted)


class Fitted(ABC):
    """A model fitted on one support with one hyper-parameter setting."""

    fit_seconds: float = 0.0

    @abstractmethod
    def scorer(self, context: sp.csr_matrix) -> ScoreFn:
        """Score users from rows of ``context`` (their history, also masked by the evaluator)."""


class Model(ABC):
    """A recommender family with a hyper-parameter grid chosen on validation."""

    name: str = "model"

    @abstractmethod
    def candidates(
        self, support: sp.csr_matrix | np.ndarray, monitor: Monitor | None = None
    ) -> Iterator[tuple[dict, Fitted]]:
        """Yield ``(hyper-parameters, fitted)`` for every setting of the grid.

        Closed-form models ignore ``monitor``; trained models call it to stop early and keep
        their best epoch (numeric facts such as that epoch are reported as hyper-parameters).
        """

    memory_advice: str = "lower sampler.budget"
    """What to change when :meth:`memory` exceeds ``runtime.memory_gb`` (the up-front error)."""

    def memory(self, support: sp.spmatrix | np.ndarray, block_users: int) -> list[Need]:
        """The large arrays fitting and scoring ``support`` will hold (from its shape and
        whether it is sparse, before any work); empty for models whose memory is small or not
        estimated (the gradient-trained baselines)."""
        return []

    def with_targets(self, train: sp.csr_matrix) -> Model:
        """The model to fit with the split's training rows at hand; this one, unless a model
        fits a support against other targets (Nyström ∞-AE: every training user)."""
        return self

    def for_support(self, hints: dict[str, dict[str, Any]]) -> Model:
        """The model to fit on a support made with ``hints`` (``Support.hints``); this one,
        unless a model knows better (∞-AE on a Distill-CF summary keeps the distilled λ)."""
        return self


def build_model(cfg: Any, **runtime: Any) -> Model:
    """The model ``cfg._target_`` names (``conf/model/<name>.yaml``); ``runtime``: seed, dtype."""
    return build("model", cfg, **runtime)
