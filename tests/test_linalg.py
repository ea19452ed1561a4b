"""Dense solves and sparse products the closed-form models are built on."""

import numpy as np
import pytest
import scipy.sparse as sp

from infrec import sparse
from infrec.errors import InfrecError
from infrec.linalg import cho_solve, stable_cholesky
from infrec.sparse import csr_matmul, item_gram


def spd(n: int, rng: np.random.Generator) -> np.ndarray:
    a = rng.random((n, n))
    return a @ a.T / n + 0.1 * np.eye(n)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("order", ["C", "F"])
def test_cho_solve_matches_a_general_solve(dtype, order):
    rng = np.random.default_rng(0)
    a = spd(40, rng)
    b = np.asarray(rng.random((40, 7)), dtype=dtype, order=order)
    chol, shift = stable_cholesky(a.astype(dtype), 0.5, 1.0)
    assert shift == 0.5
    before = b.copy()
    got = np.asarray(cho_solve(chol, b))
    assert got.dtype == dtype
    expected = np.linalg.solve(a + 0.5 * np.eye(40), b.astype(np.float64))
    tol = 1e-4 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(got, expected, rtol=tol, atol=tol)
    np.testing.assert_array_equal(b, before)  # the solve works on a copy


def test_cholesky_leaves_the_matrix_alone_and_falls_back_on_singular_input():
    rng = np.random.default_rng(1)
    v = rng.random((6, 2))
    a = v @ v.T  # rank 2: no Cholesky factor without a ridge
    before = a.copy()
    chol, used = stable_cholesky(a, 0.0, 1.0)
    np.testing.assert_array_equal(a, before)
    assert used > 0
    np.testing.assert_allclose(np.tril(chol) @ np.tril(chol).T, a + used * np.eye(6), atol=1e-10)


def test_cholesky_ladder_reaches_a_tenth_of_the_diagonal_then_names_the_cause():
    """A kernel whose round-off left an eigenvalue at −5% of the mean diagonal (float32 NTKs of
    near-duplicate rows) factorises with the last ridge; one at −50% is an error that says why."""
    q, _ = np.linalg.qr(np.random.default_rng(2).random((8, 8)))
    for low, ok in ((-0.05, True), (-0.5, False)):
        a = q @ np.diag([low] + [1.0] * 7) @ q.T
        scale = float(np.trace(a)) / 8
        if ok:
            _, used = stable_cholesky(a, 1e-5 * scale, scale)
            assert used == pytest.approx(0.1 * scale)
        else:
            with pytest.raises(InfrecError, match=r"not positive definite at this precision"):
                stable_cholesky(a, 1e-5 * scale, scale)


@pytest.mark.parametrize("shape", [(7, 5), (1, 9), (30, 4)])
def test_csr_matmul_matches_scipy(shape):
    rng = np.random.default_rng(2)
    m = sp.random(*shape, density=0.3, random_state=3, format="csr", dtype=np.float32)
    dense = rng.random((shape[1], 6), dtype=np.float32)
    np.testing.assert_allclose(np.asarray(csr_matmul(m, dense)), m @ dense, rtol=1e-6)
    empty = sp.csr_matrix(shape, dtype=np.float32)
    np.testing.assert_array_equal(np.asarray(csr_matmul(empty, dense)), 0.0)


@pytest.mark.parametrize("block_bytes", [12 * 17 * 3, 1 << 28])
def test_item_gram_from_sparse_rows_matches_the_dense_product(monkeypatch, block_bytes):
    """Blocks of 3 items (the first case: the last block is shorter) or one block: XᵀX exactly,
    counts of co-occurrence for 0/1 rows."""
    monkeypatch.setattr(sparse, "GRAM_BLOCK_BYTES", block_bytes)
    m = sp.random(50, 17, density=0.25, random_state=4, format="csr", dtype=np.float32)
    m.data[:] = 1.0
    g = item_gram(m, np.float32)
    dense = m.toarray()
    assert g.dtype == np.float32 and g.shape == (17, 17)
    np.testing.assert_array_equal(g, dense.T @ dense)
