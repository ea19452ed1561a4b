"""PopRec: every user gets the items ranked by their popularity in the support.

Popularity is a column sum of the support (counts for 0/1 data, expected counts for real-valued
supports); the evaluator removes each user's own history. No hyper-parameters, no training.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import numpy as np
import scipy.sparse as sp

from infrec.models.base import Fitted, Model, Monitor, ScoreFn
from infrec.numerics import resolve_dtype


class PopRecFitted(Fitted):
    def __init__(self, popularity: np.ndarray):
        self.popularity = popularity

    def scorer(self, context: sp.csr_matrix) -> ScoreFn:
        pop = self.popularity
        return lambda rows: np.broadcast_to(pop, (len(rows), len(pop)))


class PopRec(Model):
    name = "poprec"

    def __init__(self, dtype: str):
        self.dtype = resolve_dtype(dtype)

    def candidates(
        self, support: sp.csr_matrix | np.ndarray, monitor: Monitor | None = None
    ) -> Iterator[tuple[dict, PopRecFitted]]:
        start = time.perf_counter()
        fitted = PopRecFitted(np.asarray(support.sum(0), self.dtype).ravel())
        fitted.fit_seconds = time.perf_counter() - start
        yield {}, fitted
