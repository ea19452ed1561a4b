"""Distill-CF's optimisation: Adam on the logits, validation on the paper's schedule, early stop.

The inner model is ∞-AE as published, or EASE (``inner="ease"``,
:func:`infrec.distillation.estimator.ease_predict`); validation fits the same model on the
sample, so λ and the kept sample are chosen by the model the summary is made for.

Logits start as the train rows of μ random real users. Validation follows the paper (steps 25,
50, …, 200, then every 40; and the last step): a sample is drawn, ∞-AE's λ is re-chosen on
validation HR@100 over ``lambdas`` (:func:`infrec.selection.select`) and used in the loss from
then on; the sample with the best validation metric is kept; training stops after ``patience``
steps without improvement (:class:`infrec.models.early_stopping.EarlyStopping`, counting steps).
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass, replace
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from infrec.data.matrix import Split
from infrec.distillation.estimator import distill_objective, sample_support
from infrec.errors import InfrecError
from infrec.evaluate import EvalTask, evaluate, psp_weights
from infrec.models.base import Record, no_record
from infrec.models.early_stopping import EarlyStopping
from infrec.models.ease import EASE
from infrec.models.infinite_ae import InfiniteAE
from infrec.progress import Progress
from infrec.selection import select
from infrec.sharding import multi_device, replicate, shard_rows, to_host
from infrec.sparse import csr_pair

log = logging.getLogger(__name__)

INNER_MODELS = ("infinite_ae", "ease")
"""``sampler.inner``: the model fitted in closed form inside the loop (and at validation)."""

VALIDATION_K = 100
"""Validation HR@k as in the published code (k = the item count on tiny datasets)."""


@dataclass(frozen=True)
class DistillSettings:
    """The optimisation's knobs (``conf/sampler/distill_cf.yaml`` documents each)."""

    gamma: int
    tau: float
    card_reg: float
    lr: float
    steps: int
    patience: int
    depth: int
    lambdas: tuple[float, ...]
    pool_factor: float | None
    target_batch: int | None
    val_users: float | None
    log_every: int
    seed: int
    inner: str = "infinite_ae"

    def __post_init__(self) -> None:
        if self.inner not in INNER_MODELS:
            raise InfrecError(
                f"sampler.inner={self.inner!r}: choose one of {', '.join(INNER_MODELS)}"
            )
        if self.gamma < 1:
            raise InfrecError(f"sampler.gamma={self.gamma}: needs γ ≥ 1 Gumbel samples per user")
        if self.tau <= 0:
            raise InfrecError(f"sampler.tau={self.tau}: the Gumbel temperature must be > 0")
        if self.steps < 1 or self.patience < 1 or self.lr <= 0:
            raise InfrecError("sampler.steps, sampler.patience and sampler.lr must be > 0")
        if self.pool_factor is not None and self.pool_factor != 0 and self.pool_factor < 1:
            raise InfrecError(
                f"sampler.pool_factor={self.pool_factor}: must be ≥ 1, 0 (no noise: the expected "
                "support) or null (fresh noise per row and sample)"
            )
        if self.pool_factor == 0 and self.tau <= 2:
            raise InfrecError(
                f"sampler.pool_factor=0 with sampler.tau={self.tau}: the expected support stands "
                "for the multi-Gumbel sample only at temperatures above 2 (its noise has no "
                "variance below); use a pool (sampler.pool_factor ≥ 1) or null"
            )
        if self.depth < 1:
            raise InfrecError(f"sampler.depth={self.depth}: needs depth ≥ 1")
        if self.log_every < 1:
            raise InfrecError(f"sampler.log_every={self.log_every}: must be ≥ 1")

    @property
    def pool(self) -> int | None:
        """Gumbel vectors drawn per step (``None``: the literal independent estimator; 0: none,
        the expected support — :func:`infrec.distillation.estimator.sample_support`)."""
        if self.pool_factor is None:
            return None
        if self.pool_factor == 0:
            return 0
        return max(self.gamma, round(self.pool_factor * self.gamma))

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def validation_steps(steps: int, every: int = 40) -> set[int]:
    """The paper's schedule: 25, 50, …, 200, then every ``every`` steps; and the last step, so
    that what a run learned after its last scheduled check (all of a 10-step run) is a
    candidate too."""
    early = set(range(25, min(steps, 200) + 1, 25))
    return early | set(range(every, steps + 1, every)) | {steps}


