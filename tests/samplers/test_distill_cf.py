import logging
import shutil
from functools import partial
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
import scipy.sparse as sp

from infrec.data.matrix import Split
from infrec.distillation import loop
from infrec.distillation.estimator import (
    distill_loss,
    factorable_ridge,
    krr_predict,
    multi_gumbel_independent,
    multi_gumbel_pooled,
)
from infrec.distillation.loop import capped_gamma, validation_steps
from infrec.errors import InfrecError
from infrec.kernels.ntk import ntk_traced
from infrec.samplers import distill_cf
from infrec.sparse import csr_pair
from tests.helpers import conf_sampler


def test_pooled_sampling_is_the_multi_gumbel_formula(x64):
    rng = np.random.default_rng(0)
    logits = jnp.asarray(rng.normal(size=(3, 7)))
    key = jax.random.key(5)
    gamma, tau = 4, 0.7
    got = multi_gumbel_pooled(logits, key, gamma, tau, pool=gamma)  # every row uses the pool
    g = jax.random.gumbel(jax.random.split(key)[0], (gamma, 7), logits.dtype)
    expected = sum(jax.nn.softmax((logits + g[j]) / tau, axis=-1) for j in range(gamma))
    np.testing.assert_allclose(got, np.clip(expected, -1, 1), rtol=1e-10)


def test_pooled_and_independent_estimators_agree_in_expectation():
    rng = np.random.default_rng(1)
    logits = jnp.asarray(rng.normal(size=(4, 12)), jnp.float32) * 3
    keys = jax.random.split(jax.random.key(0), 2000)
    pooled = jax.vmap(lambda k: multi_gumbel_pooled(logits, k, 3, 2.0, pool=12))(keys)
    indep = jax.vmap(lambda k: multi_gumbel_independent(logits, k, 3, 2.0))(keys)
    # Monte Carlo over 2000 draws: standard errors are below 0.01
    np.testing.assert_allclose(pooled.mean(0), indep.mean(0), atol=0.03)
    np.testing.assert_allclose(pooled.std(0), indep.std(0), atol=0.03)


def tiny_problem(dtype=np.float64):
    rng = np.random.default_rng(2)
    targets = jnp.asarray((rng.random((9, 8)) < 0.4).astype(dtype))
    logits = jnp.asarray(rng.normal(size=(3, 8)).astype(dtype))
    loss = partial(distill_loss, gamma=5, tau=1.5, pool=10, depth=1, card_reg=0.1, mean_card=3.0)
    return logits, targets, loss


def test_gradient_matches_finite_differences(x64):
    logits, targets, loss = tiny_problem()
    key = jax.random.key(3)
    f = jax.jit(lambda x: loss(x, key, targets, 0.5))  # fixed noise: a deterministic loss
    grad = np.asarray(jax.grad(f)(logits))
    eps = 1e-6
    for idx in [(0, 0), (1, 3), (2, 7)]:
        step = np.zeros(logits.shape)
        step[idx] = eps
        fd = (f(logits + step) - f(logits - step)) / (2 * eps)
        assert grad[idx] == pytest.approx(float(fd), rel=1e-5, abs=1e-9)


def test_sparse_target_gram_gives_the_same_loss_and_gradient(x64):
    logits, targets, loss = tiny_problem()
    csr = csr_pair(sp.csr_matrix(np.asarray(targets)), dtype=np.float64)
    key = jax.random.key(5)
    dense = jax.value_and_grad(lambda x: loss(x, key, targets, 0.5))(logits)
    sparse = jax.value_and_grad(lambda x: loss(x, key, targets, 0.5, targets_csr=csr))(logits)
    assert float(sparse[0]) == pytest.approx(float(dense[0]), rel=1e-12)
    np.testing.assert_allclose(sparse[1], dense[1], rtol=1e-9, atol=1e-12)


