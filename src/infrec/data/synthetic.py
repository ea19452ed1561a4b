"""Seeded synthetic interaction data of a chosen shape (no download), vectorised.

``dataset=synthetic`` (keys ``users``, ``items``, ``interactions``) draws

- per-user activity: every user has ``min_per_user`` interactions plus a share of the rest
  proportional to a Pareto(``user_tail``) weight — a heavy tail: most users stay at the minimum,
  a few have hundreds (a smaller ``user_tail`` is a heavier tail);
- item popularity: Zipf, ``p_i ∝ rank^(−item_exponent)``, over a random order of the items;
- each user's items without repeats: pairs are drawn with replacement, duplicates dropped and the
  users short of their count drawn again (a few vectorised rounds; a user can never want more
  items than exist).

Users draw items by popularity alone (no latent taste), so a synthetic dataset has a real one's
shape and density — what memory, speed and a summary's size depend on — but not its quality.
Rows then go through the normal preparation (≥ 3 per user, per-user 80/10/10 split) and cache,
keyed by these options. Memory is a few arrays of ``interactions`` integers (8 bytes each).
"""

from __future__ import annotations

from typing import Any

import numpy as np

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


def distinct_pairs(
    rng: np.random.Generator, counts: np.ndarray, popularity: np.ndarray, rounds: int = 50
) -> tuple[np.ndarray, np.ndarray]:
    """(users, items): ``counts[u]`` distinct items per user drawn by ``popularity``."""
    n_items = len(popularity)
    cdf = np.cumsum(popularity)
    cdf /= cdf[-1]
    keys = np.zeros(0, np.int64)
    want = counts.astype(np.int64)
    for _ in range(rounds):
        short = np.flatnonzero(want > 0)
        if len(short) == 0:
            break
        users = np.repeat(short, want[short])
        items = np.minimum(np.searchsorted(cdf, rng.random(len(users))), n_items - 1)
        keys = np.unique(np.concatenate([keys, users * n_items + items]))
        want = counts - np.bincount(keys // n_items, minlength=len(counts))
    users, items = keys // n_items, keys % n_items
    return users, items


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
