"""User-RNS: a uniformly random subset of users, all of their train interactions kept."""

from __future__ import annotations

import numpy as np

from infrec.data.matrix import Split
from infrec.samplers.base import UserSubsetSampler


class RandomUserSampler(UserSubsetSampler):
    name = "random_user"

    def choose(self, split: Split, k: int) -> tuple[np.ndarray, dict[str, float]]:
        return np.random.default_rng(self.seed).choice(split.n_users, size=k, replace=False), {}
