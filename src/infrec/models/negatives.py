"""Training examples for the pairwise/pointwise baselines: positives and sampled negatives.

Real-valued supports (Distill-CF output) are binarised first with
:func:`infrec.data.matrix.binarize` (each row keeps its round(row sum) largest entries),
since BPR and BCE need 0/1 positives — or, with ``model.support_weights=true``, trained on as
they are (:class:`TrainingPairs`): each epoch a row of mass m gives round(m) positives drawn
with its values as probabilities and negatives drawn with 1 − value as probabilities.
Everything here is vectorised over interactions.
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
    if m.nnz and not is_binary(m):
        m = binarize(support)
    m.sort_indices()
    if m.nnz == 0:
        raise InfrecError("the support has no interactions to train on")
    return m


def is_binary(support: sp.spmatrix | np.ndarray) -> bool:
    """True when every stored value of ``support`` is 0 or 1."""
    values = support.data if sp.issparse(support) else np.asarray(support)
    return bool(np.all((values == 0) | (values == 1)))


def draw_from_rows(
    weights: np.ndarray, users: np.ndarray, n: int, rng: np.random.Generator
) -> np.ndarray:
    """``n`` items per entry of ``users``, drawn with replacement with probabilities ∝ the
    user's row of ``weights`` (rows with positive sums; zero-weight items are never drawn).

    Vectorised inverse CDF: each row's normalised cumulative sum is shifted by its row index so
    one ``searchsorted`` over the flattened rows serves every user.
    """
    n_rows, n_items = weights.shape
    cdf = np.cumsum(weights, axis=1, dtype=np.float64)
    cdf /= cdf[:, -1:]
    cdf[:, -1] = 1.0
    flat = (cdf + np.arange(n_rows)[:, None]).ravel()
    u = users.astype(np.int64)[:, None]
    pos = np.searchsorted(flat, u + rng.random((len(users), n)), side="right")
    return np.minimum(pos - u * n_items, n_items - 1).astype(np.int32)


class TrainingPairs:
    """Each epoch's (user, positive, negatives) from a support.

    Binary supports (and real-valued ones unless ``weighted``, binarised by
    :func:`binary_support`): every interaction once, negatives uniform among the items the user
    lacks. ``weighted`` real-valued supports: round(row mass) positives per row (at least one)
    drawn ∝ its values, negatives drawn ∝ 1 − value.
    """

    def __init__(self, support: sp.csr_matrix | np.ndarray, weighted: bool):
        self.weighted = bool(weighted) and not is_binary(support)
        if not self.weighted:
            self.matrix = binary_support(support)
            self.shape = self.matrix.shape
            self.users, self.items = pairs(self.matrix)
            return
        dense = support.toarray() if sp.issparse(support) else np.asarray(support)
        self.weights = np.clip(dense.astype(np.float64), 0.0, 1.0)
        mass = self.weights.sum(1)
        if not np.all(mass > 0) or not np.all(mass < self.weights.shape[1]):
            raise InfrecError(
                "model.support_weights: every support row needs an item of value > 0 and one < 1"
            )
        self.shape = self.weights.shape
        counts = np.maximum(np.rint(mass).astype(np.int64), 1)
        self.users = np.repeat(np.arange(self.shape[0], dtype=np.int32), counts)
        self.items = None

    def epoch(
        self, negatives: int, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(users, positives, negatives of shape (len(users), ``negatives``)) for one epoch."""
        if not self.weighted:
            return self.users, self.items, sample_negatives(self.matrix, self.users, negatives, rng)
        pos = draw_from_rows(self.weights, self.users, 1, rng)[:, 0]
        neg = draw_from_rows(1.0 - self.weights, self.users, negatives, rng)
        return self.users, pos, neg


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
