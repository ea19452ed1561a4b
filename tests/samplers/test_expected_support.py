"""Distill-CF's expected support (``sampler.pool_factor=0``): the multi-Gumbel sample's mean at
high temperature, checked against the literal estimator's draws."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from infrec.distillation.estimator import gumbel_noise_cv, sample_support
from infrec.distillation.loop import DistillSettings
from infrec.errors import InfrecError


def literal_draws(logits: np.ndarray, gamma: int, tau: float, n: int) -> np.ndarray:
    """``n`` draws of hardtanh(Σ_γ softmax((X̃ + g)/τ)), fresh Gumbel noise per row and sample
    (the published estimator, in NumPy)."""
    g = np.random.default_rng(1).gumbel(size=(n, gamma, *logits.shape))
    z = (logits + g) / tau
    p = np.exp(z - z.max(-1, keepdims=True))
    return np.clip((p / p.sum(-1, keepdims=True)).sum(1), -1, 1)


def test_the_expected_support_is_the_literal_estimators_mean_at_high_temperature():
    """At τ = 10 over 200 items, 200 literal draws average to γ·softmax(X̃/τ) within their
    standard error, and one draw's entries scatter around it by the CV the docstring states."""
    rng = np.random.default_rng(0)
    logits = jnp.asarray(rng.normal(size=(3, 200)) * 3, jnp.float32)
    gamma, tau = 20, 10.0
    expected = np.asarray(sample_support(logits, jax.random.key(0), gamma, tau, pool=0))
    np.testing.assert_allclose(expected, gamma * jax.nn.softmax(logits / tau, axis=-1), rtol=1e-6)
    draws = literal_draws(np.asarray(logits, np.float64), gamma, tau, 200)
    cv = gumbel_noise_cv(gamma, tau)
    assert cv == pytest.approx(0.1396 / math.sqrt(gamma), rel=1e-3)
    np.testing.assert_allclose(draws.mean(0), expected, rtol=4 * cv / math.sqrt(200))
    spread = (draws / expected).std(0).mean()
    assert spread == pytest.approx(cv, rel=0.1)


def test_at_low_temperature_the_mean_is_another_thing():
    """At τ = 0.5 a draw is nearly one-hot per sample: its mean is not γ·softmax(X̃/τ), which is
    why the expected support is refused there."""
    logits = np.random.default_rng(2).normal(size=(2, 50)) * 3
    draws = literal_draws(logits, 5, 0.5, 300)
    assert np.abs(draws.mean(0) - 5 * np.asarray(jax.nn.softmax(logits / 0.5))).max() > 0.1
    assert gumbel_noise_cv(5, 0.5) == math.inf


def settings(**overrides):
    base = dict(
        gamma=200, tau=10.0, card_reg=1e-3, lr=0.04, steps=10, patience=5, depth=1,
        lambdas=(1.0,), pool_factor=0, target_batch=None, val_users=None, log_every=10, seed=0,
    )  # fmt: skip
    return DistillSettings(**{**base, **overrides})


def test_pool_factor_zero_draws_no_noise_and_needs_a_high_temperature():
    assert settings().pool == 0
    assert settings(pool_factor=None).pool is None
    assert settings(pool_factor=4.0).pool == 800
    with pytest.raises(InfrecError, match=r"sampler.pool_factor=0 with sampler.tau=1.0: .*above 2"):
        settings(tau=1.0)
    with pytest.raises(InfrecError, match=r"sampler.pool_factor=0.5: must be ≥ 1, 0 .* or null"):
        settings(pool_factor=0.5)
