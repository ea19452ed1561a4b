"""A smaller, sparser dataset cut from a real one: real tastes at another dataset's shape.

A dataset config with a ``derive`` block (keys ``users``, ``items``, ``interactions``,
``min_per_user``, ``user_tail``, ``seed``) reads its source as usual, then, before preparation:

1. keeps the ``items`` most popular items of the source (all its interactions, any split);
2. keeps ``users`` random users among those with ≥ ``min_per_user`` interactions on them;
3. draws each kept user's activity from the synthetic generator's law
   (:func:`infrec.data.synthetic.activity`: ``min_per_user`` each, the rest by Pareto(``user_tail``)
   weights) and hands the largest counts to the users with the most items to give, so heavy users
   stay heavy and few counts are cut by what a user has (those cuts are logged);
4. keeps that many of each user's own interactions, drawn without replacement with weights
   ``popularity^popularity_bias`` (0: uniformly; larger: the kept rows crowd onto popular items,
   as purchases on a small catalogue do).

The rows then go through the normal preparation (dedupe, ≥ 3 per user, per-user 80/10/10 split),
so a derived dataset has the target's size, activity tail and validation share, while every
interaction is one a real user made — unlike ``format: synthetic``, its users have tastes a
recommender can learn. Any published split of the source is dropped: the derived rows are split
anew; a ``rating_threshold`` applies to the derived rows. Vectorised; memory is a few arrays
of the source's length.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from infrec.data.matrix import group_ranks
from infrec.data.readers import Interactions
from infrec.data.synthetic import activity
from infrec.errors import InfrecError

log = logging.getLogger(__name__)

OPTIONS = (
    "users",
    "items",
    "interactions",
    "min_per_user",
    "user_tail",
    "popularity_bias",
    "taste_focus",
    "seed",
)


def derive(inter: Interactions, spec: Any) -> Interactions:
    """The ``spec``-shaped subset of ``inter`` (see the module docstring)."""
    missing = [k for k in OPTIONS if spec.get(k) is None]
    if missing:
        raise InfrecError(f"dataset.derive needs {', '.join(OPTIONS)}; missing {missing}")
    n_users, n_items, total = (int(spec.get(k)) for k in ("users", "items", "interactions"))
    minimum = int(spec.get("min_per_user"))
    if min(n_users, n_items, minimum) < 1 or total < minimum * n_users:
        raise InfrecError(
            f"dataset.derive: users={n_users}, items={n_items}, min_per_user={minimum} must be "
            f"≥ 1 and interactions={total:,} ≥ min_per_user × users"
        )
    rows = np.flatnonzero(np.ones(len(inter), bool) if inter.split is None else inter.split >= 0)
    width = int(inter.items.max(initial=0)) + 1
    _, first = np.unique(
        inter.users[rows].astype(np.int64) * width + inter.items[rows], return_index=True
    )
    rows = rows[first]  # one row per (user, item), as the preparation would keep
    users, items = inter.users[rows], inter.items[rows]

    item_ids, item_idx, popularity = np.unique(items, return_inverse=True, return_counts=True)
    item_idx = item_idx.ravel()
    if len(item_ids) < n_items:
        raise InfrecError(f"dataset.derive.items={n_items}: {inter.source} has {len(item_ids)}")
    top = np.zeros(len(item_ids), bool)
    top[np.argsort(-popularity, kind="stable")[:n_items]] = True
    on_top = top[item_idx]
    rows, users, items = rows[on_top], users[on_top], items[on_top]

    user_ids, user_idx, available = np.unique(users, return_inverse=True, return_counts=True)
    user_idx = user_idx.ravel()
    eligible = np.flatnonzero(available >= minimum)
    if len(eligible) < n_users:
        raise InfrecError(
            f"dataset.derive.users={n_users}: only {len(eligible)} users of {inter.source} have "
            f"≥ {minimum} interactions on its {n_items} most popular items"
        )
    rng = np.random.default_rng(int(spec.get("seed")))
    chosen = np.sort(rng.choice(eligible, size=n_users, replace=False))
    counts = np.sort(activity(rng, n_users, n_items, total, minimum, float(spec.get("user_tail"))))
    by_supply = chosen[np.argsort(available[chosen], kind="stable")]
    want = np.zeros(len(user_ids), np.int64)
    want[by_supply] = np.minimum(counts, available[by_supply])
    if want.sum() < total:
        log.info(
            "dataset.derive: %d of %d users have fewer items than drawn; %s interactions kept "
            "instead of %s",
            int((counts > available[by_supply]).sum()),
            n_users,
            f"{want.sum():,}",
            f"{total:,}",
        )
    # each user's rows drawn without replacement (Gumbel top-k) with weights
    # popularity^bias · exp(focus · cos(item, the user's anchor item))
    bias, focus = float(spec.get("popularity_bias")), float(spec.get("taste_focus"))
    keys = bias * np.log(popularity[item_idx[on_top]]) + rng.gumbel(size=len(users))
    if focus:
        keys += focus * _anchor_similarity(user_idx, item_idx[on_top], rng)
    kept = group_ranks(user_idx, -keys) < want[user_idx]
    return Interactions(
        users[kept],
        items[kept],
        None if inter.ratings is None else inter.ratings[rows[kept]],
        source=f"{inter.source} (derived: {n_users} users × {n_items} items)",
    )


def _anchor_similarity(
    users: np.ndarray, items: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Per row, the cosine between its item and a random anchor item of the same user, in a
    32-dimensional item embedding (truncated SVD of the user × item matrix of these rows)."""
    import scipy.sparse as sp
    from scipy.sparse.linalg import svds

    n_users, n_items = int(users.max()) + 1, int(items.max()) + 1
    matrix = sp.csr_matrix((np.ones(len(users)), (users, items)), shape=(n_users, n_items))
    rank = min(32, min(matrix.shape) - 1)
    _, sigma, vt = svds(matrix, k=rank, random_state=int(rng.integers(2**31)))
    emb = (vt.T * sigma).astype(np.float64)
    emb /= np.linalg.norm(emb, axis=1, keepdims=True) + 1e-12
    anchor_row = group_ranks(users, rng.random(len(users))) == 0
    anchor = np.zeros(n_users, np.int64)
    anchor[users[anchor_row]] = items[anchor_row]
    return np.einsum("rd,rd->r", emb[items], emb[anchor[users]])
