"""Nyström ∞-AE: exact ∞-AE when every user is a landmark, the subset-of-regressors formula
otherwise, blocks that do not change the result, and its settings checked."""

import numpy as np
import pytest
import scipy.sparse as sp

from infrec.errors import InfrecError
from infrec.kernels.ntk import ntk_diagonal
from tests.helpers import conf_model, reference_ntk


@pytest.fixture
def data():
    rng = np.random.default_rng(5)
    train = (rng.random((30, 25)) < 0.25).astype(np.float64)
    train[:, 0] = 1.0  # no empty rows
    context = train + (rng.random((30, 25)) < 0.1) * (1 - train)
    return train, context


def test_all_users_as_landmarks_is_exact_infinite_ae(data):
    train, context = data
    rows = np.arange(30)
    exact = conf_model("infinite_ae", lambdas=[0.5, 5.0], dtype="float64")
    nystrom = conf_model("infinite_ae", lambdas=[0.5, 5.0], dtype="float64", solver="nystrom")
    pairs = zip(
        exact.candidates(sp.csr_matrix(train)),
        nystrom.candidates(sp.csr_matrix(train)),
        strict=True,
    )
    for (hp_e, exact_fit), (hp_n, nystrom_fit) in pairs:
        assert hp_e == hp_n
        for ctx in (train, context):
            np.testing.assert_allclose(
                nystrom_fit.scorer(sp.csr_matrix(ctx))(rows),
                exact_fit.scorer(sp.csr_matrix(ctx))(rows),
                rtol=1e-7,
                atol=1e-9,
            )


@pytest.mark.parametrize("block_rows", [7, 4096])
def test_few_landmarks_give_the_subset_of_regressors_solution(data, block_rows):
    """β = (K_nmᵀK_nm + λ'K_mm)⁻¹ K_nmᵀX from the independent kernel; blocks change nothing."""
    train, context = data
    lam, m = 2.0, 9
    model = conf_model(
        "infinite_ae",
        lambdas=[lam],
        dtype="float64",
        solver="nystrom",
        landmarks=m,
        block_rows=block_rows,
        seed=3,
    )
    ((_, fitted),) = model.candidates(sp.csr_matrix(train))
    landmarks = np.sort(np.random.default_rng(3).choice(30, size=m, replace=False))
    x_l = train[landmarks]
    k_nm, k_mm = reference_ntk(train, x_l, 1)[0], reference_ntk(x_l, x_l, 1)[0]
    scale = np.trace(reference_ntk(train, train, 1)[0]) / 30
    beta = np.linalg.solve(k_nm.T @ k_nm + lam * scale * k_mm, k_nm.T @ train)
    expected = reference_ntk(context, x_l, 1)[0] @ beta
    got = fitted.scorer(sp.csr_matrix(context))(np.arange(30))
    np.testing.assert_allclose(got, expected, rtol=1e-7, atol=1e-9)


def test_sampled_support_is_the_landmark_set(data):
    """With a sampler's support, its rows are the landmarks and every training user a target."""
    train, _ = data
    support = sp.csr_matrix(train[:6])
    base = conf_model("infinite_ae", lambdas=[1.0], dtype="float64", solver="nystrom")
    ((_, fitted),) = base.with_targets(sp.csr_matrix(train)).candidates(support)
    np.testing.assert_array_equal(fitted.x, train[:6])
    ((_, alone),) = base.candidates(support)  # no targets given: the support fits itself
    assert not np.allclose(fitted.alpha, alone.alpha)


def test_ntk_diagonal_matches_the_kernel(data):
    train, _ = data
    for depth in (1, 3):
        np.testing.assert_allclose(
            ntk_diagonal((train * train).sum(1), depth, n0=25),
            np.diagonal(reference_ntk(train, train, depth)[0]),
            rtol=1e-12,
        )


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"solver": "nystrm"}, r"model.solver='nystrm': choose one of exact, nystrom"),
        ({"solver": "nystrom", "landmarks": 0}, r"model.landmarks=0: a user count ≥ 1, or null"),
    ],
)
def test_bad_solver_settings(overrides, message):
    with pytest.raises(InfrecError, match=message):
        conf_model("infinite_ae", **overrides)
