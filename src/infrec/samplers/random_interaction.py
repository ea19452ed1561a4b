"""Interaction-RNS: a uniformly random share of train interactions; users left empty are dropped.

The budget counts interactions (an int) or is their share (a float in (0, 1]).
"""

from __future__ import annotations

import time

import numpy as np
import scipy.sparse as sp

from infrec.data.matrix import Split
from infrec.models.base import Record, no_record
from infrec.samplers.base import Sampler, Support, describe_support, resolve_budget


class RandomInteractionSampler(Sampler):
    name = "random_interaction"

    def __init__(self, budget: int | float | None, seed: int):
        self.budget, self.seed = budget, seed

    def sample(self, split: Split, record: Record = no_record) -> Support:
        start = time.perf_counter()
        train = split.train
        k = resolve_budget(self.budget, train.nnz, what="interactions")
        keep = np.zeros(train.nnz, bool)
        keep[np.random.default_rng(self.seed).choice(train.nnz, size=k, replace=False)] = True
        coo = train.tocoo()
        kept = sp.csr_matrix(
            (coo.data[keep], (coo.row[keep], coo.col[keep])), shape=train.shape, dtype=np.float32
        )
        matrix = kept[np.diff(kept.indptr) > 0]
        return Support(matrix, describe_support(matrix, train, time.perf_counter() - start))
