"""The full train matrix, unchanged (the reference every other sampler is compared with)."""

from __future__ import annotations

from infrec.data.matrix import Split
from infrec.samplers.base import Sampler, Support, describe_support


class FullSampler(Sampler):
    name = "full"

    def __init__(self, seed: int = 0):
        self.seed = seed

    def sample(self, split: Split) -> Support:
        return Support(split.train, describe_support(split.train, split.train, 0.0))
