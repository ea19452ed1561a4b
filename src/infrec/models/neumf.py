"""NeuMF (He et al., 2017): GMF and an MLP side by side, trained pointwise with negative sampling.

score(u, i) = hᵀ [p_u ⊙ q_i ; MLP([p'_u ; q'_i])] (a logit); loss = binary cross-entropy over each
support interaction and ``negatives`` items the user lacks, resampled every epoch. The MLP's first
layer is written as two Dense maps (user half, item half) whose sum equals one Dense on the
concatenation; this lets full ranking broadcast users against all items without building pair
inputs. Real-valued supports are binarised, or with ``support_weights`` sampled with their values
as probabilities (:class:`infrec.models.negatives.TrainingPairs`). No GMF/MLP pre-training (the
paper reports it as an optional refinement); L2 regularisation is Adam's ``weight_decay`` (0 by
default, as published).

Users outside the support (a user subset, synthetic users) are *folded in*: new user embeddings,
trained for ``fold_in_epochs`` with the same loss on each user's own history while every item and
MLP weight stays fixed.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
import scipy.sparse as sp

from infrec.errors import InfrecError
from infrec.models.base import Fitted, Monitor, ScoreFn
from infrec.models.negatives import TrainingPairs, batched, binary_support
from infrec.models.training import TrainedModel, run_epoch, run_training

SCORE_CHUNK = 256
"""Users scored against all items at once (memory: chunk × items × first MLP width floats)."""


class NeuMFNet(nn.Module):
    n_users: int
    n_items: int
    gmf_dim: int
    mlp_layers: Sequence[int]

    def setup(self) -> None:
        init = nn.initializers.normal(0.01)
        half = self.mlp_layers[0] // 2
        self.user_gmf = nn.Embed(self.n_users, self.gmf_dim, embedding_init=init)
        self.item_gmf = nn.Embed(self.n_items, self.gmf_dim, embedding_init=init)
        self.user_mlp = nn.Embed(self.n_users, half, embedding_init=init)
        self.item_mlp = nn.Embed(self.n_items, half, embedding_init=init)
        self.first_user = nn.Dense(self.mlp_layers[0], use_bias=False)
        self.first_item = nn.Dense(self.mlp_layers[0])
        self.hidden = [nn.Dense(w) for w in self.mlp_layers[1:]]
        self.out = nn.Dense(1)

    def _head(self, gmf: jax.Array, first: jax.Array) -> jax.Array:
        h = nn.relu(first)
        for layer in self.hidden:
            h = nn.relu(layer(h))
        return self.out(jnp.concatenate([gmf, h], -1))[..., 0]

    def __call__(self, users: jax.Array, items: jax.Array) -> jax.Array:
        """Logits of (user, item) pairs (equal-shape index arrays)."""
        gmf = self.user_gmf(users) * self.item_gmf(items)
        first = self.first_user(self.user_mlp(users)) + self.first_item(self.item_mlp(items))
        return self._head(gmf, first)

    def score_all(self, users: jax.Array) -> jax.Array:
        """Logits of ``users`` against every item: (len(users), n_items)."""
        items = jnp.arange(self.n_items)
        gmf = self.user_gmf(users)[:, None, :] * self.item_gmf(items)[None, :, :]
        first_u = self.first_user(self.user_mlp(users))[:, None, :]
        return self._head(gmf, first_u + self.first_item(self.item_mlp(items))[None, :, :])


@partial(jax.jit, static_argnums=0)
def _score_all(net: NeuMFNet, params, users: jax.Array) -> jax.Array:
    return net.apply(params, users, method=NeuMFNet.score_all)


def bce_loss(logits: jax.Array, labels: jax.Array) -> jax.Array:
    """Mean binary cross-entropy of logits against 0/1 labels."""
    return jnp.mean(optax.sigmoid_binary_cross_entropy(logits, labels))


def pointwise_loss(net: NeuMFNet, params, batch: dict, data=None) -> jax.Array:
    """NeuMF's objective on a batch of labelled (user, item) pairs."""
    return bce_loss(net.apply(params, batch["user"], batch["item"]), batch["label"])


