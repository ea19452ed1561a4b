"""MF with the BPR loss (Rendle et al., 2009): user · item embeddings, ranked pairwise.

Each epoch pairs every support interaction with one uniformly sampled item the user lacks;
loss = −mean log σ(s_ui − s_uj) + l2 · mean(‖e_u‖² + ‖e_i‖² + ‖e_j‖²). Real-valued supports are
binarised, or with ``support_weights`` sampled with their values as probabilities
(:class:`infrec.models.negatives.TrainingPairs`).

Scoring: when the context has as many rows as the support (the support rows are the real users:
``sampler=full`` or ``random_interaction``) users keep their learned vectors. Otherwise (a
user subset, synthetic users) each real user is *folded in*: its vector is the ridge fit of its
history on the learned item vectors, ``u = x V (VᵀV + ρ I)⁻¹`` with ρ = ``fold_in_l2`` × the mean
of diag(VᵀV), the usual fold-in of factor models.
"""

from __future__ import annotations

from functools import partial

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
import scipy.sparse as sp

from infrec.models.base import Fitted, Monitor, ScoreFn
from infrec.models.negatives import TrainingPairs, batched
from infrec.models.training import TrainedModel, run_training


def bpr_loss(pos: jax.Array, neg: jax.Array) -> jax.Array:
    """−mean log σ(pos − neg): the BPR criterion over paired scores."""
    return -jnp.mean(jax.nn.log_sigmoid(pos - neg))


class MFNet(nn.Module):
    """Embedding tables ``user`` and ``item``; a score is their dot product."""

    n_users: int
    n_items: int
    dim: int

    def setup(self) -> None:
        init = nn.initializers.normal(0.1)
        self.user = nn.Embed(self.n_users, self.dim, embedding_init=init)
        self.item = nn.Embed(self.n_items, self.dim, embedding_init=init)

    def __call__(self, users: jax.Array, pos: jax.Array, neg: jax.Array) -> jax.Array:
        """Per-triple (s_ui, s_uj, ‖e_u‖² + ‖e_i‖² + ‖e_j‖²), stacked on the last axis."""
        u, i, j = self.user(users), self.item(pos), self.item(neg)
        norms = jnp.sum(u * u + i * i + j * j, -1)
        return jnp.stack([jnp.sum(u * i, -1), jnp.sum(u * j, -1), norms], -1)


def bpr_triples_loss(net: nn.Module, l2: float, params, batch: dict, data=None) -> jax.Array:
    """BPR over a batch of (user, pos, neg) triples plus ``l2`` · mean squared embedding norm.

    ``net`` returns per-triple (s_ui, s_uj, squared norms) given ``batch`` and ``data`` (MF: none,
    LightGCN: the graph).
    """
    args = (data,) if data is not None else ()
    out = net.apply(params, batch["user"], batch["pos"], batch["neg"], *args)
    return bpr_loss(out[:, 0], out[:, 1]) + l2 * jnp.mean(out[:, 2])


class FactorFitted(Fitted):
    """Scores ``U Vᵀ`` from user and item factors (MF, LightGCN), folding in unseen users."""

    def __init__(self, user: np.ndarray, item: np.ndarray, fold_in_l2: float):
        self.user, self.item, self.fold_in_l2 = user, item, fold_in_l2

    def user_factors(self, context: sp.csr_matrix) -> np.ndarray:
        if context.shape[0] == self.user.shape[0]:
            return self.user
        v = self.item.astype(np.float64)
        g = v.T @ v
        rho = self.fold_in_l2 * max(float(np.trace(g)) / len(g), 1e-12)
        proj = np.linalg.solve(g + rho * np.eye(len(g)), v.T).T
        return np.asarray(sp.csr_matrix(context) @ proj, self.item.dtype)

    def scorer(self, context: sp.csr_matrix) -> ScoreFn:
        user, item = self.user_factors(context), self.item
        return lambda rows: user[rows] @ item.T


class MF(TrainedModel):
    name = "mf"

    def __init__(self, dim: int, l2: float, fold_in_l2: float, support_weights: bool, **train_opts):
        super().__init__(**train_opts)
        self.dim, self.l2, self.fold_in_l2 = int(dim), float(l2), float(fold_in_l2)
        self.support_weights = bool(support_weights)

    def settings(self) -> dict[str, float]:
        return {**super().settings(), "dim": float(self.dim), "l2": self.l2}

    def fit(
        self, support: sp.csr_matrix | np.ndarray, monitor: Monitor | None
    ) -> tuple[FactorFitted, dict[str, float]]:
        source = TrainingPairs(support, self.support_weights)
        rng = np.random.default_rng(self.seed)
        net = MFNet(source.shape[0], source.shape[1], self.dim)
        one = np.zeros(1, np.int32)
        params = net.init(jax.random.key(self.seed), one, one, one)
        loss = partial(bpr_triples_loss, net, self.l2)

        def epoch(_: int) -> dict[str, np.ndarray]:
            users, pos, neg = source.epoch(1, rng)
            return batched({"user": users, "pos": pos, "neg": neg[:, 0]}, self.batch_size, rng)

        def fitted(params) -> FactorFitted:
            tables = params["params"]
            return FactorFitted(
                np.asarray(tables["user"]["embedding"], self.dtype),
                np.asarray(tables["item"]["embedding"], self.dtype),
                self.fold_in_l2,
            )

        return run_training(
            self.name,
            params,
            optax.adam(self.lr),
            loss,
            None,
            epoch,
            fitted,
            self.schedule,
            monitor,
        )
