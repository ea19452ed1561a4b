"""Head users: keep the users with the most train interactions (the lightest are dropped first).

Ties are broken by user index, so the sampler is deterministic.
"""

from __future__ import annotations

import numpy as np

from infrec.data.matrix import Split
from infrec.samplers.base import UserSubsetSampler


class HeadUserSampler(UserSubsetSampler):
    name = "head_user"

    def choose(self, split: Split, k: int) -> tuple[np.ndarray, dict[str, float]]:
        return np.argsort(-np.diff(split.train.indptr), kind="stable")[:k], {}
