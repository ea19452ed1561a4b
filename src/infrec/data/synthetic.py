"""Seeded synthetic interaction data of a chosen shape (no download), vectorised.

``dataset=synthetic`` (keys ``users``, ``items``, ``interactions``) draws

- per-user activity: every user has ``min_per_user`` interactions plus a share of the rest
  proportional to a Pareto(``user_tail``) weight — a heavy tail: most users stay at the minimum,
  a few have hundreds (a smaller ``user_tail`` is a heavier tail);
- item popularity: Zipf, ``p_i ∝ rank^(−item_exponent)``, over a random order of the items;
- each user's items without repeats from the user's own distribution over items (below): pairs
  are drawn with replacement, duplicates dropped and the users short of their count drawn again
  (a few vectorised rounds over the users still short — together, sampling without replacement);
  users wanting more than 1/8 of the catalogue are drawn exactly without replacement (Gumbel
  top-k over blocks of users). A user can never want more items than exist.

``mode`` says what a user's distribution over items is:

- ``taste`` (the presets' default): latent tastes mixed with popularity. There are K =
  ``tastes`` tastes (genres); item ``i`` has a genre mix ``v_i`` ~ Dirichlet(``item_tastes``)
  (small: one genre or two per item), its main genre dealt in popularity order so every genre
  has its own hits and tail; taste ``k`` draws items by ``q_k(i) = v_ik p_i / z_k`` with
  ``z_k = Σ_i v_ik p_i`` (the genre's own popular items first); user ``u`` has a taste mix
  ``π_u`` ~ Dirichlet(``user_tastes`` · K · z / Σz) (small: one taste or two; popular genres
  have more fans). User ``u`` then draws item ``i`` with probability

      P(i | u) = (1 − taste_share) · p_i / Σp  +  taste_share · Σ_k π_uk q_k(i),

  a rank-(K + 1) matrix: users and items carry K-dimensional factors (``π_u``, ``q_·(i)``) with
  a cluster structure. The tastes' prior mean is ``z / Σz``, so every item's expected share of
  the draws is still ``p_i / Σp``; but a genre's fans use its hits up (no repeats) and go
  deeper into its tail, so the realised popularity is flatter at the head than popularity
  alone gives with the same ``item_exponent`` (README "Scale" compares them). ``taste_share``
  is the mix: 0 is popularity alone, 1 tastes alone.
- ``popularity``: ``P(i | u) = p_i / Σp`` for everyone — a real dataset's shape and density
  (what memory, speed and a summary's size depend on) without its quality: a popularity ranking
  is as good as any model. It draws exactly what the generator drew before tastes existed.

Rows then go through the normal preparation (≥ 3 per user, per-user 80/10/10 split) and cache,
keyed by these options. Memory: a few arrays of ``interactions`` integers (8 bytes each), the
tastes' ``users × K`` and ``K × items`` factors, and the draws made in chunks of
:data:`DRAW_CHUNK`; no ``users × items`` array exists beyond one block of heavy users. The
Netflix-shaped preset's time and peak memory are in the README ("Scale").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
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
    "mode",
    "tastes",
    "taste_share",
    "user_tastes",
    "item_tastes",
)

MODES = ("taste", "popularity")
"""What a user's distribution over items is (module docstring)."""

HEAVY_SHARE = 1 / 8
"""Users wanting more than this share of the items are drawn exactly without replacement."""

DRAW_CHUNK = 1 << 22
"""Taste-mode draws are made this many at a time (bounds their temporary arrays)."""

HEAVY_BLOCK = 256
"""Heavy users are drawn this many at a time (a block × items array of keys)."""


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


@dataclass(frozen=True)
class Tastes:
    """Latent tastes of ``taste`` mode: ``P(i | u) = (1 − share) p_i + share Σ_k π_uk q_k(i)``."""

    users: np.ndarray
    """π: users × K taste mixes, rows summing to 1 (float32)."""
    items: np.ndarray
    """q: K × items, each taste's distribution over the items (rows summing to 1, float64)."""
    share: float
    """The share of each user's draws made by taste (the rest by popularity)."""


