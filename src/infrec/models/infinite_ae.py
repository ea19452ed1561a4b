"""∞-AE: kernel ridge regression with the NTK of an infinitely wide autoencoder.

``X̂ = K_C (K + λ' I)⁻¹ X`` with ``K = NTK(X, X)`` over the support rows ``X``,
``K_C = NTK(C, X)`` for the users' context rows ``C``, and ``λ' = λ · trace(K)/n`` (λ is relative
to the mean diagonal, as in the paper). The kernel is computed once for the whole λ grid; each λ
costs one Cholesky factorisation and one two-sided triangular solve. When the context *is* the
support (validation with the full-data sampler) the second kernel product is skipped exactly:
``K (K + λ'I)⁻¹ X = X − λ' (K + λ'I)⁻¹ X``.

λ = 0 is the ridgeless interpolant: in-sample scores equal the input (no solve is needed), and
scoring other contexts uses the minimum ridge that factorises
(:func:`infrec.linalg.stable_cholesky`), since real kernels are singular (duplicate users).

Test contexts (train + validation rows) are scored through the support's Gram matrix plus a
sparse update (:class:`InfiniteAEFitted`), not a second dense Gram product.

Cost for U support users and I items: the Gram product (``U²I`` flops) and kernel once; per λ > 0
one Cholesky (``U³/3``) and two triangular solves against ``X`` (``2U²I``) — the floor of an exact
λ grid, since every λ needs its own dense ``U × I`` ranking matrix (measured in
``benchmarks/bench_infinite_ae.py``; figures in ``docs/performance.md``).

Memory: the support (U × I), the kernel, the Gram matrix (kept for sparse supports only) and one
Cholesky factor (U × U each), α (U × I), plus one block of ``block_users × U`` kernel values
while scoring.
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
from infrec.errors import InfrecError
from infrec.kernels.ntk import ntk_from_gram, ntk_times
from infrec.linalg import Array, asarray, check_lambdas, cho_solve, gram, matmul, stable_cholesky
from infrec.memory import FIT, SCORE, Need, itemsize
from infrec.models.base import SCORE_ROWS, Fitted, Model, Monitor, ScoreFn, score_in_pieces
from infrec.numerics import resolve_dtype
from infrec.sharding import multi_device, replicate, shard_rows, to_host
from infrec.sparse import csr_matmul, rows_matmul

log = logging.getLogger(__name__)

SOLVERS = ("exact", "nystrom")
"""``model.solver``: exact kernel ridge regression on the support, or Nyström over all users."""


def same_rows(a: sp.spmatrix | np.ndarray, b: sp.spmatrix | np.ndarray) -> bool:
    """True when two matrices hold the same values (sparse or dense, any mix)."""
    if a is b:
        return True
    if a.shape != b.shape:
        return False
    if sp.issparse(a) and sp.issparse(b):
        return (sp.csr_matrix(a) != sp.csr_matrix(b)).nnz == 0
    dense = [m.toarray() if sp.issparse(m) else np.asarray(m) for m in (a, b)]
    return bool(np.array_equal(dense[0], dense[1]))


KERNEL_CACHE_BYTES = 1024**3
"""At most this many bytes of context kernel rows kept for a λ grid (:class:`KernelRows`)."""


class KernelRows:
    """Context kernel rows ``K(C, X)`` of scored user blocks, shared by one support's λ grid.

    Every λ is validated on the same users against the same support, so each block's kernel is
    computed once, by the first λ, and the others only multiply it by their own α (the λ grid in
    one pass over the kernel; the ranking matrices stay one per λ). Only the first context is
    kept (validation): a second one is the chosen λ scoring the test context, alone, so sharing
    stops there. Blocks past ``limit_bytes`` are recomputed rather than kept.
    """

    def __init__(self, limit_bytes: int):
        self.limit = int(limit_bytes)
        self._context: object = None
        self._sharing = True
        self._blocks: dict[bytes, np.ndarray] = {}
        self._bytes = 0

    @classmethod
    def for_grid(cls, lambdas: Sequence[float]) -> KernelRows | None:
        """One shared cache of :data:`KERNEL_CACHE_BYTES` for a grid of several λ, else none."""
        return cls(KERNEL_CACHE_BYTES) if len(lambdas) > 1 else None

    def enter(self, context) -> None:
        """``context`` is about to be scored. The first context of the grid (validation, even
        when it is scored in-sample, without kernel rows) is the shared one; a later one is the
        chosen λ scoring the test context alone, whose blocks are not kept."""
        if context is not self._context:
            self._sharing = self._context is None  # a second context: the test, one λ
            self._context, self._blocks, self._bytes = context, {}, 0

    def get(self, context, rows: np.ndarray, compute) -> np.ndarray:
        """``compute(rows)`` for ``context``, or the block computed before."""
        self.enter(context)
        key = np.asarray(rows).tobytes()
        block = self._blocks.get(key)
        if block is None:
            block = np.asarray(compute(rows))
            if self._sharing and self._bytes + block.nbytes <= self.limit:
                self._blocks[key] = block
                self._bytes += block.nbytes
        return block


class InfiniteAEFitted(Fitted):
    """∞-AE for one λ: ``α = (K + λ'I)⁻¹ X``, solved when first needed.

    ``gram`` (the support's ``X Xᵀ``, kept for sparse supports) lets a context with the support's
    shape — each user's train rows plus validation items at test time — be scored from
    ``C Xᵀ = X Xᵀ + (C − X) Xᵀ``: a sparse product over the few changed entries instead of a dense
    ``U × I × U`` Gram product (``benchmarks/bench_linalg.py`` times both). It is used while the
    change holds at most a quarter of the context's entries (its cost grows with them; the dense
    product's does not). Any other sparse context (validation on a synthetic support, a user
    sample) takes ``C Xᵀ`` as a CSR product, cost ∝ the context's nonzeros × support users: 2.0×
    faster than the dense product at ML-1M's density and 3.4× at Netflix's (2,048 context users,
    3,000 support users, 17,770 items; docs/performance.md).
    """

    def __init__(
        self,
        support,
        x: Array,
        kernel: Array,
        shift: float,
        scale: float,
        depth: int,
        gram: Array | None = None,
        kernel_rows: KernelRows | None = None,
    ):
        self.support, self.x, self.kernel, self.gram = support, x, kernel, gram
        self.shift, self.scale, self.depth = shift, scale, depth
        self.kernel_rows = kernel_rows
        self._alpha: Array | None = None

    @property
    def alpha(self) -> Array:
        if self._alpha is None:
            chol, self.shift = stable_cholesky(self.kernel, self.shift, self.scale)
            self._alpha = cho_solve(chol, self.x)
        return self._alpha

    def scorer(self, context: sp.csr_matrix) -> ScoreFn:
        if self.kernel_rows is not None:
            self.kernel_rows.enter(context)
        if same_rows(context, self.support):
            return self._in_sample()
        return self._kernel_scorer(context)

    def _kernel_scorer(self, context: sp.csr_matrix) -> ScoreFn:
        """``K(C, X) α`` for blocks of context users."""
        alpha, x, depth, n0 = self.alpha, self.x, self.depth, self.x.shape[1]
        context_gram = self._context_gram(context)
        # squared row norms in row pieces: no support-sized temporary
        sq_support = np.concatenate(
            [
                np.asarray((x[i : i + SCORE_ROWS] * x[i : i + SCORE_ROWS]).sum(1))
                for i in range(0, x.shape[0], SCORE_ROWS)
            ]
        )

        if multi_device():  # each device scores its share of the block's users
            alpha_all, sq_all = replicate(np.asarray(alpha)), replicate(np.asarray(sq_support))

            def sharded(rows: np.ndarray) -> np.ndarray:
                g, sq_context = context_gram(rows)
                out = ntk_times(
                    shard_rows(np.asarray(g)),
                    shard_rows(np.asarray(sq_context)),
                    sq_all,
                    alpha_all,
                    depth=depth,
                    n0=n0,
                )
                return to_host(out)[: len(g)]

            return sharded

        def kernel(rows: np.ndarray) -> Array:
            g, sq_context = context_gram(rows)
            return ntk_from_gram(g, sq_context, sq_support, depth, n0=n0)

        shared = self.kernel_rows

        def piece(rows: np.ndarray) -> np.ndarray:
            k = kernel(rows) if shared is None else shared.get(context, rows, kernel)
            return np.asarray(matmul(k, alpha))

        def score(rows: np.ndarray) -> np.ndarray:  # kernel rows of SCORE_ROWS users at a time
            return score_in_pieces(rows, x.shape[1], x.dtype, piece)

        return score

    def _in_sample(self) -> ScoreFn:
        """Scores of the support's own rows: ``X − λ'α`` (no second kernel product), built in
        one output array (row pieces of ``X`` added in place, no block-sized temporaries)."""
        x = np.asarray(self.x)
        if self.shift == 0.0:
            return lambda rows: x[row_index(rows)]  # read only: evaluation never writes scores
        alpha, shift = np.asarray(self.alpha), self.shift

        def in_sample(rows: np.ndarray) -> np.ndarray:
            rows = np.arange(len(x))[row_index(rows)]
            out = np.take(alpha, rows, axis=0)
            out *= np.asarray(-shift, alpha.dtype)
            for start in range(0, len(rows), SCORE_ROWS):
                out[start : start + SCORE_ROWS] += x[rows[start : start + SCORE_ROWS]]
            return out

        return in_sample

    def _context_gram(self, context: sp.csr_matrix):
        """A function of user rows: (``C Xᵀ`` rows, squared norms of ``C``'s rows)."""
        x = self.x
        change = None
        if self.gram is not None and sp.issparse(context) and context.shape == x.shape:
            context = sp.csr_matrix(context, dtype=x.dtype)
            change = (context - sp.csr_matrix(self.support, dtype=x.dtype)).tocsr()
            change.eliminate_zeros()
        if change is not None and change.nnz <= context.nnz / 4:
            sq_context = np.asarray(context.multiply(context).sum(1), x.dtype).ravel()
            x_t = jnp.asarray(x).T

            def updated(rows: np.ndarray):
                rows = row_index(rows)
                g = self.gram[rows] + np.asarray(csr_matmul(change[rows], x_t))
                return g, sq_context[rows]

            return updated

        if sp.issparse(context):
            context = sp.csr_matrix(context, dtype=x.dtype)
            sq_rows = np.asarray(context.multiply(context).sum(1), x.dtype).ravel()
            x_t = jnp.asarray(x).T

            def sparse(rows: np.ndarray):
                rows = row_index(rows)
                return rows_matmul(context, rows, x_t), sq_rows[rows]

            return sparse

        def dense(rows: np.ndarray):
            c = asarray(dense_rows(context, rows, x.dtype), x.dtype)
            return gram(c, x), (c * c).sum(1)

        return dense


def _level(seconds: float) -> int:
    """INFO for phases that took a while (≥ 1 s), DEBUG otherwise."""
    return logging.INFO if seconds >= 1.0 else logging.DEBUG


class InfiniteAE(Model):
    """∞-AE with a validation grid over λ (relative to the kernel's mean diagonal)."""

    name = "infinite_ae"

    def __init__(
        self,
        depth: int,
        lambdas: Sequence[float],
        block_rows: int,
        dtype: str,
        solver: str,
        landmarks: int | None,
        seed: int,
    ):
        if int(depth) != depth or int(depth) < 1:
            raise InfrecError(f"model.depth={depth}: ∞-AE needs an integer depth ≥ 1")
        if int(block_rows) < 1:
            raise InfrecError(f"model.block_rows={block_rows}: must be ≥ 1")
        if solver not in SOLVERS:
            raise InfrecError(f"model.solver={solver!r}: choose one of {', '.join(SOLVERS)}")
        if landmarks is not None and (int(landmarks) != landmarks or int(landmarks) < 1):
            raise InfrecError(f"model.landmarks={landmarks}: a user count ≥ 1, or null")
        self.depth = int(depth)
        self.lambdas = check_lambdas(lambdas)
        self.block_rows = int(block_rows)
        self.dtype = resolve_dtype(dtype)
        self.solver, self.seed = solver, int(seed)
        self.landmarks = None if landmarks is None else int(landmarks)
        self.targets: sp.csr_matrix | None = None

    @property
    def memory_advice(self) -> str:  # type: ignore[override]
        if self.solver == "nystrom":
            return "lower model.landmarks (an m × m system and m × items solutions)"
        return (
            "lower sampler.budget, or keep every user with model.solver=nystrom "
            "model.landmarks=<m> (m × m instead of support users²)"
        )

    def memory(self, support: sp.spmatrix | np.ndarray, block_users: int) -> list[Need]:
        users, items = support.shape
        b = itemsize(self.dtype)
        if self.solver == "nystrom":
            # landmarks: a sampled support's users, or model.landmarks of the full train matrix
            full = self.targets is None or users == self.targets.shape[0]
            m = min(self.landmarks or users, users) if full else users
            # the accumulations are freed before the last λ is scored: with one λ, before any
            # scoring (nystrom_candidates); with a grid, the earlier λ are scored beside them
            accumulations = FIT if len(self.lambdas) == 1 else ""
            return [
                *self._kernel_rows_need(),
                Need("landmark rows, dense, and their device copy", (2, m, items), b),
                Need(
                    "K_nmᵀK_nm, K_mm, the system, its factor and the factorisation's copy "
                    "(float64, landmarks²)",
                    (5, m, m),
                    8,
                    accumulations,
                ),
                Need(
                    "K_nmᵀX (float64) and the solve's copy (landmarks × items)",
                    (2, m, items),
                    8,
                    accumulations,
                ),
                Need("β and its device copy (landmarks × items)", (2, m, items), b),
                Need(
                    "kernel block (model.block_rows × landmarks, ×3 in flight)",
                    (3, min(self.block_rows, users), m),
                    b,
                    FIT,
                ),
                Need(
                    "scoring block kernel (eval.block_users × landmarks)",
                    (block_users, m),
                    b,
                    SCORE,
                ),
            ]
        return [
            *self._kernel_rows_need(),
            Need("support rows, dense, their device copy and α", (3, users, items), b),
            Need("support kernel, Gram matrix and Cholesky factor", (3, users, users), b),
            Need(
                "kernel block (model.block_rows × support users, ×3 in flight)",
                (3, min(self.block_rows, users), users),
                b,
                FIT,
            ),
            Need(
                "scoring block kernel (eval.block_users × support users)",
                (block_users, users),
                b,
                SCORE,
            ),
        ]

    def _kernel_rows_need(self) -> list[Need]:
        if len(self.lambdas) < 2:
            return []
        return [
            Need("validation kernel rows kept for the λ grid, at most", (KERNEL_CACHE_BYTES,), 1)
        ]

    def with_targets(self, train: sp.csr_matrix) -> InfiniteAE:
        """Nyström ∞-AE on a sampled support: the support's users are the landmarks and every
        training user a target. Exact ∞-AE fits the support alone (this model, unchanged)."""
        if self.solver != "nystrom":
            return self
        model = copy.copy(self)
        model.targets = train
        return model

    def for_support(self, hints: dict[str, dict[str, Any]]) -> InfiniteAE:
        """With the λ a support was distilled with for this depth, that λ alone.

        A Distill-CF summary is optimised jointly with the λ its validation chose, on the very
        sample kept; searching λ again re-asks the same validation users, and on sparse data
        (Magazine: ~13% of users have a validation item) the grid's λ = 0 can win by noise and
        interpolate synthetic rows. Other depths, or no hint: the configured grid.
        """
        hint = hints.get(self.name)
        if not hint or int(hint["depth"]) != self.depth or self.solver != "exact":
            return self  # Nyström's λ weighs all users' fit, not the summary's: its own grid
        log.info(
            "∞-AE on a distilled support: λ = %g, the one it was distilled with", hint["lambda"]
        )
        model = copy.copy(self)
        model.lambdas = [float(hint["lambda"])]
        return model

    def candidates(
        self, support: sp.csr_matrix | np.ndarray, monitor: Monitor | None = None
    ) -> Iterator[tuple[dict, InfiniteAEFitted]]:
        if self.solver == "nystrom":
            yield from self._nystrom(support)
            return
        start = time.perf_counter()
        x = asarray(dense_rows(support, slice(None), self.dtype), self.dtype)
        g = gram(x)
        sq = g.diagonal().copy()  # squared norms, equal to the Gram diagonal to the last bit
        k = ntk_from_gram(g, sq, sq, self.depth, n0=x.shape[1], block_rows=self.block_rows)
        k = asarray(k, self.dtype)
        if not sp.issparse(support):
            g = None  # dense (synthetic) supports never get the sparse context update
        scale = float(k.trace()) / k.shape[0]
        kernel_s = time.perf_counter() - start
        # long phases are reported (a 25,000-user fit takes minutes); Distill-CF's many quick
        # validations stay quiet
        log.log(
            _level(kernel_s), "∞-AE: kernel of %d support users in %.1f s", k.shape[0], kernel_s
        )
        shared = KernelRows.for_grid(self.lambdas)
        for lam in self.lambdas:
            t0 = time.perf_counter()
            fitted = InfiniteAEFitted(support, x, k, lam * scale, scale, self.depth, g, shared)
            if lam > 0:
                fitted.alpha  # noqa: B018 - solve now so fit time is measured here
                solve_s = time.perf_counter() - t0
                log.log(_level(solve_s), "∞-AE: λ = %g solved in %.1f s", lam, solve_s)
            fitted.fit_seconds = kernel_s + time.perf_counter() - t0
            yield {"lambda": lam}, fitted

    def _nystrom(self, support: sp.csr_matrix | np.ndarray) -> Iterator[tuple[dict, Fitted]]:
        """Nyström ∞-AE (:mod:`infrec.models.nystrom`): targets are the training users (the
        support itself under ``sampler=full``); landmarks are a sampled support's users, or
        ``model.landmarks`` random users of the full one (all of them when null)."""
        from infrec.models.nystrom import nystrom_candidates  # it builds on InfiniteAEFitted

        sampled = self.targets is not None and not same_rows(support, self.targets)
        targets = self.targets if sampled else support
        if not sp.issparse(targets):
            raise InfrecError(
                "model.solver=nystrom needs sparse training rows as targets; use a sampler of "
                "real users (full, random_user, …) or a distilled support with sampler.* as is"
            )
        if sampled:
            if self.landmarks is not None and self.landmarks != support.shape[0]:
                log.info(
                    "Nyström ∞-AE: the sampler's %d users are the landmarks "
                    "(model.landmarks=%d applies to sampler=full)",
                    support.shape[0],
                    self.landmarks,
                )
            landmarks = support
        else:
            n = targets.shape[0]
            m = n if self.landmarks is None else min(self.landmarks, n)
            rows = np.sort(np.random.default_rng(self.seed).choice(n, size=m, replace=False))
            landmarks = sp.csr_matrix(targets)[rows]
        yield from nystrom_candidates(
            sp.csr_matrix(targets), landmarks, self.lambdas, self.depth, self.block_rows, self.dtype
        )
