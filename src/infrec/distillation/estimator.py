"""Distill-CF's estimator: the multi-Gumbel sampled support, ∞-AE on it, and the loss (pure JAX).

Parameters are logits ``X̃`` (μ × items). A sampled support is
``X_s = hardtanh(Σ_{j≤γ} softmax((X̃ + g_j)/τ))``; ∞-AE is fitted on it in closed form (the inner
loop) and predicts the real users' rows ``X_t``; the loss is

    mean_u −Σ_i X_t[u,i] log_softmax(P[u])_i  +  c · mean_s Σ_i X_s[s,i] / (N/U).

**The sampling estimator.** With ``a = exp(X̃/τ)`` and noise multipliers ``w_j = exp(g_j/τ)``,
``softmax((X̃ + g_j)/τ) = a ⊙ w_j / ⟨a, w_j⟩``, so γ samples per row are two matrix products with
the noise vectors. Each step draws a pool of ``pool`` i.i.d. Gumbel vectors and each synthetic
user uses γ distinct ones from it (a cyclic window at a random offset): every row's samples are
exactly the published i.i.d. multi-Gumbel draws; rows share some noise vectors within a step
(γ²/pool on average). Cost and memory are O(μ·pool·items) matrix products — no γ × μ × items
tensor exists, forward or backward — instead of γ softmaxes over μ × items with fresh noise, as
the published code does. ``pool=None`` selects that literal estimator (independent noise per row,
a checkpointed scan) for comparisons.

**The expected support** (``pool=0``: no noise drawn). At the published temperature the noise
hardly moves a sample: ``softmax((X̃ + g)/τ) = a ⊙ w / ⟨a, w⟩`` with multipliers
``w = exp(g/τ)`` whose coefficient of variation is ``√(Γ(1 − 2/τ)/Γ(1 − 1/τ)² − 1)`` (0.14 at
τ = 10), while ``⟨a, w⟩`` averages thousands of items and barely varies; a row's γ samples then
differ from ``γ · softmax(X̃/τ)`` by about 0.14/√γ per entry — 1% at γ = 200. So
``hardtanh(γ · softmax(X̃/τ))`` is the sample's mean to that precision, and it costs one softmax:
no noise, no pool products. It stands for the multi-Gumbel sample only at high temperature
(τ > 2, where ``w`` has a variance; :func:`gumbel_noise_cv` gives the per-entry noise it leaves
out). On ML-1M at τ = 10 it reproduces the literal estimator's quality (docs/results.md).

**The inner model** (``inner``). The published inner loop is ∞-AE (:func:`krr_predict`).
``inner="ease"`` fits EASE instead (:func:`ease_predict`): the closed form is item × item, but by
Woodbury's identity it needs only a μ × μ solve, so a step costs what ∞-AE's does with a linear
kernel (issue 23: a summary made for a model linear in items, compared for the other models).

**Sparse targets.** With all real users as targets, the targets × support Gram matrix and its
gradient are CSR products (:mod:`infrec.sparse`) instead of dense GEMMs.
"""

from __future__ import annotations

import math
from functools import partial

import jax
import jax.numpy as jnp
import jax.scipy.linalg as jsl

from infrec.kernels.ntk import kernels_from_gram
from infrec.linalg import HIGHEST, JITTERS
from infrec.sparse import CSR, spmm


def multi_gumbel_pooled(
    logits: jax.Array, key: jax.Array, gamma: int, tau: float, pool: int
) -> jax.Array:
    """hardtanh(Σ_j softmax((X̃ + g_j)/τ)) with each row's γ noise vectors drawn from a pool."""
    k_noise, k_pick = jax.random.split(key)
    g = jax.random.gumbel(k_noise, (pool, logits.shape[1]), logits.dtype)
    w = jnp.exp((g - g.max(axis=1, keepdims=True)) / tau)  # rescaling w_j leaves softmax as is
    a = jnp.exp((logits - jax.lax.stop_gradient(logits.max(axis=1, keepdims=True))) / tau)
    denom = jnp.dot(a, w.T)  # ⟨a_s, w_j⟩ for every row and pool vector
    # each row takes γ consecutive pool vectors (cyclically) from a random offset: γ distinct
    # i.i.d. vectors per row, rows overlapping by γ²/pool on average, as random subsets would,
    # without sorting a rows × pool array every step
    offset = jax.random.randint(k_pick, (logits.shape[0], 1), 0, pool)
    chosen = (jnp.arange(pool)[None, :] - offset) % pool < gamma
    weights = jnp.where(chosen, 1.0 / jnp.maximum(denom, jnp.finfo(a.dtype).tiny), 0.0)
    return jnp.clip(a * jnp.dot(weights, w), -1.0, 1.0)


def multi_gumbel_independent(
    logits: jax.Array, key: jax.Array, gamma: int, tau: float
) -> jax.Array:
    """The literal estimator: fresh noise per row and sample (a rematerialised scan over γ)."""

    @jax.checkpoint
    def body(acc, k):
        g = jax.random.gumbel(k, logits.shape, logits.dtype)
        return acc + jax.nn.softmax((logits + g) / tau, axis=-1), None

    total, _ = jax.lax.scan(body, jnp.zeros_like(logits), jax.random.split(key, gamma))
    return jnp.clip(total, -1.0, 1.0)