def _validator(split: Split, settings: DistillSettings):
    """``validate(support) -> (best validation HR@k, its λ)`` with λ chosen on validation, over
    every validation user or a seeded sample of ``val_users`` (a count or a share): at Netflix
    size, scoring all 480 k users for each λ would cost more than the steps between checks."""
    val_k = min(VALIDATION_K, split.n_items)
    val_task = EvalTask.build(
        split.train,
        split.val,
        split.train + split.val + split.test,
        psp_weights(split.item_counts),
        ks=[val_k],
        seed=settings.seed,
        users=settings.val_users,
    )
    if len(val_task.users) == 0:
        raise InfrecError(
            f"Distill-CF chooses its sample and λ on validation, but no user of '{split.name}' has "
            "held-out validation items; use a split with validation items"
        )
    metric = f"hr@{val_k}"

    def validate(support: np.ndarray) -> tuple[float, float]:
        model = inner_model(settings, support)
        chosen = select(
            model.candidates(support),
            lambda fitted: evaluate(fitted.scorer(split.train), val_task),
            metric,
            prefer=lambda hp: hp["lambda"],  # ties: the larger λ, as the published code
        )
        return chosen.val[metric], chosen.hp.get("lambda_relative", chosen.hp["lambda"])

    return validate, metric


def inner_model(settings: DistillSettings, support: np.ndarray) -> InfiniteAE | EASE:
    """The inner model as a model, to validate a sample with: λ relative in both (EASE's is
    absolute, so :meth:`EASE.relative`: λ × the mean diagonal of the sample's item Gram)."""
    if settings.inner == "ease":
        return EASE(lambdas=settings.lambdas, dtype="float32").relative(settings.lambdas)
    return InfiniteAE(
        depth=settings.depth,
        lambdas=settings.lambdas,
        block_rows=max(len(support), 1),
        dtype="float32",
        solver="exact",
        landmarks=None,
        seed=settings.seed,
    )