def dirichlet_rows(rng: np.random.Generator, alpha: np.ndarray, rows: int) -> np.ndarray:
    """``rows`` draws of Dirichlet(``alpha``) as normalised Gamma variates (float64); a row
    whose every Gamma draw underflowed (tiny ``alpha``) falls back to the largest ``alpha``."""
    g = rng.standard_gamma(np.broadcast_to(alpha, (rows, len(alpha))))
    total = g.sum(axis=1, keepdims=True)
    empty = total[:, 0] <= 0
    if empty.any():
        g[empty, int(np.argmax(alpha))] = 1.0
        total[empty] = 1.0
    return g / total


def genre_mixes(
    rng: np.random.Generator, popularity: np.ndarray, k: int, concentration: float
) -> np.ndarray:
    """Items × K genre mixes ~ Dirichlet(``concentration``), each item's main genre dealt in
    popularity order (the most popular item to genre 0, the next to genre 1, …, round and round),
    so every genre has its own hits and its own tail and the genres' popularity is balanced."""
    mixes = dirichlet_rows(rng, np.full(k, concentration), len(popularity))
    rows = np.arange(len(popularity))
    main = np.empty(len(popularity), np.int64)
    main[np.argsort(-popularity, kind="stable")] = rows % k
    top = mixes.argmax(axis=1)
    top_share, main_share = mixes[rows, top], mixes[rows, main]
    mixes[rows, top], mixes[rows, main] = main_share, top_share
    return mixes


def draw_tastes(
    rng: np.random.Generator,
    n_users: int,
    popularity: np.ndarray,
    k: int,
    share: float,
    user_concentration: float,
    item_concentration: float,
) -> Tastes:
    """Seeded taste factors: item genre mixes ``v`` (:func:`genre_mixes`), tastes
    ``q_k ∝ v_·k p``, user mixes ``π_u`` ~ Dir(``user_concentration`` · K · z / Σz) with
    ``z_k = Σ_i v_ik p_i`` (so tastes on average reproduce the popularity)."""
    p = popularity / popularity.sum()
    loading = genre_mixes(rng, popularity, k, item_concentration) * p[:, None]
    mass = loading.sum(axis=0)  # z_k: each taste's share of the popularity
    items = (loading / mass).T.copy()
    prior = user_concentration * k * mass / mass.sum()
    users = dirichlet_rows(rng, prior, n_users).astype(np.float32)
    return Tastes(users=users, items=items, share=share)


def flat_cdf(weights: np.ndarray) -> np.ndarray:
    """Row-wise CDFs of a (rows × n) non-negative array, row ``r`` shifted by ``r`` and
    flattened: ``searchsorted(flat, r + U) − r n`` draws column ∝ ``weights[r]`` for U ~ U(0,1)."""
    cdf = np.cumsum(weights, axis=1, dtype=np.float64)
    cdf /= cdf[:, -1:]
    cdf[:, -1] = 1.0
    cdf += np.arange(len(weights), dtype=np.float64)[:, None]
    return cdf.ravel()


def pick_rows(rng: np.random.Generator, flat: np.ndarray, rows: np.ndarray, n: int) -> np.ndarray:
    """For each entry of ``rows``, a column of that row drawn from the :func:`flat_cdf` ``flat``
    of a (… × ``n``) array."""
    u = rows + rng.random(len(rows))
    return np.minimum(np.searchsorted(flat, u) - rows * n, n - 1)


ItemDraw = Callable[[np.random.Generator, np.ndarray], np.ndarray]
"""``draw(rng, users) -> items``: one item per entry of ``users``, by that user's distribution."""
BlockWeights = Callable[[np.ndarray], np.ndarray]
"""``weights(users) -> log P``: the users' log-probabilities over items (block or 1 × items)."""


def popularity_draw(popularity: np.ndarray) -> tuple[ItemDraw, BlockWeights]:
    """Draws and block log-weights of ``popularity`` mode (every user alike)."""
    n_items = len(popularity)
    cdf = np.cumsum(popularity)
    cdf /= cdf[-1]
    log_p = np.log(popularity / popularity.sum())

    def draw(rng: np.random.Generator, users: np.ndarray) -> np.ndarray:
        return np.minimum(np.searchsorted(cdf, rng.random(len(users))), n_items - 1)

    return draw, lambda users: log_p[None, :]


