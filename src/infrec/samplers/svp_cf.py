"""SVP-CF (user variant): keep the users a cheap proxy model finds hardest to learn.

The proxy is matrix factorisation trained with BPR (Optax Adam, mini-batches of train interactions,
one uniformly random negative each). After every epoch each train interaction is *learned* when its
score beats that of a fixed random negative; a *forgetting event* is a learned → not-learned
transition between consecutive epochs. Users are ranked by their mean forgetting count and the
hardest ``budget`` users are kept (ties by user index). Sachdeva et al., "On Sampling Collaborative
Filtering Datasets", WSDM 2022.
"""

from __future__ import annotations

import logging
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import optax

from infrec.data.matrix import Split
from infrec.errors import InfrecError
from infrec.samplers.base import UserSubsetSampler

log = logging.getLogger(__name__)


def bpr_loss(params: dict, users: jax.Array, pos: jax.Array, neg: jax.Array, l2: float):
    """−mean log σ(s_ui − s_uj) + l2 · mean squared norm of the embeddings used."""
    u, i, j = params["user"][users], params["item"][pos], params["item"][neg]
    diff = jnp.sum(u * (i - j), axis=1)
    reg = jnp.mean(jnp.sum(u * u + i * i + j * j, axis=1))
    return -jnp.mean(jax.nn.log_sigmoid(diff)) + l2 * reg


@partial(jax.jit, static_argnames=("optimizer",))
def _step(params, opt_state, users, pos, neg, l2, optimizer):
    loss, grads = jax.value_and_grad(bpr_loss)(params, users, pos, neg, l2)
    updates, opt_state = optimizer.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state, loss


@jax.jit
def _learned(params, users, pos, neg):
    u = params["user"][users]
    return jnp.sum(u * (params["item"][pos] - params["item"][neg]), axis=1) > 0


def forgetting_events(
    split: Split, epochs: int, dim: int, lr: float, batch_size: int, l2: float, seed: int
) -> np.ndarray:
    """Forgetting events per train interaction (CSR order) of a BPR-MF proxy."""
    train = split.train
    users = np.repeat(np.arange(train.shape[0]), np.diff(train.indptr)).astype(np.int32)
    items = train.indices.astype(np.int32)
    rng = np.random.default_rng(seed)
    key = jax.random.key(seed)
    k1, k2 = jax.random.split(key)
    params = {
        "user": 0.1 * jax.random.normal(k1, (train.shape[0], dim)),
        "item": 0.1 * jax.random.normal(k2, (train.shape[1], dim)),
    }
    optimizer = optax.adam(lr)
    opt_state = optimizer.init(params)
    probe_neg = rng.integers(0, train.shape[1], size=len(items)).astype(np.int32)
    learned_before = np.zeros(len(items), bool)
    events = np.zeros(len(items), np.int32)
    for epoch in range(epochs):
        order = rng.permutation(len(items))
        negs = rng.integers(0, train.shape[1], size=len(items)).astype(np.int32)
        for start in range(0, len(order), batch_size):
            b = order[start : start + batch_size]
            params, opt_state, loss = _step(
                params, opt_state, users[b], items[b], negs[b], l2, optimizer
            )
        learned = np.asarray(_learned(params, users, items, probe_neg))
        events += learned_before & ~learned
        learned_before = learned
        log.info(
            "svp_cf proxy epoch %d/%d: loss %.4f, %.1f%% learned",
            epoch + 1,
            epochs,
            float(loss),
            100 * learned.mean(),
        )
    return events


class SVPCFSampler(UserSubsetSampler):
    name = "svp_cf"

    def __init__(
        self,
        budget: int | float | None,
        seed: int,
        epochs: int,
        dim: int,
        lr: float,
        batch_size: int,
        l2: float,
    ):
        if int(epochs) < 2:
            raise InfrecError(f"sampler.epochs={epochs}: forgetting needs ≥ 2 epochs")
        super().__init__(budget, seed)
        self.epochs, self.dim, self.lr = int(epochs), int(dim), float(lr)
        self.batch_size, self.l2 = int(batch_size), float(l2)

    def choose(self, split: Split, k: int) -> tuple[np.ndarray, dict[str, float]]:
        events = forgetting_events(
            split, self.epochs, self.dim, self.lr, self.batch_size, self.l2, self.seed
        )
        counts = np.diff(split.train.indptr)
        owner = np.repeat(np.arange(split.n_users), counts)
        per_user = np.bincount(owner, weights=events, minlength=split.n_users) / np.maximum(
            counts, 1
        )
        per_user[counts == 0] = -1.0
        rows = np.argsort(-per_user, kind="stable")[:k]
        return rows, {"mean_forgetting": float(per_user[rows].mean())}