def capped_gamma(settings: DistillSettings, interactions: int, mu: int) -> DistillSettings:
    """γ at most ``N/μ``: a summary never carries more interaction mass than the data.

    Each synthetic row's mass is γ (the γ softmaxes sum to one each; the cardinality regulariser
    barely moves it, since only clipping at 1 can), so ``μγ`` is the summary's size. On dense data
    the cap is far above the published γ = 200 (ML-1M, μ = 1,000: N/μ = 791) and changes nothing;
    on sparse data it follows the density (the Magazine-shaped benchmark, μ = 500: γ = 12 instead
    of 200, whose summary held 17× the real interactions; README, "Distill-CF defaults").
    """
    cap = max(1, interactions // mu)
    if settings.gamma <= cap:
        return settings
    log.info(
        "Distill-CF: γ = %d instead of %d, so that %d synthetic users hold at most the %s real "
        "train interactions",
        cap,
        settings.gamma,
        mu,
        f"{interactions:,}",
    )
    return replace(settings, gamma=cap)


def distill(
    split: Split, mu: int, settings: DistillSettings, record: Record = no_record
) -> tuple[np.ndarray, dict[str, Any]]:
    """Learn ``mu`` synthetic users for ``split``; return the best sample and what happened.

    ``record`` gets the history on the ``distill_step`` axis: the loss and the sampled support's
    mass per synthetic user every step (real users have ``N/U``), validation HR and λ when
    validated.
    """
    start = time.perf_counter()
    settings = capped_gamma(settings, split.train.nnz, mu)
    rng = np.random.default_rng(settings.seed)
    dtype = np.float32
    batch = settings.target_batch
    if batch is not None and not 1 <= batch <= split.n_users:
        raise InfrecError(f"sampler.target_batch={batch}: between 1 and {split.n_users}")
    init_rows = np.sort(rng.choice(split.n_users, size=mu, replace=False))
    # all targets at once are one dense matrix on the device; target batches are made dense one
    # batch at a time from the sparse rows, so memory does not grow with the users
    # with several devices the targets are split over them by rows (zero-padded, dense Gram)
    place = shard_rows if multi_device() else jnp.asarray
    targets = None if batch is not None else place(split.train.toarray().astype(dtype))
    logits = split.train[init_rows].toarray().astype(dtype)
    logits = replicate(logits) if multi_device() else jnp.asarray(logits)
    pool = settings.pool

    objective = partial(
        distill_objective,
        gamma=settings.gamma,
        tau=settings.tau,
        pool=pool,
        depth=settings.depth,
        card_reg=settings.card_reg,
        mean_card=split.train.nnz / split.n_users,
        n_targets=split.n_users if batch is None else batch,
        inner=settings.inner,
    )
    optimizer = optax.adam(settings.lr)
    opt_state = optimizer.init(logits)
    # all targets at once: their Gram products are sparse (see estimator.krr_predict)
    targets_csr = csr_pair(split.train) if batch is None and not multi_device() else None

    @jax.jit
    def step(logits, opt_state, key, lam, targets, targets_csr):
        (loss, row_mass), grad = jax.value_and_grad(objective, has_aux=True)(
            logits, key, targets, lam, targets_csr=targets_csr
        )
        updates, opt_state = optimizer.update(grad, opt_state, logits)
        return optax.apply_updates(logits, updates), opt_state, loss, row_mass

    sample = jax.jit(partial(sample_support, gamma=settings.gamma, tau=settings.tau, pool=pool))
    validate, metric = _validator(split, settings)

    key = jax.random.key(settings.seed)
    initial = to_host(logits)
    init_val, lam = validate(initial)  # sets the first λ; not a candidate
    real_mass = split.train.nnz / split.n_users  # interactions per real user
    history = [{"step": 0, "val_hr": init_val, "lambda": lam}]
    log.info(
        "Distill-CF μ=%d (inner %s): step 0 val %s %.4f (λ=%g)",
        mu,
        settings.inner,
        metric,
        init_val,
        lam,
    )
    record(
        "distill_step",
        0,
        {
            f"val/{metric}": init_val,
            "lambda": lam,
            "support_mass_per_user": float(initial.sum(1).mean()),
        },
    )
    stopping = EarlyStopping(settings.patience, origin=1)
    checks = validation_steps(settings.steps)
    t_steps, n_steps, last = 0.0, 0, 0
    with Progress(settings.steps, "Distill-CF step", every=settings.log_every, logger=log) as bar:
        for i in range(1, settings.steps + 1):
            key, k_step, k_batch = jax.random.split(key, 3)
            if batch is None:
                rows = targets
            else:
                picked = jax.random.choice(k_batch, split.n_users, (batch,), replace=False)
                rows = place(split.train[np.asarray(picked)].toarray().astype(dtype))
            t0 = time.perf_counter()
            logits, opt_state, loss, row_mass = step(
                logits, opt_state, k_step, jnp.asarray(lam, dtype), rows, targets_csr
            )
            loss, row_mass = float(to_host(loss)), float(to_host(row_mass))
            t_steps += time.perf_counter() - t0 if i > 1 else 0.0  # step 1 includes compilation
            n_steps, last = n_steps + (i > 1), i
            if not np.isfinite(loss):
                raise InfrecError(f"Distill-CF loss became {loss} at step {i}; lower sampler.lr")
            values = {"loss": loss, "support_mass_per_user": row_mass}
            stop = False
            if i in checks:
                support = to_host(sample(logits, key))
                val, lam = validate(support)
                history.append({"step": i, "val_hr": val, "lambda": lam, "loss": loss})
                values.update({f"val/{metric}": val, "lambda": lam})
                best = (
                    f"best {stopping.best_score:.4f} at step {stopping.best_at}"
                    if stopping.best_at
                    else "the first validated sample"
                )
                log.info("Distill-CF step %d: val %s %.4f (λ=%g); %s", i, metric, val, lam, best)
                stop = not stopping.update(val, i, support) and stopping.should_stop(i)
            record("distill_step", i, values)
            bar.update(loss=loss, mass=row_mass / real_mass)
            if stop:
                since = i - (stopping.best_at or 0)
                log.info("Distill-CF: no improvement for %d steps; stopping", since)
                break
    best_step = stopping.best_at or 0
    meta = {
        "best_step": best_step,
        "gamma": settings.gamma,
        "best_lambda": next(h["lambda"] for h in history if h["step"] == best_step),
        "best_val_hr": stopping.best_score,
        "steps_run": last,
        "seconds_per_step": t_steps / max(n_steps, 1),
        "seconds": time.perf_counter() - start,
        "history": history,
        "init_users": init_rows.tolist(),
    }
    return (initial if stopping.best is None else stopping.best), meta
