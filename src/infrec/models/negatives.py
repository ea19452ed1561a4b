"""Training examples for the pairwise/pointwise baselines: positives and sampled negatives.

Real-valued supports (Distill-CF output) are binarised first with
:func:`infrec.data.matrix.binarize` (each row keeps its round(row sum) largest entries),
since BPR and BCE need 0/1 positives. Everything here is vectorised over interactions.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from infrec.data.matrix import binarize
from infrec.errors import InfrecError


def binary_support(support: sp.csr_matrix | np.ndarray) -> sp.csr_matrix:
    """The support as a sorted 0/1 CSR matrix (binarised when it holds other values)."""
    m = sp.csr_matrix(support, dtype=np.float32)
    m.eliminate_zeros()
    if m.nnz and not np.all(m.data == 1.0):
        m = binarize(support)
    m.sort_indices()
    if m.nnz == 0:
        raise InfrecError("the support has no interactions to train on")
    return m


def pairs(m: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray]:
    """(user, item) of every stored entry, in CSR order."""
    users = np.repeat(np.arange(m.shape[0], dtype=np.int32), np.diff(m.indptr))
    return users, m.indices.astype(np.int32)


def sample_negatives(
    m: sp.csr_matrix, users: np.ndarray, n: int, rng: np.random.Generator, rounds: int = 10
) -> np.ndarray:
    """``n`` items per entry of ``users`` drawn uniformly among the items each user lacks.

    Rejection sampling, vectorised: collisions with a user's positives are redrawn up to
    ``rounds`` times (a user with almost every item may keep a rare collision); each round checks
    only the draws it just redrew.
    """
    n_items = m.shape[1]
    keys = np.repeat(np.arange(m.shape[0], dtype=np.int64), np.diff(m.indptr)) * n_items
    keys += m.indices
    neg = rng.integers(0, n_items, size=(len(users), n), dtype=np.int32)
    flat = neg.reshape(-1)
    owner = np.repeat(users.astype(np.int64) * n_items, n)
    check = np.arange(flat.size)
    for _ in range(rounds):
        cand = owner[check] + flat[check]
        pos = np.minimum(np.searchsorted(keys, cand), len(keys) - 1)
        check = check[keys[pos] == cand]
        if not check.size:
            break
        flat[check] = rng.integers(0, n_items, size=check.size, dtype=np.int32)
    return neg


def batched(arrays: dict[str, np.ndarray], batch_size: int, rng: np.random.Generator) -> dict:
    """Shuffle equal-length arrays and reshape them to (batches, batch_size, ...).

    The remainder after the last full batch is dropped (a different one each epoch); a dataset
    smaller than one batch becomes one batch of all its rows.
    """
    n = len(next(iter(arrays.values())))
    size = min(int(batch_size), n)
    order = rng.permutation(n)[: (n // size) * size]
    return {k: v[order].reshape(n // size, size, *v.shape[1:]) for k, v in arrays.items()}
