"""NTK and NNGP of ``[Dense → ReLU] × depth → Dense`` (NTK parameterisation), in closed form.

The network is the one ∞-AE uses (``W_std = √2``, ``b_std = 0.1``). With ``n₀`` input features,
``K⁰(x, y) = W²⟨x, y⟩/n₀ + b²`` and ``Θ⁰ = K⁰``; each ReLU layer followed by a Dense applies the
arc-cosine recursion with ``c = K/√(KₓₓK_yy)``, ``θ = arccos c``::

    E = √(KₓₓK_yy) (sin θ + (π − θ) c) / 2π,   Ė = (π − θ) / 2π
    K ← W² E + b²,   Θ ← K + W² Ė Θ,   Kₓₓ ← W² Kₓₓ / 2 + b²

``depth`` applications give the kernels of the network with ``depth`` hidden layers. The
elementwise maths is one fused XLA computation per block of rows, so memory is bounded by
``block_rows × len(x2)`` regardless of ``len(x1)``; matches neural-tangents 0.6.5 to ~1e-12 in
float64 (``tests/kernels/test_ntk.py``).
"""

from __future__ import annotations

import math
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from infrec.errors import InfrecError
from infrec.linalg import HIGHEST, gram
from infrec.sharding import multi_device, replicate, shard_rows, to_host

W_STD = math.sqrt(2.0)
B_STD = 0.1
SNAP_ULPS = 64
"""Cosines within this many ulps of 1 are 1: identical rows (a self-kernel's diagonal, a synthetic
user initialised from a real one) must give angle 0 exactly, where arccos amplifies a rounding
error of ε into √(2ε)."""


ARCCOS_COEFFS = (
    1.5707963050,
    -0.2145988016,
    0.0889789874,
    -0.0501743046,
    0.0308918810,
    -0.0170881256,
    0.0066700901,
    -0.0012624911,
)
"""Abramowitz & Stegun 4.4.46: ``arccos x = √(1 − x) Σ aₖ xᵏ`` on [0, 1], error ≤ 2e-8."""


def arccos(c: jax.Array) -> jax.Array:
    """arccos, by A&S 4.4.46 in float32 and ``jnp.arccos`` in float64.

    XLA:CPU evaluates ``jnp.arccos`` (an ``atan2``) element by element, 23× slower than this
    polynomial (77 against 3.3 ms on a 6,040 × 500 block): it was most of the NTK's elementwise
    time. In float32 its error (at most 4.3e-7 absolute, 2.1e-7 relative, on float32 inputs
    over [−1, 1]) is that of ``jnp.arccos`` (2.7e-7, 1.7e-7); float64 keeps the exact function,
    which the golden fixtures check to 1e-12. ``arccos(1) = 0`` exactly, so identical rows keep
    angle 0.
    """
    if c.dtype == jnp.float64:
        return jnp.arccos(c)
    x = jnp.abs(c)
    poly = jnp.asarray(ARCCOS_COEFFS[-1], c.dtype)
    for a in ARCCOS_COEFFS[-2::-1]:
        poly = poly * x + a
    half = jnp.sqrt(jnp.maximum(1.0 - x, 0.0)) * poly
    return jnp.where(c < 0, jnp.pi - half, half)


@jax.custom_jvp
def _arc_e(c: jax.Array) -> jax.Array:
    """(sin θ + (π − θ) c) / 2π with θ = arccos c; its derivative (π − θ)/2π is finite at c = ±1."""
    angle = arccos(c)
    return (jnp.sqrt(jnp.maximum(1.0 - c * c, 0.0)) + (jnp.pi - angle) * c) / (2 * jnp.pi)


@_arc_e.defjvp
def _arc_e_jvp(primals, tangents):
    (c,), (dc,) = primals, tangents
    return _arc_e(c), (jnp.pi - arccos(c)) / (2 * jnp.pi) * dc


@jax.custom_jvp
def _arc_e_dot(c: jax.Array) -> jax.Array:
    """(π − arccos c) / 2π, with a derivative kept finite where c → 1 (identical rows)."""
    return (jnp.pi - arccos(c)) / (2 * jnp.pi)


