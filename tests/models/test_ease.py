import numpy as np
import pytest
import scipy.sparse as sp

from infrec.errors import InfrecError
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
