"""EASE (Steck, 2019): a closed-form item-item linear autoencoder with a zero diagonal.

``P = (XᵀX + λI)⁻¹``, ``B = −P / diag(P)`` column-wise with ``diag(B) = 0``; scores are ``C B``.
λ is absolute (as in the EASE paper), except on a summary distilled with EASE as its inner
model (:meth:`EASE.relative`: the distilled λ, relative to the support's mean item-Gram
diagonal). The Gram matrix is computed once for the λ grid: from the sparse rows for a sparse
support (:func:`infrec.sparse.item_gram`, work Σ_u n_u², no dense users × items copy: all 480 k
Netflix-shaped users fit), with a dense product for real-valued support rows (e.g. Distill-CF
output), which are used as they are. Memory: six items × items matrices (:meth:`EASE.memory`).

A support of few users (at most :data:`DUAL_SHARE` of the item count: a summary, a sample) is
fitted in the dual (Woodbury) form instead, :class:`EASEDualFitted`: no items × items matrix,
cost ``n² · items`` per λ instead of ``items³`` (17,770 items: seconds instead of minutes per λ),
the same ``B`` to round-off (``tests/models/test_ease.py``).
"""

from __future__ import annotations

import copy
import logging
import time
from collections.abc import Iterator, Sequence
from typing import Any

import jax.numpy as jnp
import numpy as np
import scipy.sparse as sp

from infrec.data.matrix import dense_rows, row_index
from infrec.linalg import (
    JITTERS,
    Array,
    asarray,
    check_lambdas,
    cho_solve,
    gram,
    matmul,
    stable_cholesky,
)
from infrec.memory import FIT, SCORE, Need, itemsize
from infrec.models.base import Fitted, Model, Monitor, ScoreFn, score_in_pieces
from infrec.numerics import resolve_dtype
from infrec.sparse import GRAM_BLOCK_BYTES, item_gram, rows_matmul
from infrec.threads import host_threads

log = logging.getLogger(__name__)

DUAL_SHARE = 0.25
"""EASE is fitted in its dual form (:class:`EASEDualFitted`) when the support has at most this
share of the item count in users: there the ``n × n`` system and ``users × n × items`` scoring
cost less than the ``items × items`` inverse (a 500- or 2,000-user summary of 17,770 items)."""


def ease_weights(item_gram: Array, lam: float) -> Array:
    """The EASE item-item matrix ``B`` for an item Gram matrix and an absolute λ."""
    scale = max(float(item_gram.trace()) / item_gram.shape[0], 1e-12)
    chol, _ = stable_cholesky(item_gram, lam, scale)
    p = np.asarray(cho_solve(chol, np.eye(item_gram.shape[0], dtype=item_gram.dtype)))
    b = -p / np.diagonal(p)[None, :]
    np.fill_diagonal(b, 0.0)
    return asarray(b, item_gram.dtype)


class EASEFitted(Fitted):
    def __init__(self, weights: Array):
        self.weights = weights

    def scorer(self, context: sp.csr_matrix) -> ScoreFn:
        """``C B`` for blocks of users: a CSR product for sparse contexts (cost ∝ the rows'
        nonzeros × items, instead of a dense ``rows × I × I`` product)."""
        w = self.weights
        if sp.issparse(context):
            context = sp.csr_matrix(context, dtype=w.dtype)
            w_device = jnp.asarray(w)

            return lambda rows: score_in_pieces(  # device buffers of SCORE_ROWS users
                rows,
                w.shape[1],
                w.dtype,
                lambda part: rows_matmul(context, row_index(part), w_device),
            )
        return lambda rows: np.asarray(
            matmul(asarray(dense_rows(context, rows, w.dtype), w.dtype), w)
        )


class EASEDualFitted(Fitted):
    """EASE from a support ``X`` of ``n`` users, ``B`` never formed (Woodbury).

    With ``W = (XXᵀ + λI)⁻¹X`` (n × items), ``λP = I − XᵀW``, so ``e = λ diag(P) = 1 − Σ_s X ⊙ W``
    and ``C B = C − (C − (CXᵀ)W) / e`` = ``(CXᵀ)(W / e) + C ⊙ (1 − 1/e)``: a context's own entry
    of item ``j`` cancels in its score for ``j`` (``B``'s zero diagonal). ``W`` and ``e`` are
    computed in float64 (``e`` is a difference near 1), scores in the model's dtype. The
    distillation's differentiable twin, for dense targets at a relative λ, is
    :func:`infrec.distillation.estimator.ease_predict`.
    """

    def __init__(self, support_t: Array, weights: Array, self_term: np.ndarray):
        self.support_t = support_t  # Xᵀ (items × n), for the sparse product C Xᵀ
        self.weights = weights  # W / e (n × items)
        self.self_term = self_term  # 1 − 1/e (items)

    def scorer(self, context: sp.csr_matrix) -> ScoreFn:
        dtype = self.weights.dtype
        context = sp.csr_matrix(context, dtype=dtype)
        support_t = jnp.asarray(self.support_t)

        def score(part: np.ndarray) -> np.ndarray:
            rows = row_index(part)
            cx = asarray(rows_matmul(context, rows, support_t), dtype)  # C Xᵀ: a sparse product
            out = np.asarray(matmul(cx, self.weights))
            if not out.flags.writeable:  # a device result: a host copy to add the own entries to
                out = out.copy()
            own = context[rows].tocoo()
            own.sum_duplicates()
            out[own.row, own.col] += own.data * self.self_term[own.col]
            return out

        return lambda rows: score_in_pieces(rows, self.weights.shape[1], dtype, score)


