"""Mult-VAE (Liang et al., 2018): a variational autoencoder with a multinomial likelihood.

Input rows are L2-normalised and dropped out (p = ``dropout``) while training; the encoder
(tanh MLP) gives μ and log σ², the decoder maps z back to item logits. Loss per user:
−Σ_i x_i log softmax(logits)_i + β · KL(q(z|x) ‖ N(0, I)), averaged over the batch, with β
annealed linearly from 0 to ``anneal_cap`` over ``anneal_steps`` optimiser steps. Scoring encodes a
user's history to μ (no sampling, no dropout) and decodes it, so any user can be scored and
real-valued support rows are used as they are (they are the multinomial's counts).
The support is kept dense on the device: users × items × 4 bytes.
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

from infrec.data.matrix import dense_rows
from infrec.errors import InfrecError
from infrec.models.base import Fitted, Monitor, ScoreFn
from infrec.models.negatives import batched
from infrec.models.training import TrainedModel, run_training


class MultVAENet(nn.Module):
    n_items: int
    hidden: Sequence[int]
    latent: int
    dropout: float

    def setup(self) -> None:
        self.encoder = [nn.Dense(h) for h in self.hidden] + [nn.Dense(2 * self.latent)]
        self.decoder = [nn.Dense(h) for h in reversed(self.hidden)] + [nn.Dense(self.n_items)]
        self.drop = nn.Dropout(self.dropout)

    def encode(self, x: jax.Array, train: bool) -> tuple[jax.Array, jax.Array]:
        h = x / jnp.maximum(jnp.linalg.norm(x, axis=-1, keepdims=True), 1e-12)
        h = self.drop(h, deterministic=not train)
        for layer in self.encoder[:-1]:
            h = jnp.tanh(layer(h))
        mu, logvar = jnp.split(self.encoder[-1](h), 2, axis=-1)
        return mu, logvar

    def decode(self, z: jax.Array) -> jax.Array:
        for layer in self.decoder[:-1]:
            z = jnp.tanh(layer(z))
        return self.decoder[-1](z)

    def __call__(self, x: jax.Array, train: bool = False) -> tuple[jax.Array, jax.Array]:
        """(logits, per-user KL); z is sampled from q(z|x) only when training."""
        mu, logvar = self.encode(x, train)
        z = mu
        if train:
            z = mu + jnp.exp(0.5 * logvar) * jax.random.normal(self.make_rng("sample"), mu.shape)
        kl = -0.5 * jnp.sum(1.0 + logvar - mu * mu - jnp.exp(logvar), -1)
        return self.decode(z), kl


def mvae_loss(logits: jax.Array, x: jax.Array, kl: jax.Array, beta: jax.Array) -> jax.Array:
    """Batch mean of −Σ x log softmax(logits) + β KL."""
    nll = -jnp.sum(jax.nn.log_softmax(logits, -1) * x, -1)
    return jnp.mean(nll + beta * kl)


@partial(jax.jit, static_argnums=0)
def _logits(net: MultVAENet, params, x: jax.Array) -> jax.Array:
    return net.apply(params, x)[0]


def annealed_loss(net: MultVAENet, params, batch: dict, x: jax.Array) -> jax.Array:
    """One training step's loss: rows ``batch["row"]`` of ``x``, with dropout and z sampled from
    ``batch["key"]`` and β = ``batch["beta"]``."""
    rows = x[batch["row"]]
    drop, sample = jax.random.split(jax.random.wrap_key_data(batch["key"]))
    logits, kl = net.apply(params, rows, train=True, rngs={"dropout": drop, "sample": sample})
    return mvae_loss(logits, rows, kl, batch["beta"])


class MultVAEFitted(Fitted):
    def __init__(self, net: MultVAENet, params, dtype):
        self.net, self.params, self.dtype = net, params, dtype

    def scorer(self, context: sp.csr_matrix) -> ScoreFn:
        return lambda rows: np.asarray(
            _logits(self.net, self.params, dense_rows(context, rows, self.dtype))
        )


class MultVAE(TrainedModel):
    name = "mvae"

    def __init__(
        self,
        hidden: Sequence[int],
        latent: int,
        dropout: float,
        anneal_cap: float,
        anneal_steps: int,
        **train_opts,
    ):
        if not 0 <= float(dropout) < 1:
            raise InfrecError(f"model.dropout={dropout}: must be in [0, 1)")
        if int(anneal_steps) < 1 or float(anneal_cap) < 0:
            raise InfrecError("model.anneal_steps must be ≥ 1 and model.anneal_cap ≥ 0")
        super().__init__(**train_opts)
        self.hidden, self.latent = tuple(int(h) for h in hidden), int(latent)
        self.dropout = float(dropout)
        self.anneal_cap, self.anneal_steps = float(anneal_cap), int(anneal_steps)

    def settings(self) -> dict[str, float]:
        return {
            **super().settings(),
            "latent": float(self.latent),
            "dropout": self.dropout,
            "anneal_cap": self.anneal_cap,
        }

    def fit(
        self, support: sp.csr_matrix | np.ndarray, monitor: Monitor | None
    ) -> tuple[MultVAEFitted, dict[str, float]]:
        x = jnp.asarray(dense_rows(support, slice(None), self.dtype))
        n_users = x.shape[0]
        net = MultVAENet(x.shape[1], self.hidden, self.latent, self.dropout)
        key = jax.random.key(self.seed)
        init_key, key = jax.random.split(key)
        params = net.init({"params": init_key}, x[:1])
        rng = np.random.default_rng(self.seed)
        steps_done = 0

        loss = partial(annealed_loss, net)

        def epoch(_: int) -> dict[str, np.ndarray]:
            nonlocal key, steps_done
            batches = batched({"row": np.arange(n_users, dtype=np.int32)}, self.batch_size, rng)
            n = len(batches["row"])
            step = steps_done + np.arange(n)
            beta = np.minimum(self.anneal_cap, step / self.anneal_steps).astype(np.float32)
            batches["beta"] = beta
            key, sub = jax.random.split(key)
            batches["key"] = np.asarray(jax.random.key_data(jax.random.split(sub, n)))
            steps_done += n
            return batches

        return run_training(
            self.name,
            params,
            optax.adam(self.lr),
            loss,
            x,
            epoch,
            lambda p: MultVAEFitted(net, p, self.dtype),
            self.schedule,
            monitor,
        )
