"""The full train matrix, unchanged (the reference every other sampler is compared with).

Its budget is 100% by definition: ``budget`` may be left out, or given as 1.0 or the user count
(so sweeps over budgets can include it); anything else is an error.
"""

from __future__ import annotations

from infrec.data.matrix import Split
from infrec.errors import InfrecError
from infrec.models.base import Record, no_record
from infrec.samplers.base import Sampler, Support, describe_support, resolve_budget


class FullSampler(Sampler):
    name = "full"

    def __init__(self, budget: int | float | None, seed: int):
        self.budget, self.seed = budget, seed

    def sample(self, split: Split, record: Record = no_record) -> Support:
        if self.budget is not None and resolve_budget(self.budget, split.n_users) != split.n_users:
            raise InfrecError(f"sampler.budget={self.budget}: full keeps every user; use 1.0")
        return Support(split.train, describe_support(split.train, split.train, 0.0))