def pointwise_batches(
    source: TrainingPairs, negatives: int, batch_size: int, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """One epoch: every positive (label 1) and ``negatives`` sampled items per one (label 0)."""
    users, items, neg = source.epoch(negatives, rng)
    all_users = np.concatenate([users, np.repeat(users, negatives)])
    all_items = np.concatenate([items, neg.ravel()])
    labels = np.concatenate([np.ones(len(users)), np.zeros(neg.size)]).astype(np.float32)
    return batched({"user": all_users, "item": all_items, "label": labels}, batch_size, rng)


USER_TABLES = ("user_gmf", "user_mlp")


class NeuMFFitted(Fitted):
    def __init__(self, net: NeuMFNet, params, model: NeuMF):
        self.net, self.params, self.model = net, params, model

    def _params_for(self, context: sp.csr_matrix):
        if context.shape[0] == self.net.n_users:
            return self.net, self.params
        return self.model.fold_in(self.net, self.params, binary_support(context))

    def scorer(self, context: sp.csr_matrix) -> ScoreFn:
        net, params = self._params_for(context)

        def scores(rows: np.ndarray) -> np.ndarray:
            return (
                np.concatenate(
                    [
                        np.asarray(_score_all(net, params, rows[s : s + SCORE_CHUNK]))
                        for s in range(0, len(rows), SCORE_CHUNK)
                    ]
                )
                if len(rows)
                else np.zeros((0, net.n_items), np.float32)
            )

        return scores


class NeuMF(TrainedModel):
    name = "neumf"

    def __init__(
        self,
        gmf_dim: int,
        mlp_layers: Sequence[int],
        negatives: int,
        weight_decay: float,
        fold_in_epochs: int,
        support_weights: bool,
        **train_opts,
    ):
        mlp_layers = tuple(int(w) for w in mlp_layers)
        if not mlp_layers or mlp_layers[0] % 2 or min(mlp_layers) < 1:
            raise InfrecError(f"model.mlp_layers={list(mlp_layers)}: widths ≥ 1, the first even")
        if int(negatives) < 1:
            raise InfrecError(f"model.negatives={negatives}: must be ≥ 1")
        if int(fold_in_epochs) < 1:
            raise InfrecError(f"model.fold_in_epochs={fold_in_epochs}: must be ≥ 1")
        super().__init__(**train_opts)
        self.gmf_dim, self.mlp_layers = int(gmf_dim), mlp_layers
        self.negatives, self.weight_decay = int(negatives), float(weight_decay)
        self.fold_in_epochs = int(fold_in_epochs)
        self.support_weights = bool(support_weights)

    def settings(self) -> dict[str, float]:
        return {
            **super().settings(),
            "gmf_dim": float(self.gmf_dim),
            "mlp_dim": float(self.mlp_layers[0]),
            "negatives": float(self.negatives),
            "weight_decay": self.weight_decay,
        }

    def _optimizer(self) -> optax.GradientTransformation:
        return optax.adamw(self.lr, weight_decay=self.weight_decay)

    def fit(
        self, support: sp.csr_matrix | np.ndarray, monitor: Monitor | None
    ) -> tuple[NeuMFFitted, dict[str, float]]:
        source = TrainingPairs(support, self.support_weights)
        rng = np.random.default_rng(self.seed)
        net = NeuMFNet(source.shape[0], source.shape[1], self.gmf_dim, self.mlp_layers)
        params = net.init(
            jax.random.key(self.seed), jnp.zeros(1, jnp.int32), jnp.zeros(1, jnp.int32)
        )

        loss = partial(pointwise_loss, net)

        def epoch(_: int) -> dict[str, np.ndarray]:
            return pointwise_batches(source, self.negatives, self.batch_size, rng)

        return run_training(
            self.name,
            params,
            self._optimizer(),
            loss,
            None,
            epoch,
            lambda p: NeuMFFitted(net, p, self),
            self.schedule,
            monitor,
        )

    def fold_in(self, net: NeuMFNet, params, context: sp.csr_matrix):
        """A net for ``context``'s users: fresh user embeddings fitted with items/MLP fixed."""
        folded = NeuMFNet(context.shape[0], net.n_items, net.gmf_dim, net.mlp_layers)
        fixed = {k: v for k, v in params["params"].items() if k not in USER_TABLES}
        user = {
            k: {
                "embedding": jnp.broadcast_to(
                    params["params"][k]["embedding"].mean(0),
                    (context.shape[0], params["params"][k]["embedding"].shape[1]),
                )
            }
            for k in USER_TABLES
        }

        def loss(user, batch, fixed):
            return pointwise_loss(folded, {"params": {**fixed, **user}}, batch)

        rng = np.random.default_rng(self.seed + 1)
        optimizer = self._optimizer()
        state = optimizer.init(user)
        source = TrainingPairs(context, weighted=False)
        for _ in range(self.fold_in_epochs):
            batches = pointwise_batches(source, self.negatives, self.batch_size, rng)
            user, state, _ = run_epoch(user, state, batches, fixed, loss, optimizer)
        return folded, {"params": {**fixed, **user}}
