"""Seeded synthetic interaction data of a chosen shape (no download), vectorised.

``dataset=synthetic`` (keys ``users``, ``items``, ``interactions``) draws

- per-user activity: every user has ``min_per_user`` interactions plus a share of the rest
  proportional to a Pareto(``user_tail``) weight — a heavy tail: most users stay at the minimum,
  a few have hundreds (a smaller ``user_tail`` is a heavier tail);
- item popularity: Zipf, ``p_i ∝ rank^(−item_exponent)``, over a random order of the items;
- each user's items without repeats, by popularity: pairs are drawn with replacement, duplicates
  dropped and the users short of their count drawn again (a few vectorised rounds over the users
  still short); users wanting more than 1/8 of the catalogue are drawn exactly without
  replacement (Gumbel top-k). A user can never want more items than exist.

Users draw items by popularity alone (no latent taste), so a synthetic dataset has a real one's
shape and density — what memory, speed and a summary's size depend on — but not its quality.
Rows then go through the normal preparation (≥ 3 per user, per-user 80/10/10 split) and cache,
keyed by these options. Memory is a few arrays of ``interactions`` integers (8 bytes each); the
Netflix-shaped preset's time and peak memory are in the README ("Scale").
"""

from __future__ import annotations

from typing import Any

import numpy as np

from infrec.data.matrix import sorted_unique
from infrec.data.readers import Interactions
from infrec.errors import InfrecError

OPTIONS = (
    "users",
    "items",
    "interactions",
    "min_per_user",
    "user_tail",
    "item_exponent",
    "generator_seed",
)


def activity(
    rng: np.random.Generator, users: int, items: int, interactions: int, minimum: int, tail: float
) -> np.ndarray:
    """Interactions per user: ``minimum`` each, the rest shared by Pareto(``tail``) weights."""
    extra = interactions - minimum * users
    weights = rng.pareto(tail, users) + 1e-12
    counts = minimum + rng.multinomial(extra, weights / weights.sum())
    over = counts > items  # nobody can interact with more items than exist
    if over.any():
        counts[over] = items
    return counts


HEAVY_SHARE = 1 / 8
"""Users wanting more than this share of the items are drawn exactly without replacement."""


def top_k_rows(
    rng: np.random.Generator, users: np.ndarray, counts: np.ndarray, popularity: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(users, items): ``counts[u]`` distinct items for each of ``users``, drawn without
    replacement by ``popularity`` (Gumbel top-k), a block of 256 users × all items at a time."""
    n_items = len(popularity)
    log_p = np.log(popularity / popularity.sum())
    out_u, out_i = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)]
    for start in range(0, len(users), 256):
        block = users[start : start + 256]
        order = np.argsort(-(log_p + rng.gumbel(size=(len(block), n_items))), axis=1)
        take = np.arange(n_items)[None, :] < counts[block][:, None]
        out_u.append(np.broadcast_to(block[:, None], order.shape)[take].astype(np.int64))
        out_i.append(order[take].astype(np.int64))
    return np.concatenate(out_u), np.concatenate(out_i)


def distinct_pairs(
    rng: np.random.Generator, counts: np.ndarray, popularity: np.ndarray, rounds: int = 20
) -> tuple[np.ndarray, np.ndarray]:
    """(users, items) sorted by user: ``counts[u]`` distinct items per user drawn by ``popularity``.

    Light users draw with replacement, drop duplicates and draw their shortfall again; a round
    touches only the users still short, so its cost shrinks with them. Users wanting more than
    :data:`HEAVY_SHARE` of the items (whose last items rejection would take many rounds to find,
    or never, for a whole catalogue) and any still short after ``rounds`` are drawn exactly by
    :func:`top_k_rows`.
    """
    n_users, n_items = len(counts), len(popularity)
    cdf = np.cumsum(popularity)
    cdf /= cdf[-1]
    counts = counts.astype(np.int64)
    heavy = counts > n_items * HEAVY_SHARE
    pending = np.flatnonzero(~heavy)
    want = counts[pending]
    keys = np.zeros(0, np.int64)  # the pending users' distinct pairs so far
    done = []
    for _ in range(rounds):
        users = np.repeat(pending, want)
        items = np.minimum(np.searchsorted(cdf, rng.random(len(users))), n_items - 1)
        keys = sorted_unique(np.concatenate([keys, users * n_items + items]))
        have = np.bincount(keys // n_items, minlength=n_users)
        short = np.zeros(n_users, bool)
        short[pending[have[pending] < counts[pending]]] = True
        still = short[keys // n_items]
        done.append(keys[~still])
        keys, pending = keys[still], np.flatnonzero(short)
        want = counts[pending] - have[pending]
        if len(pending) == 0:
            break
    exact = np.union1d(np.flatnonzero(heavy), pending)
    eu, ei = top_k_rows(rng, exact, counts, popularity)
    light = np.concatenate(done) if done else np.zeros(0, np.int64)
    users = np.concatenate([light // n_items, eu])
    items = np.concatenate([light % n_items, ei])
    order = np.argsort(users, kind="stable")
    return users[order], items[order]


def generate(cfg: Any) -> Interactions:
    """Interactions of the shape a ``format: synthetic`` dataset config asks for."""
    users, items, total = (int(cfg.get(k)) for k in ("users", "items", "interactions"))
    minimum = int(cfg.get("min_per_user", 3))
    if min(users, items) < 1 or minimum < 1:
        raise InfrecError("dataset.users, dataset.items and dataset.min_per_user must be ≥ 1")
    if not minimum * users <= total <= users * items:
        raise InfrecError(
            f"dataset.interactions={total:,}: needs between {minimum * users:,} "
            f"(min_per_user × users) and {users * items:,} (users × items)"
        )
    rng = np.random.default_rng(int(cfg.get("generator_seed", 0)))
    counts = activity(rng, users, items, total, minimum, float(cfg.get("user_tail", 1.5)))
    ranks = rng.permutation(items) + 1.0
    popularity = ranks ** -float(cfg.get("item_exponent", 1.0))
    u, i = distinct_pairs(rng, counts, popularity)
    order = rng.permutation(len(u))  # file order carries no information
    return Interactions(
        u[order], i[order], np.ones(len(u), np.float32), source=f"synthetic:{cfg.name}"
    )
