"""Head users: keep the users with the most train interactions (the lightest are dropped first).

Ties are broken by user index, so the sampler is deterministic.
"""

from __future__ import annotations

import time

import numpy as np

from infrec.data.matrix import Split
from infrec.samplers.base import Sampler, Support, keep_rows, resolve_budget


class HeadUserSampler(Sampler):
    name = "head_user"

    def __init__(self, budget: int | float | None = None, seed: int = 0):
        self.budget, self.seed = budget, seed

    def sample(self, split: Split) -> Support:
        start = time.perf_counter()
        k = resolve_budget(self.budget, split.n_users)
        counts = np.diff(split.train.indptr)
        rows = np.argsort(-counts, kind="stable")[:k]
        return keep_rows(split.train, rows, time.perf_counter() - start)
