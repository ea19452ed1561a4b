"""Derived datasets: a real dataset cut to another's shape, every row one the source had."""

from __future__ import annotations

import numpy as np
import pytest
from omegaconf import OmegaConf

from infrec.data.derive import derive
from infrec.data.prepare import prepare
from infrec.data.readers import Interactions
from infrec.errors import InfrecError
from tests.helpers import PAPER_SPLIT, compose_cfg, need


def spec(**overrides):
    base = dict(
        users=60,
        items=80,
        interactions=180,
        min_per_user=3,
        user_tail=2.5,
        popularity_bias=0.0,
        taste_focus=0.0,
        seed=0,
    )
    return OmegaConf.create({**base, **overrides})


def ring_source(n_users: int = 400, per_group: int = 25) -> tuple[Interactions, np.ndarray]:
    """Users of type t rate 10 items of group t and 10 of group t+1 (4 groups on a ring)."""
    rng = np.random.default_rng(1)
    users, items = [], []
    for u in range(n_users):
        t = u % 4
        for g in (t, (t + 1) % 4):
            users += [u] * 10
            items += list(g * per_group + rng.choice(per_group, 10, replace=False))
    group = np.arange(4 * per_group) // per_group
    return Interactions(np.array(users), np.array(items), source="ring"), group


def pairs(users, items) -> set[tuple[int, int]]:
    return set(zip(users.tolist(), items.tolist(), strict=True))


def test_shape_and_rows_come_from_the_source():
    source, _ = ring_source()
    out = derive(source, spec())
    counts = np.bincount(np.unique(out.users, return_inverse=True)[1])
    assert len(counts) == 60 and counts.min() >= 3 and counts.sum() == 180
    assert pairs(out.users, out.items) <= pairs(source.users, source.items)
    popularity = np.bincount(source.items)
    assert popularity[np.unique(out.items)].min() >= np.sort(popularity)[-80]  # top-80 items
    again = derive(source, spec())
    assert np.array_equal(again.users, out.users) and np.array_equal(again.items, out.items)


def test_heavy_counts_go_to_users_with_the_most_items():
    users = np.repeat(np.arange(10), np.arange(3, 13))  # user u has u + 3 items
    items = np.concatenate([np.arange(n) for n in range(3, 13)])
    out = derive(
        Interactions(users, items, source="steps"), spec(users=10, items=12, interactions=60)
    )
    counts = np.bincount(out.users, minlength=10)
    assert np.all(np.diff(counts) >= 0) and counts.min() >= 3  # sorted by what users have
    assert np.all(counts <= np.arange(3, 13)) and 45 <= counts.sum() <= 60  # cut, not exceeded


def test_taste_focus_keeps_a_users_rows_near_one_taste():
    source, group = ring_source()
    same = []
    for focus in (0.0, 50.0):
        out = derive(source, spec(users=200, items=100, interactions=600, taste_focus=focus))
        by_user = np.unique(out.users, return_inverse=True)[1]
        n_groups = np.array([len(set(group[out.items[by_user == u]])) for u in range(200)])
        same.append((n_groups == 1).mean())
    assert same[0] < 0.5 < 0.9 < same[1]  # 3 of a user's 20 items by chance: 21% in one group


def test_published_split_labels_are_dropped_and_dropped_rows_stay_out():
    source, _ = ring_source(n_users=40)
    labels = np.zeros(len(source), np.int64)
    labels[::7] = -1
    labelled = Interactions(source.users, source.items, split=labels, source="labelled")
    out = derive(labelled, spec(users=30, items=90, interactions=90))
    assert out.split is None
    assert not pairs(out.users, out.items) & pairs(source.users[::7], source.items[::7])


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"users": 1000, "interactions": 3000}, "only 400 users"),
        ({"items": 500}, "items=500: ring has 100"),
        ({"interactions": 10}, "interactions=10 ≥ min_per_user × users"),
        ({"seed": None}, "missing \\['seed'\\]"),
    ],
)
def test_impossible_shapes_are_refused(overrides, message):
    source, _ = ring_source()
    with pytest.raises(InfrecError, match=message):
        derive(source, spec(**overrides))


def test_ml1m_magazine_has_the_magazine_shape(tmp_path):
    cfg = compose_cfg(
        ["dataset=ml-1m-magazine", f"dataset.path={need(PAPER_SPLIT)}"], tmp_path
    ).dataset
    split = prepare(cfg, cache_dir=tmp_path / "cache")
    per_user = np.diff((split.train + split.val + split.test).tocsr().indptr)
    assert split.n_users == 3092 and 1295 <= split.n_items <= 1315
    assert per_user.sum() == 12689 and np.median(per_user) == 3 and per_user.max() >= 20
    assert 0.10 <= (np.diff(split.val.indptr) > 0).mean() <= 0.16