def test_the_inner_solves_gradients_are_autodiffs_of_the_plain_formulas(x64):
    """krr_predict's custom gradients (one-product self Gram, SPD solve without the Cholesky's
    own backward pass) against autodiff of the textbook formulas, dense and sparse targets."""
    rng = np.random.default_rng(7)
    targets = (rng.random((30, 20)) < 0.3).astype(np.float64)
    support, lam = jnp.asarray(rng.random((6, 20))), jnp.float64(0.3)
    weights = jnp.asarray(rng.normal(size=(30, 20)))

    def plain(s):
        k_ss, k_ts = ntk_traced(s, s, 2), ntk_traced(jnp.asarray(targets), s, 2)
        reg = k_ss + factorable_ridge(k_ss, lam) * jnp.eye(6)
        return jnp.sum(weights * (k_ts @ jnp.linalg.solve(reg, s)))

    csr = csr_pair(sp.csr_matrix(targets), dtype=np.float64)
    want_value, want_grad = jax.value_and_grad(plain)(support)
    for targets_csr in (None, csr):
        value, grad = jax.value_and_grad(
            lambda s, c=targets_csr: jnp.sum(weights * krr_predict(s, targets, lam, 2, c))
        )(support)
        assert float(value) == pytest.approx(float(want_value), rel=1e-12)
        np.testing.assert_allclose(grad, want_grad, rtol=1e-9, atol=1e-12)


def test_loss_decreases(x64):
    logits, targets, loss = tiny_problem()
    opt = optax.adam(0.05)
    state = opt.init(logits)
    values, value_and_grad = [], jax.jit(jax.value_and_grad(loss))
    for i in range(60):
        value, grad = value_and_grad(logits, jax.random.key(i), targets, 0.5)
        updates, state = opt.update(grad, state)
        logits = optax.apply_updates(logits, updates)
        values.append(float(value))
    assert np.mean(values[-10:]) < np.mean(values[:10]) - 0.05


def test_validation_schedule():
    assert sorted(validation_steps(300)) == [
        25,
        40,
        50,
        75,
        80,
        100,
        120,
        125,
        150,
        160,
        175,
        200,
        240,
        280,
        300,
    ]
    assert validation_steps(10) == {10}


def tiny_split() -> Split:
    rng = np.random.default_rng(4)
    full = (rng.random((30, 20)) < 0.3).astype(np.float32)
    full[:, :2] = 1
    val = np.zeros_like(full)
    test = np.zeros_like(full)
    for u in range(30):
        held = np.flatnonzero(full[u])[-2:]
        val[u, held[0]], test[u, held[1]] = 1, 1
        full[u, held] = 0
    return Split(
        sp.csr_matrix(full), sp.csr_matrix(val), sp.csr_matrix(test), name="tiny", key="abc"
    )


def test_sampler_end_to_end_and_cached(tmp_path, monkeypatch):
    split = tiny_split()
    options = {
        "budget": 4,
        "gamma": 5,
        "tau": 2.0,
        "pool_factor": 4.0,
        "steps": 50,
        "patience": 30,
        "lr": 0.05,
        "support_dir": str(tmp_path),
    }
    s = conf_sampler("distill_cf", **options).sample(split)
    assert s.matrix.shape == (4, 20)
    assert np.all((s.matrix >= 0) & (s.matrix <= 1))
    assert s.meta["best_step"] in validation_steps(50)
    assert s.meta["seconds_per_step"] > 0
    saved = list(tmp_path.glob("tiny-distill_cf-4-seed0-*.npz"))
    assert len(saved) == 1

    def no_distilling(*args, **kwargs):
        raise AssertionError("distilled again although the support is cached")

    monkeypatch.setattr(distill_cf, "distill", no_distilling)
    again = conf_sampler("distill_cf", **options).sample(split)
    np.testing.assert_array_equal(again.matrix, s.matrix)
    assert again.meta["best_step"] == s.meta["best_step"]
    # ∞-AE on the summary is told the λ validated on the kept sample, from the cache too
    assert s.hints == again.hints == {"infinite_ae": {"depth": 1, "lambda": s.meta["best_lambda"]}}
    assert s.meta["best_lambda"] in (1e-5, 1e-3, 0.1, 1.0, 5.0, 50.0)
    with pytest.raises(AssertionError, match="distilled again"):  # another setting: a new run
        conf_sampler("distill_cf", **{**options, "tau": 3.0}).sample(split)


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ({"tau": 0}, "temperature must be > 0"),
        ({"gamma": 0}, "γ ≥ 1"),
        ({"budget": 31}, "above the 30 users"),
        ({"pool_factor": 0.5}, "pool_factor"),
    ],
)
def test_bad_options(option, message):
    with pytest.raises(InfrecError, match=message):
        conf_sampler("distill_cf", support_dir=None, **{"budget": 4, **option}).sample(tiny_split())