def ease_dual(x: np.ndarray, k: np.ndarray, support_t: Array, lam: float, dtype) -> EASEDualFitted:
    """The dual form of EASE on dense support rows ``x`` (float64, n × items, on the host) at
    absolute λ, given what the λ grid shares: their Gram matrix ``k = x xᵀ`` and ``xᵀ`` in the
    model's dtype (the scorer's ``C Xᵀ``).

    λ = 0 has no dual (``e`` would vanish for every item); as in :func:`ease_weights`, whose
    primal factorisation then fails, the ridge becomes the first jitter × the item Gram's mean
    diagonal, logged.
    """
    if lam <= 0:
        lam = JITTERS[0] * max(float(np.trace(k)) / x.shape[1], 1e-12)
        log.warning("EASE with λ = 0 on %d users: used ridge %.3g (dual form)", len(x), lam)
    chol, _ = stable_cholesky(k, lam, float(np.trace(k)) / len(x))
    w = np.asarray(cho_solve(np.asarray(chol), x))
    e = 1.0 - np.einsum("si,si->i", x, w)
    return EASEDualFitted(
        support_t,
        asarray((w / e[None, :]).astype(dtype), dtype),
        (1.0 - 1.0 / e).astype(dtype),
    )


class EASE(Model):
    name = "ease"

    def __init__(
        self,
        lambdas: Sequence[float],
        dtype: str,
    ):
        self.lambdas = check_lambdas(lambdas)
        self.dtype = resolve_dtype(dtype)
        self.lambdas_relative = False

    def relative(self, lambdas: Sequence[float]) -> EASE:
        """This model with ``lambdas`` relative: each × the mean diagonal of the support's item
        Gram, as Distill-CF's inner loop states λ (a summary's scale is not the data's)."""
        model = copy.copy(self)
        model.lambdas = check_lambdas(lambdas)
        model.lambdas_relative = True
        return model

    def for_support(self, hints: dict[str, dict[str, Any]]) -> EASE:
        """On a summary distilled with EASE inside, the relative λ it was distilled with (as
        ∞-AE keeps its own: :meth:`infrec.models.infinite_ae.InfiniteAE.for_support`)."""
        hint = hints.get(self.name)
        if not hint:
            return self
        log.info("EASE on a distilled support: relative λ = %g, the distilled one", hint["lambda"])
        return self.relative([float(hint["lambda"])])

    memory_advice = (
        "EASE holds six items × items matrices (and a dense support, dense): lower "
        "sampler.budget for a dense support, or use model=infinite_ae model.solver=nystrom"
    )

    def memory(self, support: sp.spmatrix | np.ndarray, block_users: int) -> list[Need]:
        users, items = support.shape
        b = itemsize(self.dtype)
        if dual_form(users, items):
            return [
                Need("support rows and W, float64 (dual form)", (3, users, items), 8, FIT),
                Need("Xᵀ and W / e (dual form)", (2, users, items), b),
                Need("a scoring block's C Xᵀ", (block_users, users), b, SCORE),
            ]
        if sp.issparse(support):
            first = Need(
                "item Gram blocks' sparse products (one per thread)",
                (host_threads(), GRAM_BLOCK_BYTES),
                1,
                FIT,
            )
        else:
            first = Need("support rows, dense", (users, items), b)
        return [
            first,
            Need("item Gram, Cholesky, identity, P, B and B's device copy", (6, items, items), b),
        ]

    def candidates(
        self, support: sp.csr_matrix | np.ndarray, monitor: Monitor | None = None
    ) -> Iterator[tuple[dict, EASEFitted]]:
        if dual_form(*support.shape):
            yield from self._dual_candidates(support)
            return
        start = time.perf_counter()
        if sp.issparse(support):
            g = item_gram(support, self.dtype)
        else:
            g = gram(asarray(dense_rows(support, slice(None), self.dtype), self.dtype).T)
        gram_s = time.perf_counter() - start
        scale = float(np.trace(np.asarray(g))) / g.shape[0] if self.lambdas_relative else 1.0
        for lam in self.lambdas:
            t0 = time.perf_counter()
            fitted = EASEFitted(ease_weights(g, lam * scale))
            fitted.fit_seconds = gram_s + time.perf_counter() - t0
            hp = {"lambda": lam * scale}
            yield ({**hp, "lambda_relative": lam} if self.lambdas_relative else hp), fitted

    def _dual_candidates(
        self, support: sp.csr_matrix | np.ndarray
    ) -> Iterator[tuple[dict, EASEDualFitted]]:
        start = time.perf_counter()
        x = dense_rows(support, slice(None), np.float64)
        k = x @ x.T
        support_t = asarray(np.ascontiguousarray(x.T, dtype=self.dtype), self.dtype)
        scale = float(np.trace(k)) / x.shape[1] if self.lambdas_relative else 1.0
        log.info("EASE on %d users × %d items: dual form (Woodbury)", *x.shape)
        setup_s = time.perf_counter() - start
        for lam in self.lambdas:
            t0 = time.perf_counter()
            fitted = ease_dual(x, k, support_t, lam * scale, self.dtype)
            fitted.fit_seconds = setup_s + time.perf_counter() - t0
            hp = {"lambda": lam * scale}
            yield ({**hp, "lambda_relative": lam} if self.lambdas_relative else hp), fitted


def dual_form(users: int, items: int) -> bool:
    """Whether EASE on ``users`` × ``items`` support rows is fitted in the dual form."""
    return users <= DUAL_SHARE * items