def taste_draw(popularity: np.ndarray, tastes: Tastes) -> tuple[ItemDraw, BlockWeights]:
    """Draws and block log-weights of ``taste`` mode: each draw is by taste with probability
    ``tastes.share`` (a taste from the user's mix, then an item from the taste), else by
    popularity; made :data:`DRAW_CHUNK` at a time."""
    n_items, k = len(popularity), tastes.items.shape[0]
    by_popularity, _ = popularity_draw(popularity)
    user_flat, item_flat = flat_cdf(tastes.users), flat_cdf(tastes.items)
    p = popularity / popularity.sum()

    def draw_chunk(rng: np.random.Generator, users: np.ndarray) -> np.ndarray:
        out = np.empty(len(users), np.int64)
        by_taste = rng.random(len(users)) < tastes.share
        out[~by_taste] = by_popularity(rng, users[~by_taste])
        taste = pick_rows(rng, user_flat, users[by_taste], k)
        out[by_taste] = pick_rows(rng, item_flat, taste, n_items)
        return out

    def draw(rng: np.random.Generator, users: np.ndarray) -> np.ndarray:
        starts = range(0, len(users), DRAW_CHUNK)
        parts = [draw_chunk(rng, users[s : s + DRAW_CHUNK]) for s in starts]
        return np.concatenate(parts) if parts else np.zeros(0, np.int64)

    def weights(users: np.ndarray) -> np.ndarray:
        mixed = (1 - tastes.share) * p + tastes.share * (tastes.users[users] @ tastes.items)
        return np.log(np.maximum(mixed, 1e-300))

    return draw, weights


def top_k_rows(
    rng: np.random.Generator, users: np.ndarray, counts: np.ndarray, log_weights: BlockWeights
) -> tuple[np.ndarray, np.ndarray]:
    """(users, items): ``counts[u]`` distinct items for each of ``users``, drawn without
    replacement by ``log_weights`` (Gumbel top-k), :data:`HEAVY_BLOCK` users × all items at a
    time; each user's items in descending order of their keys."""
    out_u, out_i = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)]
    for start in range(0, len(users), HEAVY_BLOCK):
        block = users[start : start + HEAVY_BLOCK]
        log_w = log_weights(block)
        keys = log_w + rng.gumbel(size=(len(block), log_w.shape[1]))
        order = largest_first(keys, int(counts[block].max()))
        take = np.arange(order.shape[1])[None, :] < counts[block][:, None]
        out_u.append(np.broadcast_to(block[:, None], order.shape)[take].astype(np.int64))
        out_i.append(order[take].astype(np.int64))
    return np.concatenate(out_u), np.concatenate(out_i)


def largest_first(keys: np.ndarray, k: int) -> np.ndarray:
    """Column indices of each row's ``k`` largest ``keys``, largest first (a partition, then a
    sort of those ``k`` alone; ``argsort`` of the whole row where ``k`` is most of it)."""
    n = keys.shape[1]
    if k * 2 > n:
        return np.argsort(-keys, axis=1)[:, :k]
    top = np.argpartition(-keys, k - 1, axis=1)[:, :k]
    within = np.argsort(-np.take_along_axis(keys, top, axis=1), axis=1)
    return np.take_along_axis(top, within, axis=1)


