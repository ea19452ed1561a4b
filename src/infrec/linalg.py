"""Dense linear algebra for the closed-form models: Gram products and regularised Cholesky solves.

On the CPU these go to NumPy/SciPy (OpenBLAS), which beat XLA:CPU's versions at these shapes
(``benchmarks/bench_linalg.py`` times both; figures in ``docs/performance.md``). On an accelerator
they stay in JAX. Either way the caller gets arrays it can hand to the jitted
elementwise kernel maths, and ``np.asarray`` turns any result into host memory.
"""

from __future__ import annotations

import logging

import jax
import jax.numpy as jnp
import jax.scipy.linalg as jsl
import numpy as np
import scipy.linalg as sla

from infrec.errors import InfrecError

log = logging.getLogger(__name__)

Array = np.ndarray | jax.Array

JITTERS = (1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1)
"""Ridges (relative to the mean diagonal) tried in turn when ``A + λI`` will not factorise.

The last is for float32 NTKs of near-duplicate rows (cosines ~0.9999, where the arc-cosine
formula loses digits): a Distill-CF sample of 500 users on 17,770 Netflix-shaped items, ten
steps in, had its smallest eigenvalue at −0.85% of the mean diagonal."""

HIGHEST = jax.lax.Precision.HIGHEST


def on_host() -> bool:
    """True when JAX runs on the CPU, so BLAS/LAPACK calls go through NumPy/SciPy."""
    return jax.default_backend() == "cpu"


def asarray(x: Array, dtype) -> Array:
    """``x`` as ``dtype`` in the memory the linear algebra runs in (host or device)."""
    return np.asarray(x, dtype=dtype) if on_host() else jnp.asarray(x, dtype=dtype)


def gram(a: Array, b: Array | None = None) -> Array:
    """``a bᵀ`` (``a aᵀ`` when ``b`` is None, which BLAS computes as a symmetric rank-k update)."""
    if on_host():
        a = np.asarray(a)
        return a @ a.T if b is None else a @ np.asarray(b).T
    a = jnp.asarray(a)
    return jnp.dot(a, (a if b is None else jnp.asarray(b)).T, precision=HIGHEST)


def matmul(a: Array, b: Array) -> Array:
    if on_host():
        return np.asarray(a) @ np.asarray(b)
    return jnp.dot(jnp.asarray(a), jnp.asarray(b), precision=HIGHEST)


def check_lambdas(lambdas, key: str = "model.lambdas") -> list[float]:
    """λ values as floats; negative or empty grids are rejected before any work."""
    values = [float(x) for x in (lambdas or [])]
    if not values:
        raise InfrecError(f"{key} is empty; give at least one λ ≥ 0")
    bad = [x for x in values if x < 0 or x != x]
    if bad:
        raise InfrecError(f"{key}: λ must be ≥ 0, got {bad}")
    return values


@jax.jit
def _jax_cholesky(a: jax.Array, shift: jax.Array) -> jax.Array:
    return jnp.linalg.cholesky(a + shift * jnp.eye(a.shape[0], dtype=a.dtype))


def _try_cholesky(a: Array, shift: float) -> Array | None:
    """Lower Cholesky factor of ``a + shift·I``, or None when it does not exist numerically."""
    if on_host():
        # LAPACK works in Fortran order; a symmetric matrix is its own transpose, so the C-ordered
        # ``a`` read as ``a.T`` *is* the Fortran layout: a straight copy instead of a transposing
        # one. Factorise in place; the upper triangle is left as is and never read.
        shifted = np.array(np.asarray(a).T, order="F", copy=True)
        shifted[np.diag_indices_from(shifted)] += shift
        potrf = sla.get_lapack_funcs("potrf", (shifted,))
        chol, info = potrf(shifted, lower=1, overwrite_a=1, clean=0)
        return chol if info == 0 else None
    chol = _jax_cholesky(a, jnp.asarray(shift, a.dtype))
    return chol if bool(jnp.all(jnp.isfinite(jnp.diagonal(chol)))) else None


def stable_cholesky(a: Array, shift: float, scale: float) -> tuple[Array, float]:
    """Lower Cholesky factor of ``a + shift·I`` and the shift actually used.

    When the factorisation fails (λ = 0 on a singular kernel, or round-off), the shift is raised to
    ``jitter · scale`` for the jitters in :data:`JITTERS` — a well-defined fallback, logged — so a
    result is never NaN. ``scale`` is the mean diagonal of ``a``.
    """
    chol = _try_cholesky(a, shift)
    if chol is not None:
        return chol, shift
    used = shift
    for jitter in JITTERS:
        used = max(shift, jitter * scale)
        chol = _try_cholesky(a, used)
        if chol is not None:
            log.warning(
                "Cholesky failed with ridge %.3g; used %.3g (%.0e × mean diagonal)",
                shift,
                used,
                jitter,
            )
            return chol, used
    raise InfrecError(
        f"Cholesky failed even with ridge {used:.3g} ({JITTERS[-1]:g} × mean diagonal): the "
        "support matrix may contain NaN/inf, or its kernel is not positive definite at this "
        "precision (near-duplicate rows; try dtype=float64)"
    )


def cho_solve(chol: Array, b: Array) -> Array:
    """``(L Lᵀ)⁻¹ b`` for a lower Cholesky factor ``L`` and an n × m ``b`` (left untouched).

    On the host a C-ordered ``b`` is solved as its transpose from the right,
    ``bᵀ L⁻ᵀ L⁻¹``, with two in-place BLAS ``trsm`` calls on one copy: ``bᵀ`` is already in
    Fortran order, so nothing is transposed in memory, and the result's transpose is the C-ordered
    answer (``benchmarks/bench_linalg.py`` compares it with ``scipy``'s ``cho_solve``).
    """
    if not on_host():
        return jsl.cho_solve((chol, True), jnp.asarray(b))
    b = np.asarray(b)
    if b.ndim != 2 or not b.flags.c_contiguous:
        return sla.cho_solve((chol, True), b, check_finite=False)
    chol = np.asarray(chol, dtype=b.dtype)
    trsm = sla.get_blas_funcs("trsm", (chol, b))
    rhs = np.array(b.T, order="F", copy=True)
    rhs = trsm(1.0, chol, rhs, side=1, lower=1, trans_a=1, overwrite_b=1)  # bᵀ L⁻ᵀ
    rhs = trsm(1.0, chol, rhs, side=1, lower=1, overwrite_b=1)  # bᵀ L⁻ᵀ L⁻¹
    return rhs.T
