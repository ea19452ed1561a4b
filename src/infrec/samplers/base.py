"""The sampler protocol: ``sample(train) -> Support`` (a matrix plus what was kept and how fast)."""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from infrec.errors import InfrecError


@dataclass
class Support:
    """What a model is fitted on: users × items, values in [0, 1] (real values allowed)."""

    matrix: sp.csr_matrix | np.ndarray
    meta: dict[str, float] = field(default_factory=dict)


def describe_support(matrix: sp.csr_matrix | np.ndarray, train: sp.csr_matrix, seconds: float):
    """Users, interactions and shares kept relative to the full train matrix."""
    nnz = matrix.nnz if sp.issparse(matrix) else int(np.count_nonzero(matrix))
    return {
        "users": float(matrix.shape[0]),
        "interactions": float(nnz),
        "user_share": matrix.shape[0] / max(train.shape[0], 1),
        "interaction_share": nnz / max(train.nnz, 1),
        "seconds": seconds,
    }


class Sampler(ABC):
    name: str = "sampler"

    @abstractmethod
    def sample(self, train: sp.csr_matrix) -> Support:
        """The support for this sampler's budget."""


SAMPLERS = {"full": "FullSampler"}


def build_sampler(cfg: Any, seed: int = 0) -> Sampler:
    name = str(cfg.get("name"))
    if name not in SAMPLERS:
        raise InfrecError(
            f"sampler.name={name!r}: unknown sampler; choose one of {sorted(SAMPLERS)}"
        )
    module = importlib.import_module(f"infrec.samplers.{name}")
    options = {k: v for k, v in dict(cfg).items() if k != "name"}
    return getattr(module, SAMPLERS[name])(seed=seed, **options)