def distinct_pairs(
    rng: np.random.Generator,
    counts: np.ndarray,
    n_items: int,
    draw: ItemDraw,
    log_weights: BlockWeights,
    rounds: int = 20,
) -> tuple[np.ndarray, np.ndarray]:
    """(users, items) sorted by user: ``counts[u]`` distinct items per user drawn by ``draw``.

    Light users draw with replacement, drop duplicates and draw their shortfall again; a round
    touches only the users still short, so its cost shrinks with them. Users wanting more than
    :data:`HEAVY_SHARE` of the items (whose last items rejection would take many rounds to find,
    or never, for a whole catalogue) and any still short after ``rounds`` are drawn exactly by
    :func:`top_k_rows` from ``log_weights``.
    """
    n_users = len(counts)
    counts = counts.astype(np.int64)
    heavy = counts > n_items * HEAVY_SHARE
    pending = np.flatnonzero(~heavy)
    want = counts[pending]
    keys = np.zeros(0, np.int64)  # the pending users' distinct pairs so far
    done = []
    for _ in range(rounds):
        users = np.repeat(pending, want)
        items = draw(rng, users)
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
    eu, ei = top_k_rows(rng, exact, counts, log_weights)
    light = np.concatenate(done) if done else np.zeros(0, np.int64)
    users = np.concatenate([light // n_items, eu])
    items = np.concatenate([light % n_items, ei])
    order = np.argsort(users, kind="stable")
    return users[order], items[order]


def check_options(cfg: Any) -> None:
    """One-line errors for generator options out of range (each naming the value)."""
    users, items, total = (int(cfg.get(k)) for k in ("users", "items", "interactions"))
    minimum = int(cfg.get("min_per_user", 3))
    if min(users, items) < 1 or minimum < 1:
        raise InfrecError("dataset.users, dataset.items and dataset.min_per_user must be ≥ 1")
    if not minimum * users <= total <= users * items:
        raise InfrecError(
            f"dataset.interactions={total:,}: needs between {minimum * users:,} "
            f"(min_per_user × users) and {users * items:,} (users × items)"
        )
    mode = str(cfg.get("mode", "taste"))
    if mode not in MODES:
        raise InfrecError(f"dataset.mode={mode}: must be one of {', '.join(MODES)}")
    if mode == "popularity":
        return
    if int(cfg.get("tastes", 32)) < 1:
        raise InfrecError(f"dataset.tastes={cfg.get('tastes')}: must be ≥ 1")
    if not 0 <= float(cfg.get("taste_share", 0.95)) <= 1:
        raise InfrecError(f"dataset.taste_share={cfg.get('taste_share')}: must be in [0, 1]")
    for key in ("user_tastes", "item_tastes"):
        if not float(cfg.get(key, 0.02)) > 0:
            raise InfrecError(f"dataset.{key}={cfg.get(key)}: must be > 0")


def item_draws(cfg: Any, n_users: int, popularity: np.ndarray) -> tuple[ItemDraw, BlockWeights]:
    """The draws of the config's ``mode`` (tastes drawn from their own stream of the seed, so
    ``popularity`` mode draws exactly what the generator drew before tastes existed)."""
    if str(cfg.get("mode", "taste")) == "popularity":
        return popularity_draw(popularity)
    taste_rng = np.random.default_rng([int(cfg.get("generator_seed", 0)), 1])
    tastes = draw_tastes(
        taste_rng,
        n_users,
        popularity,
        int(cfg.get("tastes", 32)),
        float(cfg.get("taste_share", 0.95)),
        float(cfg.get("user_tastes", 0.02)),
        float(cfg.get("item_tastes", 0.02)),
    )
    return taste_draw(popularity, tastes)


def generate(cfg: Any) -> Interactions:
    """Interactions of the shape a ``format: synthetic`` dataset config asks for."""
    check_options(cfg)
    users, items, total = (int(cfg.get(k)) for k in ("users", "items", "interactions"))
    rng = np.random.default_rng(int(cfg.get("generator_seed", 0)))
    minimum = int(cfg.get("min_per_user", 3))
    counts = activity(rng, users, items, total, minimum, float(cfg.get("user_tail", 1.5)))
    ranks = rng.permutation(items) + 1.0
    popularity = ranks ** -float(cfg.get("item_exponent", 1.0))
    draw, log_weights = item_draws(cfg, users, popularity)
    u, i = distinct_pairs(rng, counts, items, draw, log_weights)
    order = rng.permutation(len(u))  # file order carries no information
    return Interactions(
        u[order], i[order], np.ones(len(u), np.float32), source=f"synthetic:{cfg.name}"
    )
