"""PopRec, MF, NeuMF, Mult-VAE and LightGCN: hand-computed losses on a 3×4 example, overfitting a
tiny dataset, seeded reproducibility, fold-in of users outside the support (by hand for MF and
LightGCN; by behaviour for LightGCN and Mult-VAE), early stopping and bad settings."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.sparse as sp

from infrec.errors import InfrecError
from infrec.models.base import Monitor
from infrec.models.lightgcn import LightGCNNet, normalised_graph
from infrec.models.mf import FactorFitted, MFNet, bpr_triples_loss
from infrec.models.mvae import MultVAENet, mvae_loss
from infrec.models.negatives import binary_support
from infrec.models.neumf import NeuMFNet, pointwise_loss
from infrec.models.training import Schedule, run_training
from tests.helpers import conf_model

R34 = np.array([[1, 0, 1, 0], [0, 1, 1, 0], [1, 1, 0, 1]], np.float32)
TRIPLES = {"user": jnp.array([0, 1, 2]), "pos": jnp.array([2, 1, 3]), "neg": jnp.array([1, 3, 2])}


def log_sigmoid(x):
    return -np.log1p(np.exp(-x))


def numpy_bpr(fu, fi, u0, i0, l2):
    u, i, j = (np.asarray(TRIPLES[k]) for k in ("user", "pos", "neg"))
    diff = np.sum(fu[u] * (fi[i] - fi[j]), 1)
    reg = np.sum(u0[u] ** 2 + i0[i] ** 2 + i0[j] ** 2, 1)
    return -np.mean(log_sigmoid(diff)) + l2 * np.mean(reg)


def tables(rng, n, d):
    return np.asarray(rng.normal(size=(n, d)), np.float32)


def test_mf_loss_matches_hand_value():
    rng = np.random.default_rng(0)
    u, v = tables(rng, 3, 2), tables(rng, 4, 2)
    params = {"params": {"user": {"embedding": u}, "item": {"embedding": v}}}
    got = bpr_triples_loss(MFNet(3, 4, 2), 0.1, params, TRIPLES)
    np.testing.assert_allclose(got, numpy_bpr(u, v, u, v, 0.1), rtol=1e-5)


def test_lightgcn_loss_matches_dense_propagation():
    rng = np.random.default_rng(1)
    u, v = tables(rng, 3, 2), tables(rng, 4, 2)
    params = {"params": {"user": {"embedding": u}, "item": {"embedding": v}}}
    adj = np.block([[np.zeros((3, 3)), R34], [R34.T, np.zeros((4, 4))]])
    d = 1 / np.sqrt(adj.sum(1))
    norm = d[:, None] * adj * d[None, :]
    e = np.vstack([u, v]).astype(np.float64)
    layers = [e]
    for _ in range(2):
        layers.append(norm @ layers[-1])
    final = np.mean(layers, 0)
    graph = normalised_graph(sp.csr_matrix(R34))
    got = bpr_triples_loss(LightGCNNet(3, 4, 2, 2), 0.01, params, TRIPLES, graph)
    np.testing.assert_allclose(got, numpy_bpr(final[:3], final[3:], u, v, 0.01), rtol=1e-5)


def test_neumf_loss_matches_numpy_forward_and_full_ranking_agrees():
    net = NeuMFNet(3, 4, 2, (4, 3))
    params = net.init(jax.random.key(0), jnp.zeros(1, jnp.int32), jnp.zeros(1, jnp.int32))
    p = jax.tree.map(np.asarray, params["params"])
    users, items = np.array([0, 0, 1, 2, 2]), np.array([0, 1, 2, 3, 0])
    labels = R34[users, items]
    mlp_in = np.hstack([p["user_mlp"]["embedding"][users], p["item_mlp"]["embedding"][items]])
    first = np.vstack([p["first_user"]["kernel"], p["first_item"]["kernel"]])
    h = np.maximum(mlp_in @ first + p["first_item"]["bias"], 0)
    h = np.maximum(h @ p["hidden_0"]["kernel"] + p["hidden_0"]["bias"], 0)
    gmf = p["user_gmf"]["embedding"][users] * p["item_gmf"]["embedding"][items]
    z = np.hstack([gmf, h]) @ p["out"]["kernel"][:, 0] + p["out"]["bias"][0]
    expected = -np.mean(labels * log_sigmoid(z) + (1 - labels) * log_sigmoid(-z))
    batch = {"user": jnp.asarray(users), "item": jnp.asarray(items), "label": jnp.asarray(labels)}
    np.testing.assert_allclose(pointwise_loss(net, params, batch), expected, rtol=1e-5)
    full = net.apply(params, jnp.arange(3), method=NeuMFNet.score_all)
    np.testing.assert_allclose(np.asarray(full)[users, items], z, rtol=1e-5, atol=1e-6)


def test_mvae_loss_matches_numpy_forward():
    net = MultVAENet(4, (3,), 2, 0.0)
    x = jnp.asarray(R34)
    params = net.init(jax.random.key(0), x)
    p = jax.tree.map(np.asarray, params["params"])
    h = R34 / np.linalg.norm(R34, axis=1, keepdims=True)
    h = np.tanh(h @ p["encoder_0"]["kernel"] + p["encoder_0"]["bias"])
    mu, logvar = np.split(h @ p["encoder_1"]["kernel"] + p["encoder_1"]["bias"], 2, axis=1)
    out = np.tanh(mu @ p["decoder_0"]["kernel"] + p["decoder_0"]["bias"])
    logits = out @ p["decoder_1"]["kernel"] + p["decoder_1"]["bias"]
    logp = logits - np.log(np.exp(logits).sum(1, keepdims=True))
    kl = -0.5 * np.sum(1 + logvar - mu**2 - np.exp(logvar), 1)
    expected = np.mean(-np.sum(logp * R34, 1) + 0.3 * kl)
    got_logits, got_kl = net.apply(params, x)
    np.testing.assert_allclose(mvae_loss(got_logits, x, got_kl, 0.3), expected, rtol=1e-5)


def test_poprec_ranks_by_support_popularity():
    support = np.array([[1.0, 0, 0.5, 0], [1.0, 0, 0.5, 0.2], [0, 0, 1.0, 0]])
    ((hp, fitted),) = conf_model("poprec").candidates(support)
    assert hp == {}
    scores = fitted.scorer(sp.csr_matrix((5, 4)))(np.arange(5))
    np.testing.assert_allclose(scores, np.tile([2.0, 0.0, 2.0, 0.2], (5, 1)))


TINY = dict(epochs=300, batch_size=64, seed=3)
OVERFIT = {
    "mf": lambda: conf_model("mf", dim=16, l2=0.0, lr=0.05, **TINY),
    "lightgcn": lambda: conf_model("lightgcn", dim=16, layers=1, l2=0.0, lr=0.05, **TINY),
    "neumf": lambda: conf_model("neumf", gmf_dim=16, mlp_layers=(16, 8), lr=0.02, **TINY),
    "mvae": lambda: conf_model(
        "mvae", hidden=(32,), latent=16, dropout=0.0, anneal_cap=0.0, lr=0.02, **TINY
    ),
}


def tiny_matrix(seed: int = 0) -> sp.csr_matrix:
    rng = np.random.default_rng(seed)
    dense = (rng.random((10, 12)) < 0.35).astype(np.float32)
    dense[np.arange(10), np.arange(10)] = 1.0
    return sp.csr_matrix(dense)


def train_auc(scores: np.ndarray, m: sp.csr_matrix) -> float:
    """Share of (positive, negative) pairs per user ranked correctly, averaged over users."""
    pos = m.toarray() > 0
    right = (scores[:, :, None] > scores[:, None, :]) & pos[:, :, None] & ~pos[:, None, :]
    return float(np.mean(right.sum((1, 2)) / (pos.sum(1) * (~pos).sum(1))))


@pytest.mark.parametrize("name", sorted(OVERFIT))
def test_overfits_tiny_data(name):
    m = tiny_matrix()
    ((_, fitted),) = OVERFIT[name]().candidates(m)
    scores = fitted.scorer(m)(np.arange(m.shape[0]))
    assert train_auc(scores, m) > 0.97


@pytest.mark.parametrize("name", sorted(OVERFIT))
def test_same_seed_same_scores(name):
    m = tiny_matrix(1)

    def scores(model):
        ((_, fitted),) = model.candidates(m)
        return fitted.scorer(m)(np.arange(m.shape[0]))

    first, again = scores(OVERFIT[name]()), scores(OVERFIT[name]())
    np.testing.assert_array_equal(first, again)
    other = OVERFIT[name]()
    other.seed = 4
    assert not np.array_equal(first, scores(other))


def test_mf_fold_in_is_ridge_on_item_factors():
    rng = np.random.default_rng(5)
    u, v = tables(rng, 6, 3), tables(rng, 4, 3)
    fitted = FactorFitted(u, v, fold_in_l2=0.5)
    np.testing.assert_array_equal(fitted.user_factors(sp.csr_matrix(np.ones((6, 4)))), u)
    context = sp.csr_matrix(R34)
    g = v.T.astype(np.float64) @ v
    rho = 0.5 * np.trace(g) / 3
    expected = R34 @ v @ np.linalg.inv(g + rho * np.eye(3))
    np.testing.assert_allclose(fitted.user_factors(context), expected, rtol=1e-4)


def test_neumf_folds_in_users_outside_the_support():
    m = tiny_matrix()
    model = conf_model(
        "neumf", gmf_dim=8, mlp_layers=(8, 4), lr=0.02, epochs=50, batch_size=64, fold_in_epochs=30
    )
    ((_, fitted),) = model.candidates(m)
    context = m[:7]  # 7 rows against a 10-user support: embeddings are fitted afresh
    scores = fitted.scorer(context)(np.arange(context.shape[0]))
    assert scores.shape == (7, 12) and np.all(np.isfinite(scores))
    assert train_auc(scores, context) > 0.95


def two_tastes(seed: int = 0) -> sp.csr_matrix:
    """24 users × 12 items in two tastes: users 0–11 hold 3–5 of items 0–5, users 12–23 of 6–11."""
    rng = np.random.default_rng(seed)
    dense = np.zeros((24, 12), np.float32)
    for u in range(24):
        block = 0 if u < 12 else 6
        dense[u, block + rng.choice(6, size=rng.integers(3, 6), replace=False)] = 1.0
    return sp.csr_matrix(dense)


FOLD_IN = {  # two latent dimensions for two tastes: a history must be generalised from, not copied
    "lightgcn": lambda: conf_model(
        "lightgcn", dim=2, layers=2, l2=1e-3, lr=0.05, epochs=100, batch_size=64, seed=0
    ),
    "mvae": lambda: conf_model(
        "mvae",
        hidden=(8,),
        latent=2,
        dropout=0.5,
        anneal_cap=0.2,
        lr=0.02,
        epochs=100,
        batch_size=64,
        seed=0,
    ),
}
A_HISTORY, B_HISTORY = [0, 1], [6, 7]


@pytest.fixture(scope="module", params=sorted(FOLD_IN))
def folded(request):
    """(name, fitted model, scores of users outside the support: rows A, B and an empty one)."""
    ((_, fitted),) = FOLD_IN[request.param]().candidates(two_tastes())
    context = np.zeros((3, 12), np.float32)
    context[0, A_HISTORY] = context[1, B_HISTORY] = 1.0
    scores = fitted.scorer(sp.csr_matrix(context))(np.arange(3))
    return request.param, fitted, context, np.asarray(scores, np.float64)


def test_fold_in_ranks_a_new_users_own_taste_first(folded):
    """A user outside the support (3 context rows against 24 support users) who holds items of
    one taste gets that taste's other items above every item of the other: the scores come from
    that user's own history, not from a support user or the catalogue's popularity."""
    _, _, _, scores = folded
    a, b = scores[0], scores[1]
    assert a[2:6].min() > a[6:].max(), a
    assert b[8:].min() > b[:6].max(), b
    assert not np.array_equal(np.argsort(-a), np.argsort(-b))


def test_fold_in_scores_a_row_from_that_row_alone(folded):
    """A user's scores do not depend on who else is scored with them (row order, companions)."""
    _, fitted, context, scores = folded
    swapped = fitted.scorer(sp.csr_matrix(context[[1, 0]]))(np.arange(2))
    np.testing.assert_allclose(swapped, scores[[1, 0]], rtol=1e-5, atol=1e-6)
    five = np.vstack([context[[2, 0]], np.eye(3, 12, 9, dtype=np.float32)])
    alone = fitted.scorer(sp.csr_matrix(five))(np.array([1]))
    np.testing.assert_allclose(alone[0], scores[0], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("folded", ["lightgcn"], indirect=True)
def test_lightgcn_fold_in_is_ridge_on_the_propagated_item_embeddings(folded):
    """By hand: u = x V (VᵀV + ρI)⁻¹ with ρ = fold_in_l2 · tr(VᵀV)/dim, scores u Vᵀ (Mult-VAE's
    fold-in is its encoder, which ``test_mvae_loss_matches_numpy_forward`` computes by hand)."""
    _, fitted, context, scores = folded
    v = fitted.item.astype(np.float64)
    g = v.T @ v
    rho = 0.1 * np.trace(g) / len(g)
    expected = context @ v @ np.linalg.inv(g + rho * np.eye(len(g))) @ v.T
    np.testing.assert_allclose(scores, expected, rtol=1e-4, atol=1e-6)
    np.testing.assert_array_equal(scores[2], 0.0)  # no history: no preference at all


def test_early_stopping_keeps_the_best_validation():
    calls = []
    scores = iter([0.1, 0.5, 0.4, 0.3, 0.2, 0.9])

    def monitor(fitted):
        calls.append(fitted.epoch)
        return next(scores)

    class Tagged:
        def __init__(self, epoch):
            self.epoch = epoch

    history = []
    epochs_seen = iter(range(1, 100))
    best, facts = run_training(
        "toy",
        jnp.zeros(2),
        __import__("optax").sgd(0.1),
        lambda p, b, d: jnp.sum((p - b["x"][0]) ** 2),
        None,
        lambda epoch: {"x": np.ones((1, 1, 2), np.float32)},
        lambda params: Tagged(next(epochs_seen)),
        Schedule(epochs=20, eval_every=2, patience=3),
        Monitor(monitor, lambda axis, step, values: history.append((axis, step, set(values)))),
    )
    assert calls == [1, 2, 3, 4, 5] and best.epoch == 2
    assert facts == {"best_epoch": 4.0, "epochs_run": 10.0}
    # every epoch's loss on the "epoch" axis, the validation score on validated epochs
    assert [h[1] for h in history] == list(range(1, 11))
    assert {h[0] for h in history} == {"epoch"}
    assert [h[2] for h in history[:2]] == [{"loss"}, {"loss", "val"}]


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: conf_model("mf", lr=0.0, batch_size=8, epochs=1), "model.lr=0.0"),
        (lambda: conf_model("mf", lr=0.1, batch_size=0, epochs=1), "model.batch_size=0"),
        (lambda: conf_model("mf", lr=0.1, batch_size=8, epochs=0), "model.epochs=0"),
        (
            lambda: conf_model("lightgcn", layers=0, lr=0.1, batch_size=8, epochs=1),
            "model.layers=0",
        ),
        (
            lambda: conf_model("neumf", mlp_layers=(7, 3), lr=0.1, batch_size=8, epochs=1),
            "mlp_layers",
        ),
        (
            lambda: conf_model("mvae", dropout=1.0, lr=0.1, batch_size=8, epochs=1),
            "model.dropout=1.0",
        ),
    ],
)
def test_bad_settings_are_named(make, match):
    with pytest.raises(InfrecError, match=match):
        make()


def test_empty_support_is_refused():
    with pytest.raises(InfrecError, match="no interactions"):
        next(conf_model("mf", lr=0.1, batch_size=8, epochs=1).candidates(sp.csr_matrix((3, 4))))


def test_real_valued_supports_are_binarised_for_pairwise_models():
    real = np.array([[0.9, 0.2, 0.7, 0.0], [0.1, 0.6, 0.05, 0.3]], np.float32)
    got = binary_support(real).toarray()
    # each row keeps its round(row sum) largest entries: 2 and 1
    np.testing.assert_array_equal(got, [[1, 0, 1, 0], [0, 1, 0, 0]])
    np.testing.assert_array_equal(binary_support(R34).toarray(), R34)
