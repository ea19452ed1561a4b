import numpy as np
import pytest
import scipy.sparse as sp

from infrec.errors import InfrecError
from infrec.models.ease import EASEDualFitted
from tests.helpers import conf_model


def reference_ease(x: np.ndarray, lam: float) -> np.ndarray:
    g = x.T @ x + lam * np.eye(x.shape[1])
    p = np.linalg.inv(g)
    b = np.eye(x.shape[1]) - p / np.diag(p)
    return b


def test_matches_reference_and_zero_diagonal():
    rng = np.random.default_rng(1)
    x = (rng.random((40, 15)) < 0.3).astype(np.float64)
    model = conf_model("ease", lambdas=[1.0, 50.0], dtype="float64")
    for (hp, fitted), lam in zip(model.candidates(sp.csr_matrix(x)), [1.0, 50.0], strict=True):
        assert hp == {"lambda": lam}
        b = reference_ease(x, lam)
        np.testing.assert_allclose(fitted.weights, b, rtol=1e-9, atol=1e-12)
        assert np.all(np.diag(fitted.weights) == 0)
        scores = fitted.scorer(sp.csr_matrix(x))(np.arange(5))
        np.testing.assert_allclose(scores, x[:5] @ b, rtol=1e-9, atol=1e-12)


def test_lambda_zero_singular_gram_is_finite():
    x = np.zeros((4, 6))
    x[:, :3] = 1.0  # items 3-5 never seen: XᵀX is singular
    ((_, fitted),) = conf_model("ease", lambdas=[0.0]).candidates(x)
    assert np.all(np.isfinite(fitted.weights))


def test_real_valued_support():
    rng = np.random.default_rng(2)
    x = rng.random((30, 10))
    ((_, fitted),) = conf_model("ease", lambdas=[2.0], dtype="float64").candidates(x)
    np.testing.assert_allclose(fitted.weights, reference_ease(x, 2.0), rtol=1e-9, atol=1e-12)


def test_negative_lambda():
    with pytest.raises(InfrecError, match="λ must be ≥ 0"):
        conf_model("ease", lambdas=[-1])


def few_users(seed: int, users: int = 8, items: int = 60) -> tuple[np.ndarray, np.ndarray]:
    """A support of fewer users than a quarter of the items (the dual form) and a 0/1 context."""
    rng = np.random.default_rng(seed)
    support = rng.random((users, items)) * (rng.random((users, items)) < 0.4)
    context = (rng.random((25, items)) < 0.2).astype(np.float64)
    return support, context


@pytest.mark.parametrize("lam", [0.5, 3.0, 40.0])
def test_dual_form_scores_equal_the_item_item_closed_form(lam):
    support, context = few_users(3)
    model = conf_model("ease", lambdas=[lam], dtype="float64")
    ((hp, fitted),) = model.candidates(support)
    assert hp == {"lambda": lam} and isinstance(fitted, EASEDualFitted)
    scores = fitted.scorer(sp.csr_matrix(context))(np.arange(25))
    np.testing.assert_allclose(
        scores, context @ reference_ease(support, lam), rtol=1e-8, atol=1e-10
    )


def test_dual_form_relative_lambda_and_sparse_support_match_the_primal():
    support, context = few_users(4)
    relative = conf_model("ease", lambdas=[0.2], dtype="float64").relative([0.2])
    ((hp, fitted),) = relative.candidates(sp.csr_matrix(support))
    absolute = 0.2 * np.trace(support.T @ support) / support.shape[1]
    assert hp["lambda"] == pytest.approx(absolute) and hp["lambda_relative"] == 0.2
    want = context @ reference_ease(support, absolute)
    np.testing.assert_allclose(fitted.scorer(context)(np.arange(25)), want, rtol=1e-8, atol=1e-10)


def test_dual_form_float32_is_within_round_off_and_ignores_a_users_own_entry():
    support, context = few_users(5, users=12, items=200)
    ((_, fitted),) = conf_model("ease", lambdas=[2.0]).candidates(support)
    scores = fitted.scorer(sp.csr_matrix(context))(np.arange(25))
    assert scores.dtype == np.float32
    want = context @ reference_ease(support, 2.0)
    np.testing.assert_allclose(scores, want, rtol=1e-3, atol=1e-4 * np.abs(want).max())
    flipped = context.copy()
    flipped[0, 7] = 1.0 - flipped[0, 7]  # the user's own entry of item 7
    again = fitted.scorer(sp.csr_matrix(flipped))(np.arange(1))
    assert again[0, 7] == pytest.approx(scores[0, 7], abs=1e-4 * np.abs(want).max())


def test_dual_form_lambda_zero_is_finite_and_plans_no_items_squared():
    support, context = few_users(6)
    ((_, fitted),) = conf_model("ease", lambdas=[0.0]).candidates(support)
    assert np.all(np.isfinite(fitted.scorer(sp.csr_matrix(context))(np.arange(25))))
    needs = conf_model("ease", lambdas=[1.0]).memory(support, block_users=25)
    assert max(n.bytes for n in needs) <= 3 * 8 * 8 * 60
