"""Products with sparse rows: sparse × dense ones that differentiate fast on CPU, and the item
Gram matrix of sparse rows.

XLA:CPU turns the gradient of a sparse product (or of a gather) into a serial scatter-add; here the
backward pass is another CSR product with the stored transpose (measured in
``benchmarks/bench_spmm.py``; figures in ``docs/performance.md``).
Used by LightGCN's propagation and by Distill-CF's target Gram matrix; :func:`csr_matmul` is the
plain forward product (∞-AE's context Gram update); :func:`item_gram` is EASE's ``XᵀX`` without
a dense users × items matrix.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import scipy.sparse as sp
from jax.experimental import sparse as jsp

from infrec.progress import Progress
from infrec.threads import host_threads

log = logging.getLogger(__name__)

CSR = tuple[jax.Array, jax.Array, jax.Array]
"""(data, indices, indptr) of a CSR matrix on the device."""


def device_csr(m: sp.spmatrix, dtype=np.float32) -> CSR:
    """A SciPy CSR matrix as (data, indices, indptr) device arrays, data in ``dtype``."""
    m = sp.csr_matrix(m)
    m.sort_indices()
    return (
        jnp.asarray(m.data.astype(dtype)),
        jnp.asarray(m.indices, jnp.int32),
        jnp.asarray(m.indptr, jnp.int32),
    )


def csr_pair(m: sp.spmatrix, dtype=np.float32) -> tuple[CSR, CSR]:
    """``m`` and its transpose on the device: the two operands :func:`spmm` needs."""
    m = sp.csr_matrix(m)
    return device_csr(m, dtype), device_csr(m.T.tocsr(), dtype)


@jax.custom_vjp
def spmm(a: CSR, a_t: CSR, x: jax.Array) -> jax.Array:
    """``A @ x`` for a CSR ``A`` whose transpose ``a_t`` is given: the backward pass is another
    CSR product (``Aᵀ g``) instead of the scatter-add XLA would emit."""
    return jsp.BCSR(a, shape=(a[2].shape[0] - 1, x.shape[0])) @ x


def _spmm_fwd(a: CSR, a_t: CSR, x: jax.Array):
    return spmm(a, a_t, x), a_t


def _spmm_bwd(a_t: CSR, g: jax.Array):
    return None, None, jsp.BCSR(a_t, shape=(a_t[2].shape[0] - 1, g.shape[0])) @ g


spmm.defvjp(_spmm_fwd, _spmm_bwd)


@partial(jax.jit, static_argnames=("n_rows",))
def _csr_matmul(data, indices, indptr, dense, n_rows: int):
    return jsp.BCSR((data, indices, indptr), shape=(n_rows, dense.shape[0])) @ dense


def csr_matmul(m: sp.spmatrix, dense: jax.Array) -> jax.Array:
    """``m @ dense`` for a SciPy sparse ``m`` and a dense device array (cost ∝ nnz × columns).

    The stored entries are padded with zeros to a power of two (on the last row), so blocks of
    similar size share one compilation.
    """
    m = sp.csr_matrix(m)
    size = 1 << max(m.nnz - 1, 0).bit_length()
    pad = size - m.nnz
    data = np.concatenate([m.data.astype(dense.dtype), np.zeros(pad, dense.dtype)])
    indices = np.concatenate([m.indices.astype(np.int32), np.zeros(pad, np.int32)])
    indptr = m.indptr.astype(np.int32)
    indptr[-1] = size
    return _csr_matmul(data, indices, indptr, dense, n_rows=m.shape[0])


def rows_matmul(m: sp.spmatrix, rows: np.ndarray | slice, dense: jax.Array) -> np.ndarray:
    """``(m @ dense)[rows]`` on the host, from the sparse rows (the models' context scoring)."""
    return np.asarray(csr_matmul(sp.csr_matrix(m)[rows], dense))


GRAM_BLOCK_BYTES = 256 * 1024**2
"""Bound on one item block's sparse product in :func:`item_gram` (its entries at 12 B each)."""


def item_gram(m: sp.spmatrix, dtype=np.float32) -> np.ndarray:
    """``mᵀ m`` (items × items, dense) from sparse rows, blocks of items on
    :func:`infrec.threads.host_threads` threads (SciPy's sparse product releases the GIL; 1.7× on
    this 2-core machine).

    The work is Σ_u n_u² (every pair of each user's items, SciPy's sparse product), not the
    users × items² of a dense Gram matrix, and no dense users × items matrix is made: 80 M
    Netflix-shaped interactions stay sparse. Memory: the result and one block's product per
    thread (each at most ``GRAM_BLOCK_BYTES``). 0/1 rows give exact co-occurrence counts in
    float32 up to 2²⁴ users per pair.
    """
    m = sp.csr_matrix(m, dtype=dtype)
    n_items = m.shape[1]
    m_t = m.T.tocsr()
    out = np.empty((n_items, n_items), dtype)
    block = max(1, min(n_items, GRAM_BLOCK_BYTES // (12 * max(n_items, 1))))
    starts = range(0, n_items, block)

    def fill(start: int) -> None:
        stop = min(start + block, n_items)
        out[start:stop] = (m_t[start:stop] @ m).toarray()

    with (
        Progress(len(starts), "item Gram blocks", every=1, logger=log, bar_from=4) as progress,
        ThreadPoolExecutor(host_threads()) as pool,
    ):
        for _ in pool.map(fill, starts):
            progress.update()
    return out
