"""The full train matrix, unchanged (the reference every other sampler is compared with)."""

from __future__ import annotations

import scipy.sparse as sp

from infrec.samplers.base import Sampler, Support, describe_support


class FullSampler(Sampler):
    name = "full"

    def __init__(self, seed: int = 0):
        self.seed = seed

    def sample(self, train: sp.csr_matrix) -> Support:
        return Support(train, describe_support(train, train, 0.0))