def multi_gumbel_expected(logits: jax.Array, gamma: int, tau: float) -> jax.Array:
    """hardtanh(γ · softmax(X̃/τ)): the multi-Gumbel sample's mean at high temperature (no noise)."""
    return jnp.clip(gamma * jax.nn.softmax(logits / tau, axis=-1), -1.0, 1.0)


def gumbel_noise_cv(gamma: int, tau: float) -> float:
    """The coefficient of variation of one entry of a multi-Gumbel sample around its mean at
    high temperature: that of ``exp(g/τ)`` (g standard Gumbel, finite for τ > 2) over √γ."""
    if tau <= 2:
        return math.inf
    ratio = math.exp(math.lgamma(1 - 2 / tau) - 2 * math.lgamma(1 - 1 / tau))
    return math.sqrt(ratio - 1) / math.sqrt(gamma)


def sample_support(logits, key, gamma: int, tau: float, pool: int | None) -> jax.Array:
    """A support drawn from the logits: ``pool`` noise vectors per step shared by the rows,
    ``None`` for fresh noise per row and sample, 0 for none (the expected support)."""
    if pool is None:
        return multi_gumbel_independent(logits, key, gamma, tau)
    if pool == 0:
        return multi_gumbel_expected(logits, gamma, tau)
    return multi_gumbel_pooled(logits, key, gamma, tau, pool)


def krr_predict(
    support: jax.Array,
    targets: jax.Array,
    lam: jax.Array,
    depth: int,
    targets_csr: tuple[CSR, CSR] | None = None,
) -> jax.Array:
    """∞-AE fitted on ``support`` predicting ``targets`` (differentiable; λ relative).

    With ``targets_csr`` (the targets and their transpose as CSR, :func:`infrec.sparse.csr_pair`)
    the targets × support Gram matrix and its gradient are sparse products: two of the step's
    five users × items × μ dense products become sparse ones (cost ∝ the targets' nonzeros).
    """
    kernel = partial(kernels_from_gram, depth=depth, n0=support.shape[1])
    sq_s = jnp.sum(support * support, 1)
    k_ss = kernel(self_gram(support), sq_s, sq_s)[0]
    gram = targets_gram(support, targets, targets_csr)
    k_ts = kernel(gram, jnp.sum(targets * targets, 1), sq_s)[0]
    eye = jnp.eye(k_ss.shape[0], dtype=k_ss.dtype)
    reg = k_ss + factorable_ridge(k_ss, lam) * eye
    return jnp.dot(k_ts, spd_solve(reg, support), precision=HIGHEST)


def ease_predict(
    support: jax.Array,
    targets: jax.Array,
    lam: jax.Array,
    targets_csr: tuple[CSR, CSR] | None = None,
) -> jax.Array:
    """EASE fitted on ``support`` predicting ``targets`` (differentiable; λ relative):
    ``T B`` with ``B = I − P diag(P)⁻¹``, ``P = (XᵀX + ℓI)⁻¹`` and ``ℓ = |λ| · mean diag(XᵀX)``
    — the ``B`` of :func:`infrec.models.ease.ease_weights` at the absolute λ ``ℓ``.

    No items × items matrix is made: with ``W = (XXᵀ + ℓI)⁻¹X`` (μ × items), Woodbury gives
    ``ℓP = I − XᵀW``, so ``diag(ℓP) = 1 − Σ_s X ⊙ W`` and ``T B = T − (T − (TXᵀ)W) / diag(ℓP)``
    (ℓ cancels). ``B``'s zero diagonal holds: a target's own entry of an item enters its
    prediction for that item only through terms that cancel. Cost: the μ × μ Gram and solve and
    two users × items × μ products, as :func:`krr_predict`. The ridge falls back to a jitter
    where ``XXᵀ + ℓI`` will not factorise (:func:`factorable_ridge`).
    """
    n_items = support.shape[1]
    k_ss = self_gram(support)
    # factorable_ridge scales by the mean diagonal of XXᵀ (trace / μ); ℓ is trace / items
    ridge = factorable_ridge(k_ss, lam * k_ss.shape[0] / n_items)
    w = spd_solve(k_ss + ridge * jnp.eye(k_ss.shape[0], dtype=k_ss.dtype), support)
    diag = 1.0 - jnp.sum(support * w, axis=0)  # ℓ·diag(P), in (0, 1]
    gram = targets_gram(support, targets, targets_csr)
    return targets - (targets - jnp.dot(gram, w, precision=HIGHEST)) / diag


def targets_gram(
    support: jax.Array, targets: jax.Array, targets_csr: tuple[CSR, CSR] | None
) -> jax.Array:
    """``T Xᵀ`` (targets × support), a dense product or, with ``targets_csr`` (the targets and
    their transpose as CSR), a sparse one whose gradient is sparse too."""
    if targets_csr is None:
        return jnp.dot(targets, support.T, precision=HIGHEST)
    return spmm(*targets_csr, support.T)


