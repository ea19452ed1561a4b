"""Distill-CF with EASE as the inner model (``sampler.inner=ease``)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.sparse as sp

from infrec.distillation.estimator import ease_predict
from infrec.errors import InfrecError
from infrec.models.ease import EASE, ease_weights
from infrec.sparse import csr_pair
from tests.helpers import conf_sampler
from tests.samplers.test_distill_cf import QUICK as SETTINGS
from tests.samplers.test_distill_cf import tiny_split


def problem(seed: int = 0):
    rng = np.random.default_rng(seed)
    support = rng.random((6, 20))
    targets = (rng.random((30, 20)) < 0.3).astype(np.float64)
    return support, targets


@pytest.mark.parametrize("lam", [1e-3, 0.3, 5.0])
def test_ease_predict_is_the_closed_form_at_the_relative_lambda(x64, lam):
    support, targets = problem()
    g = support.T @ support
    want = targets @ np.asarray(ease_weights(g, lam * np.trace(g) / 20))
    csr = csr_pair(sp.csr_matrix(targets), dtype=np.float64)
    for targets_csr in (None, csr):
        got = ease_predict(
            jnp.asarray(support), jnp.asarray(targets), jnp.float64(lam), targets_csr
        )
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-11)


def test_a_targets_own_entry_does_not_predict_itself(x64):
    """B's zero diagonal: flipping a target's entry (u, i) leaves its prediction for i alone."""
    support, targets = problem(1)
    flipped = targets.copy()
    flipped[3, 5] = 1 - flipped[3, 5]
    pred = [
        ease_predict(jnp.asarray(support), jnp.asarray(t), jnp.float64(0.1))
        for t in (targets, flipped)
    ]
    assert float(pred[0][3, 5]) == pytest.approx(float(pred[1][3, 5]), abs=1e-12)
    assert not np.allclose(pred[0][3], pred[1][3])  # the other items do move


def test_ease_predicts_gradient_is_autodiff_of_the_item_space_formula(x64):
    support, targets = problem(2)
    weights = jnp.asarray(np.random.default_rng(3).normal(size=targets.shape))

    def plain(s):
        g = s.T @ s
        p = jnp.linalg.inv(g + 0.2 * jnp.trace(g) / 20 * jnp.eye(20))
        b = jnp.eye(20) - p / jnp.diagonal(p)[None, :]
        return jnp.sum(weights * (targets @ b))

    def woodbury(s):
        return jnp.sum(weights * ease_predict(s, jnp.asarray(targets), jnp.float64(0.2)))

    want_value, want_grad = jax.value_and_grad(plain)(jnp.asarray(support))
    value, grad = jax.value_and_grad(woodbury)(jnp.asarray(support))
    assert float(value) == pytest.approx(float(want_value), rel=1e-10)
    np.testing.assert_allclose(grad, want_grad, rtol=1e-7, atol=1e-10)


def test_relative_lambda_is_the_absolute_one_times_the_mean_gram_diagonal(x64):
    support, _ = problem(4)
    scale = float(np.trace(support.T @ support)) / 20
    [(hp_a, fit_a)] = EASE(lambdas=[0.5 * scale], dtype="float64").candidates(support)
    [(hp_r, fit_r)] = EASE(lambdas=[1.0], dtype="float64").relative([0.5]).candidates(support)
    np.testing.assert_allclose(fit_r.weights, fit_a.weights, rtol=1e-10)
    assert hp_r == {"lambda": pytest.approx(hp_a["lambda"]), "lambda_relative": 0.5}


def test_a_summary_distilled_with_ease_hands_ease_its_lambda(tmp_path):
    split = tiny_split()
    default = conf_sampler("distill_cf", **SETTINGS)
    assert "inner" not in default.config()  # summaries cached before the option keep their key
    sampler = conf_sampler("distill_cf", inner="ease", support_dir=str(tmp_path), **SETTINGS)
    assert sampler.config()["inner"] == "ease"
    support = sampler.sample(split)
    lam = support.meta["best_lambda"]
    assert lam in (1e-5, 1e-3, 0.1, 1.0, 5.0, 50.0)
    assert support.hints == {"ease": {"lambda": lam}}
    model = EASE(lambdas=[1.0, 10.0], dtype="float32").for_support(support.hints)
    assert model.lambdas == [lam] and model.lambdas_relative
    assert EASE(lambdas=[1.0], dtype="float32").for_support(
        {"infinite_ae": {"lambda": 1}}
    ).lambdas == [1.0]
    assert len(list(tmp_path.glob("tiny-distill_cf-4-seed0-*.npz"))) == 1


def test_an_unknown_inner_model_is_named():
    with pytest.raises(InfrecError, match=r"sampler.inner='mvae': choose one of infinite_ae, ease"):
        conf_sampler("distill_cf", inner="mvae", **SETTINGS)
