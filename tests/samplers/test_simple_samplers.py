import numpy as np
import pytest

from infrec.errors import InfrecError
from infrec.samplers import build_sampler
from infrec.samplers.base import resolve_budget
from infrec.samplers.svp_cf import forgetting_events
from tests.helpers import conf_sampler, make_split


@pytest.mark.parametrize(
    ("budget", "expected"), [(5, 5), (0.25, 10), (1.0, 40), (0.001, 1), (40, 40)]
)
def test_budget(budget, expected):
    assert resolve_budget(budget, 40) == expected


@pytest.mark.parametrize(
    ("budget", "message"),
    [
        (0, "count of users ≥ 1"),
        (-3, "count"),
        (2.5, "count"),
        (41, "above the 40 users"),
        (None, "not set"),
        (1.5, "count"),
    ],
)
def test_bad_budget(budget, message):
    with pytest.raises(InfrecError, match=message):
        resolve_budget(budget, 40)


def test_random_user_is_seeded_subset():
    split = make_split()
    a = conf_sampler("random_user", seed=1, budget=10).sample(split)
    b = conf_sampler("random_user", seed=1, budget=10).sample(split)
    c = conf_sampler("random_user", seed=2, budget=10).sample(split)
    assert a.matrix.shape == (10, 30) and (a.matrix != b.matrix).nnz == 0
    assert (a.matrix != c.matrix).nnz > 0
    assert a.meta["users"] == 10 and a.meta["user_share"] == 0.25
    assert a.meta["interactions"] == a.matrix.nnz
    train_rows = {tuple(r) for r in split.train.toarray()}
    assert all(tuple(r) in train_rows for r in a.matrix.toarray())


def test_head_user_keeps_heaviest():
    split = make_split()
    s = conf_sampler("head_user", budget=5).sample(split)
    counts = np.diff(split.train.indptr)
    assert sorted(np.diff(s.matrix.indptr)) == sorted(np.sort(counts)[-5:])


def test_random_interaction_share():
    split = make_split()
    s = conf_sampler("random_interaction", seed=3, budget=0.5).sample(split)
    k = round(0.5 * split.train.nnz)
    assert s.matrix.nnz == k and s.meta["interaction_share"] == pytest.approx(k / split.train.nnz)
    assert np.all(np.diff(s.matrix.indptr) > 0)  # users left empty are dropped


def test_svp_cf_keeps_users_with_most_forgetting():
    split = make_split(60, 40)
    events = forgetting_events(split, epochs=4, dim=8, lr=0.05, batch_size=256, l2=0.0, seed=0)
    assert events.shape == (split.train.nnz,) and events.min() >= 0 and events.max() <= 3
    owner = np.repeat(np.arange(60), np.diff(split.train.indptr))
    per_user = np.bincount(owner, weights=events, minlength=60) / np.diff(split.train.indptr)
    s = conf_sampler(
        "svp_cf", seed=0, budget=10, epochs=4, dim=8, lr=0.05, batch_size=256, l2=0.0
    ).sample(split)
    assert s.matrix.shape[0] == 10
    assert s.meta["mean_forgetting"] == pytest.approx(np.sort(per_user)[-10:].mean())


def test_sampler_config_errors_name_the_key():
    with pytest.raises(InfrecError, match="no _target_"):
        build_sampler({"name": "magic"}, seed=0)
    with pytest.raises(InfrecError, match=r"sampler=random_user: unknown key\(s\) budgt"):
        conf_sampler("random_user", budgt=3)
    with pytest.raises(InfrecError, match="cannot be imported"):
        build_sampler({"name": "x", "_target_": "infrec.samplers.nothing.Here"}, seed=0)