@jax.custom_vjp
def self_gram(x: jax.Array) -> jax.Array:
    """``x xᵀ`` whose gradient is one product, ``(g + gᵀ) x``: autodiff of ``x @ x.T`` makes
    two (one per operand), and XLA:CPU ran both (0.1 s of a Distill-CF step)."""
    return jnp.dot(x, x.T, precision=HIGHEST)


def _self_gram_fwd(x: jax.Array):
    return self_gram(x), x


def _self_gram_bwd(x: jax.Array, g: jax.Array):
    return (jnp.dot(g + g.T, x, precision=HIGHEST),)


self_gram.defvjp(_self_gram_fwd, _self_gram_bwd)


@jax.custom_vjp
def spd_solve(a: jax.Array, b: jax.Array) -> jax.Array:
    """``a⁻¹ b`` for a symmetric positive definite ``a`` (Cholesky), differentiated as the
    solve it is: ``b̄ = a⁻¹ ḡ`` (two triangular solves with the kept factor) and
    ``ā = −b̄ xᵀ``, one product — autodiff through the factorisation added the Cholesky's own
    backward pass, two more items-wide products and two more triangular solves (0.3 s of a
    Distill-CF step). ``ā`` is exact for symmetric perturbations of ``a``, the only ones the
    kernel makes."""
    return _spd_solve_fwd(a, b)[0]


def _spd_solve_fwd(a: jax.Array, b: jax.Array):
    factor = jsl.cho_factor(a, lower=True)
    x = jsl.cho_solve(factor, b)
    return x, (factor[0], x)


def _spd_solve_bwd(res, g: jax.Array):
    chol, x = res
    b_bar = jsl.cho_solve((chol, True), g)
    return -jnp.dot(b_bar, x.T, precision=HIGHEST), b_bar


spd_solve.defvjp(_spd_solve_fwd, _spd_solve_bwd)


def factorable_ridge(k: jax.Array, lam: jax.Array) -> jax.Array:
    """The ridge ``|λ|·mean diag(k)``, or, where ``k`` plus it will not factorise in this
    precision, the first of :data:`infrec.linalg.JITTERS` (× mean diagonal) that does.

    Sparse data make near-duplicate synthetic rows, whose kernel's smallest eigenvalues drown in
    float32 round-off: λ = 1e-3 then fails to factorise and the loss is NaN. Which ridge works is
    decided on a gradient-free copy (one extra μ³/3 Cholesky); the ridge itself stays
    differentiable, and is the requested one wherever that factorises.
    """
    scale = jnp.trace(k) / k.shape[0]
    ridges = jnp.concatenate(
        [jnp.reshape(jnp.abs(lam), (1,)), jnp.maximum(jnp.abs(lam), jnp.asarray(JITTERS))]
    ).astype(k.dtype)
    fixed, eye = jax.lax.stop_gradient((k, scale)), jnp.eye(k.shape[0], dtype=k.dtype)

    def fails(i):
        chol = jnp.linalg.cholesky(fixed[0] + ridges[i] * fixed[1] * eye)
        return (i < len(JITTERS)) & ~jnp.all(jnp.isfinite(jnp.diagonal(chol)))

    return ridges[jax.lax.while_loop(fails, lambda i: i + 1, 0)] * scale


def distill_objective(
    logits: jax.Array,
    key: jax.Array,
    targets: jax.Array,
    lam: jax.Array,
    *,
    gamma: int,
    tau: float,
    pool: int | None,
    depth: int,
    card_reg: float,
    mean_card: float,
    targets_csr: tuple[CSR, CSR] | None = None,
    n_targets: int | None = None,
    inner: str = "infinite_ae",
) -> tuple[jax.Array, jax.Array]:
    """(the loss, the sampled support's mean row mass): softmax cross-entropy of the ``inner``
    model (∞-AE of ``depth``, or ``"ease"``) fitted on a sampled support plus the cardinality
    regulariser, and the support's size beside it.

    ``n_targets``: the real target rows when ``targets`` carries zero padding rows (sharded over
    devices; a zero row adds nothing to the sum); by default every row is a target."""
    support = sample_support(logits, key, gamma, tau, pool)
    if inner == "ease":
        pred = ease_predict(support, targets, lam, targets_csr)
    else:
        pred = krr_predict(support, targets, lam, depth, targets_csr)
    n = targets.shape[0] if n_targets is None else n_targets
    ce = -jnp.sum(targets * jax.nn.log_softmax(pred, axis=-1)) / n
    row_mass = jnp.mean(jnp.sum(support, axis=-1))
    return ce + card_reg * (row_mass / mean_card), row_mass


def distill_loss(*args, **kwargs) -> jax.Array:
    """The loss of :func:`distill_objective` alone (for gradients and benchmarks)."""
    return distill_objective(*args, **kwargs)[0]