@_arc_e_dot.defjvp
def _arc_e_dot_jvp(primals, tangents):
    (c,), (dc,) = primals, tangents
    tiny = SNAP_ULPS * jnp.finfo(c.dtype).eps
    return _arc_e_dot(c), dc / (2 * jnp.pi * jnp.sqrt(jnp.maximum(1.0 - c * c, tiny)))


@partial(jax.jit, static_argnames=("depth", "n0", "w_var", "b_var"))
def kernels_from_gram(
    gram: jax.Array,
    sq1: jax.Array,
    sq2: jax.Array,
    *,
    depth: int,
    n0: int,
    w_var: float = W_STD**2,
    b_var: float = B_STD**2,
) -> tuple[jax.Array, jax.Array]:
    """(NTK, NNGP) from inner products ``gram`` and squared norms of the two row sets."""
    k = w_var * gram / n0 + b_var
    k1 = w_var * sq1 / n0 + b_var
    k2 = w_var * sq2 / n0 + b_var
    theta = k
    for _ in range(depth):
        norm = jnp.sqrt(k1[:, None] * k2[None, :])
        c = jnp.clip(k / norm, -1.0, 1.0)
        c = jnp.where(c > 1.0 - SNAP_ULPS * jnp.finfo(c.dtype).eps, 1.0, c)
        e = norm * _arc_e(c)
        e_dot = _arc_e_dot(c)
        k = w_var * e + b_var
        theta = k + w_var * e_dot * theta
        k1 = w_var * k1 / 2 + b_var
        k2 = w_var * k2 / 2 + b_var
    return theta, k


@partial(jax.jit, static_argnames=("depth", "n0"))
def _ntk_block(gram, sq1, sq2, *, depth: int, n0: int) -> jax.Array:
    return kernels_from_gram(gram, sq1, sq2, depth=depth, n0=n0)[0]


@partial(jax.jit, static_argnames=("depth", "n0"))
def ntk_times(gram, sq1, sq2, alpha, *, depth: int, n0: int) -> jax.Array:
    """``NTK · α`` for a block of kernel rows given by their Gram row block (one jitted
    computation: sharded by rows, each device scores its own users)."""
    return jnp.dot(
        kernels_from_gram(gram, sq1, sq2, depth=depth, n0=n0)[0], alpha, precision=HIGHEST
    )


@partial(jax.jit, static_argnames=("depth", "n0"))
def ntk_and_square(gram, sq1, sq2, mask, *, depth: int, n0: int) -> tuple[jax.Array, jax.Array]:
    """(the masked kernel block ``K``, ``KᵀK``): sharded by rows, ``KᵀK`` sums over devices."""
    k = kernels_from_gram(gram, sq1, sq2, depth=depth, n0=n0)[0] * mask[:, None]
    return k, jnp.dot(k.T, k, precision=HIGHEST)


def ntk_from_gram(
    gram: jax.Array | np.ndarray,
    sq1: jax.Array | np.ndarray,
    sq2: jax.Array | np.ndarray,
    depth: int = 1,
    *,
    n0: int,
    block_rows: int = 8192,
) -> jax.Array | np.ndarray:
    """NTK from inner products ``gram = x1 x2ᵀ`` and the rows' squared norms (``n0`` features).

    For callers that keep the Gram matrix (∞-AE scores new contexts by updating it). One block is
    returned as is; more are stitched into a host array, ``block_rows`` rows at a time.
    """
    _check_depth(depth)

    if multi_device():
        sq2_all = replicate(np.asarray(sq2))

        def block(start: int):
            rows = slice(start, start + block_rows)
            n = len(sq1[rows])
            out = _ntk_block(
                shard_rows(np.asarray(gram[rows])),
                shard_rows(np.asarray(sq1[rows])),
                sq2_all,
                depth=int(depth),
                n0=int(n0),
            )
            return to_host(out)[:n]

        return _stitch(block, gram.shape, block_rows)

    def block(start: int):
        rows = slice(start, start + block_rows)
        return _ntk_block(gram[rows], sq1[rows], sq2, depth=int(depth), n0=int(n0))

    return _stitch(block, gram.shape, block_rows)


