"""The training loop shared by the gradient-trained baselines (MF, NeuMF, Mult-VAE, LightGCN).

One epoch is one jitted ``lax.scan`` over pre-sampled mini-batches (no Python loop per step). Every
``eval_every`` epochs the caller's :class:`~infrec.models.base.Monitor` scores the current model
on validation (and records each epoch's loss and score); the best
parameters are kept and training stops after ``patience`` evaluations without improvement. Runs
are seeded: the same seed gives the same parameters and metrics on the same machine.
"""

from __future__ import annotations

import logging
import math
import time
from abc import abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any

import jax
import numpy as np
import optax
import scipy.sparse as sp

from infrec.errors import InfrecError
from infrec.models.base import Fitted, Model, Monitor
from infrec.models.early_stopping import EarlyStopping
from infrec.numerics import resolve_dtype
from infrec.progress import Progress

log = logging.getLogger(__name__)

Loss = Callable[[Any, dict[str, jax.Array], Any], jax.Array]
"""``loss(params, batch, data)``: one mini-batch's scalar loss; ``data`` holds fixed arrays."""


@dataclass(frozen=True)
class Schedule:
    """How long to train: at most ``epochs``, validating every ``eval_every`` epochs and stopping
    after ``patience`` validations without improvement."""

    epochs: int
    eval_every: int = 1
    patience: int = 5

    def __post_init__(self) -> None:
        for key in ("epochs", "eval_every", "patience"):
            value = getattr(self, key)
            if int(value) != value or value < 1:
                raise InfrecError(f"model.{key}={value}: must be an integer ≥ 1")


@partial(jax.jit, static_argnames=("loss", "optimizer"))
def run_epoch(params, opt_state, batches: dict, data, loss: Loss, optimizer):
    """One pass over ``batches`` (arrays with a leading batch axis); returns the mean loss."""

    def step(carry, batch):
        params, opt_state = carry
        value, grads = jax.value_and_grad(loss)(params, batch, data)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return (optax.apply_updates(params, updates), opt_state), value

    (params, opt_state), losses = jax.lax.scan(step, (params, opt_state), batches)
    return params, opt_state, losses.mean()


def run_training(
    name: str,
    params: Any,
    optimizer: optax.GradientTransformation,
    loss: Loss,
    data: Any,
    batches: Callable[[int], dict[str, np.ndarray]],
    make_fitted: Callable[[Any], Fitted],
    schedule: Schedule,
    monitor: Monitor | None,
) -> tuple[Fitted, dict[str, float]]:
    """Train ``params`` and return the best fitted model with ``best_epoch`` and ``epochs_run``.

    ``batches(epoch)`` samples one epoch of mini-batches on the host (seeded by the caller).
    Without a monitor the model after the last epoch is returned. ``fit_seconds`` counts
    training only, not the validation passes.
    """
    opt_state = optimizer.init(params)
    stopping = EarlyStopping(schedule.patience)
    train_s, epoch, validations = 0.0, 0, 0
    with Progress(schedule.epochs, name, every=1, logger=log) as progress:
        for epoch in range(1, schedule.epochs + 1):
            t0 = time.perf_counter()
            params, opt_state, mean_loss = run_epoch(
                params, opt_state, batches(epoch), data, loss, optimizer
            )
            mean_loss = float(mean_loss)
            train_s += time.perf_counter() - t0
            if not math.isfinite(mean_loss):
                raise InfrecError(
                    f"{name}: loss became {mean_loss} at epoch {epoch}; lower model.lr"
                )
            last = epoch == schedule.epochs
            if monitor is None or (epoch % schedule.eval_every and not last):
                progress.update(loss=mean_loss)
                if monitor is not None:
                    monitor.record("epoch", epoch, {"loss": mean_loss})
                continue
            fitted = make_fitted(params)
            score = monitor(fitted)
            validations += 1
            stopping.update(score, validations, (fitted, epoch))
            monitor.record("epoch", epoch, {"loss": mean_loss, "val": score})
            progress.update(
                loss=mean_loss, val=score, best=stopping.best[1] if stopping.best else 0
            )
            if stopping.should_stop(validations):
                log.info(
                    "%s: no improvement in %d validations; best epoch %d",
                    name,
                    schedule.patience,
                    stopping.best[1] if stopping.best else epoch,
                )
                break
    best, best_epoch = stopping.best or (None, 0)
    if best is None:
        best, best_epoch = make_fitted(params), epoch
    best.fit_seconds = train_s
    return best, {"best_epoch": float(best_epoch), "epochs_run": float(epoch)}


class TrainedModel(Model):
    """A baseline trained by gradient descent: one setting per run (sweeps tune it), early
    stopping on the monitor. Subclasses implement :meth:`fit` and list their knobs in
    :meth:`settings` (reported as hyper-parameters beside the best epoch)."""

    def __init__(
        self,
        lr: float,
        batch_size: int,
        epochs: int,
        eval_every: int,
        patience: int,
        seed: int,
        dtype: str,
    ):
        if not float(lr) > 0:
            raise InfrecError(f"model.lr={lr}: must be > 0")
        if int(batch_size) < 1:
            raise InfrecError(f"model.batch_size={batch_size}: must be ≥ 1")
        self.lr, self.batch_size, self.seed = float(lr), int(batch_size), int(seed)
        self.schedule = Schedule(int(epochs), int(eval_every), int(patience))
        self.dtype = resolve_dtype(dtype)

    def settings(self) -> dict[str, float]:
        """The numeric settings this run used (learning rate, sizes, regularisation)."""
        return {"lr": self.lr, "batch_size": float(self.batch_size)}

    @abstractmethod
    def fit(
        self, support: sp.csr_matrix | np.ndarray, monitor: Monitor | None
    ) -> tuple[Fitted, dict[str, float]]:
        """Train on ``support``; return the best fitted model and training facts."""

    def candidates(
        self, support: sp.csr_matrix | np.ndarray, monitor: Monitor | None = None
    ) -> Iterator[tuple[dict, Fitted]]:
        fitted, facts = self.fit(support, monitor)
        yield {**self.settings(), **facts}, fitted
