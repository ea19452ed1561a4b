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

Memory: the support (U × I), the kernel and one Cholesky factor (U × U each), α (U × I), plus one
block of ``block_users × U`` kernel values while scoring.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from functools import partial

import jax
import numpy as np
import scipy.sparse as sp

from infrec.data.matrix import dense_rows
from infrec.errors import InfrecError
from infrec.kernels.ntk import kernels_from_gram, ntk
from infrec.linalg import Array, asarray, check_lambdas, cho_solve, gram, matmul, stable_cholesky
from infrec.models.base import Fitted, Model, Monitor, ScoreFn
from infrec.numerics import resolve_dtype


@partial(jax.jit, static_argnames=("depth", "n0"))
def _cross_ntk(g, sq_context, sq_support, depth: int, n0: int):
    return kernels_from_gram(g, sq_context, sq_support, depth=depth, n0=n0)[0]


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


class InfiniteAEFitted(Fitted):
    """∞-AE for one λ: ``α = (K + λ'I)⁻¹ X``, solved when first needed."""

    def __init__(self, support, x: Array, kernel: Array, shift: float, scale: float, depth: int):
        self.support, self.x, self.kernel = support, x, kernel
        self.shift, self.scale, self.depth = shift, scale, depth
        self._alpha: Array | None = None

    @property
    def alpha(self) -> Array:
        if self._alpha is None:
            chol, self.shift = stable_cholesky(self.kernel, self.shift, self.scale)
            self._alpha = cho_solve(chol, self.x)
        return self._alpha

    def scorer(self, context: sp.csr_matrix) -> ScoreFn:
        if same_rows(context, self.support):
            if self.shift == 0.0:
                return lambda rows: np.asarray(self.x[rows])
            alpha, shift = np.asarray(self.alpha), self.shift
            x = np.asarray(self.x)
            return lambda rows: x[rows] - shift * alpha[rows]
        alpha, x = self.alpha, self.x
        sq_support = (x * x).sum(1)

        def score(rows: np.ndarray) -> np.ndarray:
            c = asarray(dense_rows(context, rows, x.dtype), x.dtype)
            k = _cross_ntk(gram(c, x), (c * c).sum(1), sq_support, self.depth, x.shape[1])
            return np.asarray(matmul(k, alpha))

        return score


class InfiniteAE(Model):
    """∞-AE with a validation grid over λ (relative to the kernel's mean diagonal)."""

    name = "infinite_ae"

    def __init__(
        self,
        depth: int = 1,
        lambdas: Sequence[float] = (0.0, 1.0, 5.0, 20.0, 50.0, 100.0),
        block_rows: int = 8192,
        dtype: str = "float32",
    ):
        if int(depth) != depth or int(depth) < 1:
            raise InfrecError(f"model.depth={depth}: ∞-AE needs an integer depth ≥ 1")
        if int(block_rows) < 1:
            raise InfrecError(f"model.block_rows={block_rows}: must be ≥ 1")
        self.depth = int(depth)
        self.lambdas = check_lambdas(lambdas)
        self.block_rows = int(block_rows)
        self.dtype = resolve_dtype(dtype)

    def candidates(
        self, support: sp.csr_matrix | np.ndarray, monitor: Monitor | None = None
    ) -> Iterator[tuple[dict, InfiniteAEFitted]]:
        start = time.perf_counter()
        x = asarray(dense_rows(support, slice(None), self.dtype), self.dtype)
        k = asarray(ntk(x, x, self.depth, block_rows=self.block_rows), self.dtype)
        scale = float(k.trace()) / k.shape[0]
        kernel_s = time.perf_counter() - start
        for lam in self.lambdas:
            t0 = time.perf_counter()
            fitted = InfiniteAEFitted(support, x, k, lam * scale, scale, self.depth)
            if lam > 0:
                fitted.alpha  # noqa: B018 - solve now so fit time is measured here
            fitted.fit_seconds = kernel_s + time.perf_counter() - t0
            yield {"lambda": lam}, fitted