def _blocked(fn, x1, x2, depth: int, block_rows: int):
    """Apply ``fn(gram, sq1, sq2)`` over row blocks of ``x1``; stitch blocks into host memory."""
    _check(x1, x2, depth)
    same = x1 is x2
    sq2 = (x2 * x2).sum(axis=1)

    def block(start: int):
        xb = x1[start : start + block_rows]
        g = gram(xb) if same and start == 0 and len(xb) == len(x1) else gram(xb, x2)
        return fn(g, (xb * xb).sum(axis=1), sq2, depth=int(depth), n0=x1.shape[1])

    return _stitch(block, (x1.shape[0], x2.shape[0]), block_rows)


def _stitch(block, shape: tuple[int, int], block_rows: int):
    """``block(start)`` (an array or a tuple of arrays) for every row block of an output of
    ``shape``: one block is returned as is, several are stitched into host arrays."""
    if shape[0] <= block_rows:
        return block(0)
    first = block(0)
    outs = tuple(np.empty(shape, dtype=o.dtype) for o in _as_tuple(first))
    for start in range(0, shape[0], block_rows):
        part = first if start == 0 else block(start)
        for out, p in zip(outs, _as_tuple(part), strict=True):
            out[start : start + block_rows] = np.asarray(p)
    return outs if isinstance(first, tuple) else outs[0]


def _as_tuple(x):
    return x if isinstance(x, tuple) else (x,)


def _check_depth(depth: int) -> None:
    if int(depth) < 1:
        raise InfrecError(f"model.depth={depth}: the NTK needs depth ≥ 1 hidden layer")


def _check(x1, x2, depth: int) -> None:
    _check_depth(depth)
    if x1.ndim != 2 or x2.ndim != 2 or x1.shape[1] != x2.shape[1]:
        raise InfrecError(
            f"NTK inputs must be 2-D with equal widths, got {x1.shape} and {x2.shape}"
        )


def ntk_diagonal(sq: np.ndarray, depth: int = 1, *, n0: int) -> np.ndarray:
    """``NTK(x, x)`` of rows with squared norms ``sq``: the recursion at ``c = 1`` (``θ = 0``,
    ``E = K/2``, ``Ė = 1/2``), elementwise — no Gram product (the mean diagonal of a kernel too
    large to build)."""
    _check_depth(depth)
    k = W_STD**2 * np.asarray(sq, np.float64) / n0 + B_STD**2
    theta = k
    for _ in range(int(depth)):
        k = W_STD**2 * k / 2 + B_STD**2
        theta = k + W_STD**2 / 2 * theta
    return theta


def ntk_nngp(
    x1: jax.Array | np.ndarray,
    x2: jax.Array | np.ndarray,
    depth: int = 1,
    *,
    block_rows: int = 8192,
) -> tuple[jax.Array, jax.Array]:
    """NTK(x1, x2) and NNGP(x1, x2), computed ``block_rows`` rows of ``x1`` at a time.

    Inputs are NumPy or JAX arrays of one float dtype; ``ntk(x, x)`` with the same object uses a
    symmetric Gram product.

    One block returns device arrays; several are stitched into host (NumPy) arrays so the peak
    device memory stays at one block.
    """
    return _blocked(kernels_from_gram, x1, x2, depth, block_rows)


def ntk(
    x1: jax.Array | np.ndarray,
    x2: jax.Array | np.ndarray,
    depth: int = 1,
    *,
    block_rows: int = 8192,
) -> jax.Array:
    """NTK(x1, x2) per output unit (see :func:`ntk_nngp`); the NNGP is never materialised."""
    return _blocked(_ntk_block, x1, x2, depth, block_rows)


def ntk_traced(x1: jax.Array, x2: jax.Array, depth: int = 1) -> jax.Array:
    """NTK(x1, x2) in pure JAX (no blocking, no host BLAS): for use inside ``jit``/``grad``.

    Derivatives are finite everywhere, including at identical rows (a self-kernel's diagonal).
    """
    g = jnp.dot(x1, x2.T, precision=HIGHEST)
    sq1, sq2 = jnp.sum(x1 * x1, 1), jnp.sum(x2 * x2, 1)
    return kernels_from_gram(g, sq1, sq2, depth=depth, n0=x1.shape[1])[0]