def test_distillation_records_loss_size_and_validation_per_step():
    history = []
    options = {
        "budget": 4,
        "gamma": 5,
        "tau": 2.0,
        "pool_factor": 4.0,
        "steps": 30,
        "patience": 30,
        "lr": 0.05,
    }
    conf_sampler("distill_cf", **options).sample(
        tiny_split(), lambda axis, step, values: history.append((axis, step, values))
    )
    assert {axis for axis, _, _ in history} == {"distill_step"}
    assert [step for _, step, _ in history] == list(range(31))
    assert all({"loss", "support_mass_per_user"} <= set(v) for _, s, v in history if s > 0)
    validated = [s for _, s, v in history if "val/hr@20" in v]
    assert validated == [0, 25, 30]  # the paper's schedule within 30 steps, and the last
    assert all(v["support_mass_per_user"] > 0 for _, _, v in history)


def test_a_kernel_that_will_not_factorise_gets_the_first_jitter_that_does(x64):
    rows = jnp.asarray(np.tile([[1.0, 0.0, 1.0, 0.0]], (4, 1)))  # four identical synthetic rows
    k = rows @ rows.T  # rank one: no Cholesky at λ = 0
    scale = float(jnp.trace(k)) / 4
    assert float(factorable_ridge(k, jnp.asarray(0.0))) == pytest.approx(1e-6 * scale)
    assert float(factorable_ridge(k, jnp.asarray(0.5))) == pytest.approx(0.5 * scale)
    targets = jnp.asarray(np.eye(4))
    pred, grad = jax.value_and_grad(lambda s: krr_predict(s, targets, 0.0, depth=1).sum())(rows)
    assert np.isfinite(float(pred)) and np.all(np.isfinite(np.asarray(grad)))


QUICK = {
    "budget": 4,
    "gamma": 5,
    "tau": 2.0,
    "pool_factor": 4.0,
    "steps": 25,
    "patience": 30,
    "lr": 0.05,
}
"""A 25-step distillation of :func:`tiny_split` (one validation)."""


def test_reuse_lambda_false_leaves_the_grid_to_the_model():
    support = conf_sampler("distill_cf", reuse_lambda=False, **QUICK).sample(tiny_split())
    assert support.hints == {}


def test_gamma_is_capped_so_a_summary_never_outweighs_the_data():
    settings = conf_sampler("distill_cf", budget=4).settings  # the published γ = 200
    assert capped_gamma(settings, interactions=791_718, mu=1000).gamma == 200  # ML-1M: no cap
    sparse = capped_gamma(settings, interactions=6001, mu=500)  # the Magazine-shaped benchmark
    assert sparse.gamma == 12 and sparse.tau == settings.tau
    assert capped_gamma(settings, interactions=3, mu=10).gamma == 1
    tiny = tiny_split()  # 30 users, ~100 train interactions: 4 synthetic users get ≤ N/4 each
    support = conf_sampler(
        "distill_cf", budget=4, gamma=200, tau=2.0, pool_factor=4.0, steps=25, patience=30, lr=0.05
    ).sample(tiny)
    assert support.meta["gamma"] == tiny.train.nnz // 4
    assert support.meta["interactions"] <= tiny.train.nnz


