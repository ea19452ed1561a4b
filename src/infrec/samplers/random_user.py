"""User-RNS: a uniformly random subset of users, all of their train interactions kept."""

from __future__ import annotations

import time

import numpy as np

from infrec.data.matrix import Split
from infrec.samplers.base import Sampler, Support, keep_rows, resolve_budget


class RandomUserSampler(Sampler):
    name = "random_user"

    def __init__(self, budget: int | float | None = None, seed: int = 0):
        self.budget, self.seed = budget, seed

    def sample(self, split: Split) -> Support:
        start = time.perf_counter()
        k = resolve_budget(self.budget, split.n_users)
        rows = np.random.default_rng(self.seed).choice(split.n_users, size=k, replace=False)
        return keep_rows(split.train, rows, time.perf_counter() - start)
