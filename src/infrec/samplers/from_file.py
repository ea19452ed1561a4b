"""Any saved support (``.npz`` from :mod:`infrec.samplers.support_file`), optionally binarised.

The file is checked whole before use (:func:`~infrec.samplers.support_file.load_support`: its
structure, values in ``[0, 1]``, metadata, content hash) and must fit the dataset
(:func:`~infrec.samplers.support_file.check_fits`).

``budget`` (optional) states the size the support must have — a user count, or a share of the
dataset's users — and a mismatch is an error, so a sweep over budgets cannot mix up files.
"""

from __future__ import annotations

import time

from infrec.data.matrix import Split
from infrec.data.matrix import binarize as binarize_rows
from infrec.errors import InfrecError
from infrec.models.base import Record, no_record
from infrec.samplers.base import Sampler, Support, describe_support, resolve_budget
from infrec.samplers.support_file import check_fits, load_support


class FromFileSampler(Sampler):
    name = "from_file"

    def __init__(
        self,
        path: str | None,
        binarize: bool,
        per_row: int | None,
        budget: int | float | None,
        seed: int,
    ):
        if not path:
            raise InfrecError("sampler.path is not set; give a support .npz (see infrec-distill)")
        self.path, self.binarize, self.per_row, self.seed = str(path), binarize, per_row, seed
        self.budget = budget

    def sample(self, split: Split, record: Record = no_record) -> Support:
        start = time.perf_counter()
        matrix, meta = load_support(self.path)
        check_fits(self.path, matrix, meta, split)
        if self.budget is not None:
            expected = resolve_budget(self.budget, split.n_users)
            if matrix.shape[0] != expected:
                raise InfrecError(
                    f"{self.path}: {matrix.shape[0]} users, but sampler.budget={self.budget} "
                    f"means {expected}"
                )
        if self.binarize:
            matrix = binarize_rows(matrix, self.per_row)
        info = describe_support(matrix, split.train, time.perf_counter() - start)
        return Support(matrix, info)