def test_target_batches_of_every_user_follow_the_full_batch_run():
    """A batch of all users is the full objective (rows in another order): the same losses;
    smaller batches still learn (their losses are those of the batch, finite, decreasing)."""
    options = {
        "budget": 4,
        "gamma": 5,
        "tau": 2.0,
        "pool_factor": 4.0,
        "steps": 10,
        "patience": 30,
        "lr": 0.05,
    }
    losses = {}
    for batch in (None, 30, 8):
        history = []
        conf_sampler("distill_cf", target_batch=batch, **options).sample(
            tiny_split(), lambda axis, step, values, h=history: h.append(values)
        )
        losses[batch] = np.array([v["loss"] for v in history if "loss" in v])
    np.testing.assert_allclose(losses[30], losses[None], rtol=1e-4)
    assert np.all(np.isfinite(losses[8])) and len(losses[8]) == 10


def test_validation_on_a_user_sample_scores_that_many_users(monkeypatch):
    """``val_users`` validates on a seeded sample (every λ, every check), and a 3-step run
    validates its last step, so what it learned can be kept."""
    seen = []
    real = loop.evaluate
    monkeypatch.setattr(
        loop, "evaluate", lambda f, task: seen.append(len(task.users)) or real(f, task)
    )
    options = {
        "budget": 4,
        "gamma": 5,
        "tau": 2.0,
        "pool_factor": 4.0,
        "steps": 3,
        "patience": 30,
        "lr": 0.05,
    }
    support = conf_sampler("distill_cf", val_users=10, **options).sample(tiny_split())
    assert set(seen) == {10}
    assert len(seen) == 2 * 6  # step 0 and step 3, six λ each
    assert support.meta["steps_run"] == 3


CACHED = {"budget": 4, "gamma": 5, "tau": 2.0, "pool_factor": 4.0, "steps": 4, "lr": 0.05}
"""The settings of the cache tests' supports (and ``tau=3`` for a second, different one)."""


@pytest.fixture(scope="module")
def two_cached_supports(tmp_path_factory) -> tuple[Path, np.ndarray, np.ndarray]:
    """A support dir holding two distilled supports (``tau`` 2 and 3), distilled once for the
    damage cases below (each copies the folder), with both matrices."""
    folder = tmp_path_factory.mktemp("supports")
    options = {**CACHED, "support_dir": str(folder)}
    first = conf_sampler("distill_cf", **options).sample(tiny_split())
    other = conf_sampler("distill_cf", **{**options, "tau": 3.0}).sample(tiny_split())
    return folder, first.matrix, other.matrix


@pytest.mark.parametrize("damage", ["swapped", "scaled", "negative_lambda", "truncated"])
def test_a_cached_support_is_checked_and_rebuilt_when_wrong(
    damage, two_cached_supports, tmp_path, caplog
):
    """The cache gets from_file's checks and its key compared: never reused silently."""
    split = tiny_split()
    folder, first, other = two_cached_supports
    shutil.copytree(folder, tmp_path, dirs_exist_ok=True)
    options = {**CACHED, "support_dir": str(tmp_path)}
    mine = conf_sampler("distill_cf", **options).artifact_path(split, 4)
    theirs = conf_sampler("distill_cf", **{**options, "tau": 3.0}).artifact_path(split, 4)
    if damage == "swapped":
        theirs.replace(mine)
    else:
        with np.load(mine) as z:
            arrays = dict(z)
        if damage == "scaled":
            arrays["dense"] = arrays["dense"] * 1e6
        elif damage == "negative_lambda":
            arrays["meta"] = np.asarray(
                str(arrays["meta"]).replace('"best_lambda": ', '"best_lambda": -1, "x": ')
            )
        np.savez(mine, **arrays)
        if damage == "truncated":
            mine.write_bytes(mine.read_bytes()[:200])
    with caplog.at_level(logging.WARNING, logger="infrec"):
        again = conf_sampler("distill_cf", **options).sample(split)
    (line,) = [r.getMessage() for r in caplog.records if "rebuilding" in r.getMessage()]
    expected = "was made for config=" if damage == "swapped" else "is damaged ("
    assert line.startswith(f"cache {mine} {expected}"), line
    np.testing.assert_allclose(again.matrix, first, atol=1e-6)  # distilled again
    assert not np.allclose(other, first)
