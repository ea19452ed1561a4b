"""Full-ranking metrics, streamed over blocks of users (reference-compatible with the paper's code).

For each user with at least one target, items in the user's *context* (the model input: train at
validation time, train + validation at test time) are masked, all other items are ranked, and:

- ``hr@k``     = hits in the top k / min(k, |targets|)   (the paper's "HR", a truncated recall)
- ``recall@k`` = hits in the top k / |targets|
- ``ndcg@k``   = Σ_hits 1/log2(rank + 2) / ideal DCG over min(k, |targets|) positions
- ``psp@k``    = [Σ_hits w_i / min(k, |targets|)] / [Σ of the min(k, |targets|) largest w_i over
  targets], with Jain et al. propensity weights (:func:`psp_weights`)
- ``auc``      = one pooled Mann–Whitney AUC over every user's (target, negative) score pairs, where
  each user's 50 negatives are distinct random items the user never interacted with.

Users without targets are left out of the averages and counted in ``n_users_skipped``; with
``eval.users`` the metrics are those of a seeded sample of the users with targets, and
``n_users_sampled_from`` says how many it was drawn from. A metric
that is undefined (no user with targets; AUC without a positive and a negative) is absent, never
NaN. Memory is bounded by ``block_users × n_items``; the negatives are drawn in fixed chunks of
``NEGATIVE_CHUNK`` users, so no metric depends on the block size (``eval.block_users``, or the one
the memory budget chooses).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial

import numpy as np
import scipy.sparse as sp

from infrec.errors import InfrecError
from infrec.progress import Progress
from infrec.threads import host_threads

log = logging.getLogger(__name__)

PSP_A, PSP_B = 0.55, 1.5

NEGATIVE_CHUNK = 2048
"""Users per draw of evaluation negatives (the seeded stream's layout, independent of blocks)."""

RANKING_METRICS = ("hr", "ndcg", "recall", "psp")
"""The metrics computed at every cut-off k (``hr@10``, …); ``auc`` has none."""


def metric_key(metric: str, ks: Sequence[int], part: str = "val") -> str:
    """``metric`` (``<part>/<hr|ndcg|recall|psp>@k`` or ``<part>/auc``) without its prefix.

    Checked against the metrics an evaluation with cut-offs ``ks`` reports.
    """
    name = str(metric).removeprefix(f"{part}/")
    base, _, k = name.partition("@")
    valid = name == "auc" or (base in RANKING_METRICS and k.isdigit() and int(k) in ks)
    if not str(metric).startswith(f"{part}/") or not valid:
        names = "|".join(RANKING_METRICS)
        raise InfrecError(
            f"{metric!r}: use {part}/<{names}>@k with k in eval.ks={list(ks)}, or {part}/auc"
        )
    return name


def psp_weights(item_counts: np.ndarray, a: float = PSP_A, b: float = PSP_B) -> np.ndarray:
    """Inverse propensities ``w_i = 1 + C (n_i + B)^(−A)``, ``C = (ln N − 1)(B + 1)^A``."""
    counts = np.asarray(item_counts, np.float64)
    n = max(float(counts.sum()), 1.0)
    c = (np.log(n) - 1.0) * (b + 1.0) ** a
    return 1.0 + c * np.power(counts + b, -a)


def check_ks(ks: Sequence[int], n_items: int) -> list[int]:
    """Cut-offs as sorted ints in [1, n_items]; larger ones are dropped with a warning (a small
    catalogue runs with the default ``eval.ks``), and none left is an error."""
    values = sorted({int(k) for k in ks})
    if not values:
        raise InfrecError("eval.ks is empty; give cut-offs such as [10, 100]")
    if values[0] < 1:
        raise InfrecError(f"eval.ks={values}: every k must be ≥ 1")
    kept = [k for k in values if k <= n_items]
    if not kept:
        raise InfrecError(
            f"eval.ks={values}: every k is above the item count ({n_items}); give smaller cut-offs"
        )
    if len(kept) < len(values):
        log.warning(
            "eval.ks: dropping %s, above the item count (%d)",
            [k for k in values if k > n_items],
            n_items,
        )
    return kept


def clamp_metric_k(name: str, ks: Sequence[int]) -> str:
    """``name`` (``hr@100``) with its k lowered to the largest of ``ks`` when it was dropped."""
    base, _, k = name.partition("@")
    if not k or int(k) in ks:
        return name
    clamped = f"{base}@{max(ks)}"
    log.warning("selection: %s needs k=%s, above the item count; choosing on %s", name, k, clamped)
    return clamped


def _block_rows(m: sp.csr_matrix, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(row position within the block, column) of every nonzero of ``m[rows]``."""
    sub = m[rows]
    return np.repeat(np.arange(len(rows)), np.diff(sub.indptr)), sub.indices


def _sample_negatives(
    known: sp.csr_matrix, rows: np.ndarray, n_items: int, n: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """``n`` distinct random never-interacted items per user, and which of them are valid."""
    keys = rng.random((len(rows), n_items), dtype=np.float32)
    keys[_block_rows(known, rows)] = np.inf
    n = min(n, n_items)
    # a copy, not a view: a view would keep the block's whole rows × items argpartition alive
    picked = np.argpartition(keys, n - 1, axis=1)[:, :n].astype(np.int32)
    valid = np.isfinite(np.take_along_axis(keys, picked, axis=1))
    return picked, valid


def sample_users(users: np.ndarray, sample: float | None, seed: int) -> np.ndarray:
    """A seeded sample of ``users`` (sorted): ``sample`` users when ≥ 1, that share when in (0, 1),
    all when None. The same seed draws the same users for validation and test."""
    if sample is None:
        return users
    sample = float(sample)
    if not sample > 0 or (sample > 1 and sample != int(sample)):
        raise InfrecError(
            f"eval.users={sample:g}: give a user count ≥ 1, a share in (0, 1), or null for all"
        )
    n = len(users) if sample == 1 else int(sample) if sample > 1 else round(sample * len(users))
    if n >= len(users):
        return users
    rng = np.random.default_rng((seed, 0x5EED))
    return np.sort(rng.choice(users, size=max(n, 1), replace=False))


def _top_weight_sums(
    targets: sp.csr_matrix, rows: np.ndarray, weights: np.ndarray, kmax: int
) -> np.ndarray:
    """Per user, cumulative sums of its largest target weights (the PSP ideal), kmax columns.

    Works on the sparse targets: each row's target weights sorted descending, zero-padded to kmax.
    """
    sub = targets[rows]
    row_of = np.repeat(np.arange(len(rows)), np.diff(sub.indptr))
    w = weights[sub.indices]
    order = np.lexsort((-w, row_of))  # grouped by row, heaviest first within a row
    rank = np.arange(len(order)) - sub.indptr[row_of[order]]
    keep = rank < kmax
    best = np.zeros((len(rows), kmax))
    best[row_of[order][keep], rank[keep]] = w[order][keep]
    return np.cumsum(best, axis=1)


def pooled_auc(pos: np.ndarray, neg: np.ndarray) -> float:
    """Mann–Whitney AUC of positive vs negative scores (ties count one half)."""
    if len(pos) == 0 or len(neg) == 0:
        return float("nan")
    neg = np.sort(neg)
    below = np.searchsorted(neg, pos, side="left").sum(dtype=np.int64)
    not_above = np.searchsorted(neg, pos, side="right").sum(dtype=np.int64)
    return float((below + not_above) / 2 / (len(pos) * len(neg)))


@dataclass
class EvalTask:
    """Everything about an evaluation that does not depend on the model, computed once.

    ``context`` rows are the model input and are masked; ``targets`` are what must be found;
    ``known`` (every interaction of a user) excludes AUC negatives. Reused across a λ grid.
    """

    context: sp.csr_matrix
    targets: sp.csr_matrix
    users: np.ndarray
    ks: list[int]
    weights: np.ndarray
    negatives: np.ndarray
    negatives_valid: np.ndarray
    ideal_psp: np.ndarray
    block_users: int
    n_eligible: int
    """Users with targets; more than ``len(users)`` when evaluating on a sample (``eval.users``)."""

    @classmethod
    def build(
        cls,
        context: sp.csr_matrix,
        targets: sp.csr_matrix,
        known: sp.csr_matrix,
        item_weights: np.ndarray,
        *,
        ks: Sequence[int] = (10, 100),
        n_negatives: int = 50,
        seed: int = 0,
        block_users: int = 2048,
        users: float | None = None,
    ) -> EvalTask:
        n_items = targets.shape[1]
        ks = check_ks(ks, n_items)
        if int(n_negatives) < 1:
            raise InfrecError(f"eval.n_negatives={n_negatives}: must be ≥ 1")
        if int(block_users) < 1:
            raise InfrecError(f"eval.block_users={block_users}: must be ≥ 1")
        eligible = np.flatnonzero(np.diff(targets.indptr) > 0)
        users = sample_users(eligible, users, seed)
        weights = np.asarray(item_weights, np.float64)
        rng = np.random.default_rng(seed)
        negs, valids = [], []
        for start in range(0, len(users), NEGATIVE_CHUNK):
            rows = users[start : start + NEGATIVE_CHUNK]
            neg, valid = _sample_negatives(known, rows, n_items, int(n_negatives), rng)
            negs.append(neg)
            valids.append(valid)
        n_neg = min(int(n_negatives), n_items)
        return cls(
            context=context.tocsr(),
            targets=targets.tocsr(),
            users=users,
            ks=ks,
            weights=weights,
            negatives=np.concatenate(negs) if negs else np.zeros((0, n_neg), np.int64),
            negatives_valid=np.concatenate(valids) if valids else np.zeros((0, n_neg), bool),
            ideal_psp=_top_weight_sums(targets.tocsr(), users, weights, ks[-1]),
            block_users=int(block_users),
            n_eligible=len(eligible),
        )


def _dense_bool(m: sp.csr_matrix, rows: np.ndarray) -> np.ndarray:
    out = np.zeros((len(rows), m.shape[1]), bool)
    out[_block_rows(m, rows)] = True
    return out


RANK_ROWS = 256
"""Users ranked at once inside a scored block: the ranking's temporaries (a few of these rows ×
items, the argpartition's int64 indices the largest) stay small and are reused by the allocator,
whatever ``block_users`` is. Whole 6,040-user blocks made each λ's ranking map and fault in
~0.5 GB of fresh pages (docs/performance.md, the regression of issue 25)."""


def _rank(
    scores: np.ndarray, at: slice, task: EvalTask
) -> tuple[dict[str, float], np.ndarray, np.ndarray]:
    """The ranking metrics of the users ``task.users[at]`` from their ``scores`` (read only),
    summed over those users, and their AUC target and negative scores."""
    if not (np.isfinite(scores.min()) and np.isfinite(scores.max())):  # NaN propagates
        raise InfrecError("model returned non-finite scores; check the support matrix and λ")
    rows = task.users[at]
    ks, kmax = task.ks, task.ks[-1]
    discounts = 1.0 / np.log2(np.arange(kmax) + 2.0)
    ideal = np.cumsum(discounts)
    target = _dense_bool(task.targets, rows)
    neg = np.take_along_axis(scores, task.negatives[at], axis=1)[task.negatives_valid[at]]

    # descending scores as ascending costs, the context masked to +inf
    cost = np.negative(scores)
    cost[_block_rows(task.context, rows)] = np.inf
    top = np.argpartition(cost, kmax - 1, axis=1)[:, :kmax]
    order = np.argsort(np.take_along_axis(cost, top, axis=1), axis=1, kind="stable")
    top = np.take_along_axis(top, order, axis=1)
    hits = np.take_along_axis(target, top, axis=1)
    n_t = target.sum(1)
    hit_n = np.cumsum(hits, axis=1)
    hit_w = np.cumsum(hits * task.weights[top], axis=1)
    hit_dcg = np.cumsum(hits * discounts[None, :], axis=1)
    best_w = task.ideal_psp[at]
    sums = {}
    for k in ks:
        denom = np.minimum(k, n_t)
        sums[f"hr@{k}"] = float(np.sum(hit_n[:, k - 1] / denom))
        sums[f"recall@{k}"] = float(np.sum(hit_n[:, k - 1] / n_t))
        sums[f"ndcg@{k}"] = float(np.sum(hit_dcg[:, k - 1] / ideal[denom - 1]))
        psp = (hit_w[:, k - 1] / denom) / best_w[np.arange(len(rows)), denom - 1]
        sums[f"psp@{k}"] = float(np.sum(psp))
    return sums, scores[target], neg


def _rank_chunk(
    scores: np.ndarray, start: int, task: EvalTask, first: int
) -> tuple[dict[str, float], np.ndarray, np.ndarray]:
    """:func:`_rank` of the :data:`RANK_ROWS` users from ``task.users[first]`` on, whose scores
    are rows ``first - start`` on of a block that starts at user ``start``."""
    stop = min(first + RANK_ROWS, start + len(scores))
    return _rank(scores[first - start : stop - start], slice(first, stop), task)


def evaluate(score_fn: Callable[[np.ndarray], np.ndarray], task: EvalTask) -> dict[str, float]:
    """Metrics of ``score_fn`` on an :class:`EvalTask` (see the module docstring).

    ``score_fn`` is called once per block of ``task.block_users`` users; its scores are ranked
    in chunks of :data:`RANK_ROWS` users, on one thread per core (NumPy's partition and sorts
    release the GIL: ~2× on 2 cores), and never written to (no copy of the block is made).
    The AUC's target and negative scores go to two arrays sized up front, so nothing the
    evaluation keeps is allocated between the chunks' temporaries (which would pin them in the
    heap).
    """
    n_users, n_items = task.targets.shape
    sums = {f"{m}@{k}": 0.0 for m in RANKING_METRICS for k in task.ks}
    pos_scores = np.empty(int(np.diff(task.targets.indptr)[task.users].sum()))
    neg_scores = np.empty(int(task.negatives_valid.sum()))
    n_pos = n_neg = 0
    n_blocks = -(-len(task.users) // task.block_users)
    with (
        Progress(
            n_blocks, "evaluate blocks", every=1, logger=log, level=logging.DEBUG, bar_from=4
        ) as progress,
        ThreadPoolExecutor(host_threads()) as pool,
    ):
        for start in range(0, len(task.users), task.block_users):
            rows = task.users[start : start + task.block_users]
            scores = np.asarray(score_fn(rows))
            if scores.shape != (len(rows), n_items):
                raise InfrecError(
                    f"model returned scores of shape {scores.shape}, "
                    f"expected {(len(rows), n_items)}"
                )
            chunks = range(start, start + len(rows), RANK_ROWS)
            # chunks are ranked on the pool and summed in chunk order: the same sums, bit for
            # bit, whatever the thread count
            for part, pos, neg in pool.map(partial(_rank_chunk, scores, start, task), chunks):
                for key, value in part.items():
                    sums[key] += value
                pos_scores[n_pos : n_pos + len(pos)] = pos
                neg_scores[n_neg : n_neg + len(neg)] = neg
                n_pos, n_neg = n_pos + len(pos), n_neg + len(neg)
            progress.update()
    n_eval = len(task.users)
    metrics = {key: value / n_eval for key, value in sums.items()} if n_eval else {}
    auc = pooled_auc(pos_scores[:n_pos], neg_scores[:n_neg])  # ≤ the sizes (duplicate entries)
    if np.isfinite(auc):  # undefined without a positive and a negative: left out, not NaN
        metrics["auc"] = auc
    metrics["n_users"] = float(n_eval)
    metrics["n_users_skipped"] = float(n_users - task.n_eligible)
    if task.n_eligible > n_eval:  # a sample: how many it was drawn from
        metrics["n_users_sampled_from"] = float(task.n_eligible)
    return metrics
