"""How a Distill-CF summary is handed to the models (``sampler.export``).

A summary is μ real-valued rows (values in [0, 1], each row's mass ≈ γ). The export is applied
after the distillation (or its cache), so one cached summary serves every export:

- ``values``: the rows as they are (∞-AE, EASE and Mult-VAE use the values; MF, NeuMF and
  LightGCN binarise each row to its round(mass) largest entries,
  :func:`infrec.models.negatives.binary_support`, unless ``model.support_weights=true``).
- ``degree``: each row binarised to a degree drawn (seeded) from the real train users' degrees,
  keeping its largest entries.
- ``sample``: the same degrees, the items drawn without replacement with the row's values as
  probabilities (Gumbel top-k: the largest ``log x + Gumbel`` keys, Efraimidis–Spirakis).

Degrees are capped by the row's nonzero entries (and so by the item count); ``degree`` and
``sample`` draw the same degrees for the same seed.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from infrec.data.matrix import top_per_row
from infrec.errors import InfrecError

EXPORTS = ("values", "degree", "sample")
"""``sampler.export``: the values, top entries to a real degree, or items sampled to one."""

STREAM = 23
"""Mixed into the run's seed for the export's draws (independent of the distillation's)."""


def check_export(export: str) -> str:
    """``export`` when it is one of :data:`EXPORTS`; else a one-line error naming them."""
    if export not in EXPORTS:
        raise InfrecError(f"sampler.export={export!r}: choose one of {', '.join(EXPORTS)}")
    return export


def real_degrees(train: sp.csr_matrix, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` degrees drawn with replacement from the train users who have any interaction."""
    degrees = np.diff(sp.csr_matrix(train).indptr)
    degrees = degrees[degrees > 0]
    if not degrees.size:
        raise InfrecError("sampler.export: the train matrix has no users' degrees to draw from")
    return rng.choice(degrees, size=n)


def export_summary(
    matrix: sp.spmatrix | np.ndarray, train: sp.csr_matrix, export: str, seed: int
) -> sp.spmatrix | np.ndarray:
    """The summary as ``export`` hands it to the models (``values``: ``matrix`` itself)."""
    if check_export(export) == "values":
        return matrix
    dense = matrix.toarray() if sp.issparse(matrix) else np.asarray(matrix, np.float64)
    rng = np.random.default_rng((int(seed), STREAM))
    counts = np.minimum(real_degrees(train, dense.shape[0], rng), (dense > 0).sum(1))
    if export == "degree":
        return top_per_row(dense, counts)
    with np.errstate(divide="ignore"):
        keys = np.log(np.clip(dense, 0, None)) + rng.gumbel(size=dense.shape)
    return top_per_row(keys, counts)
