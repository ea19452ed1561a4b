"""The synthetic generator: the shape asked for, through the normal preparation, seeded; in taste
mode a structure a personalised model learns, in popularity mode none."""

from __future__ import annotations

import numpy as np
import pytest

from infrec.data.prepare import prepare
from infrec.data.synthetic import activity, generate
from infrec.errors import InfrecError
from infrec.evaluate import EvalTask, evaluate, psp_weights
from tests.helpers import compose_cfg, conf_model


def test_magazine_preset_has_the_magazine_shape(tmp_path):
    cfg = compose_cfg(["dataset=magazine_synthetic"], tmp_path).dataset
    split = prepare(cfg, cache_dir=tmp_path / "cache")
    per_user = np.diff((split.train + split.val + split.test).tocsr().indptr)
    assert split.n_users == 3092 and 1295 <= split.n_items <= 1305
    assert per_user.sum() == 12689 and per_user.min() >= 3 and np.median(per_user) == 3
    assert per_user.max() >= 20  # a heavy tail, not a flat 4
    assert 0.10 <= (np.diff(split.val.indptr) > 0).mean() <= 0.15  # the split's validation users
    again = prepare(cfg, cache_dir=tmp_path / "other")
    assert (again.train != split.train).nnz == 0 and again.key == split.key


def test_generator_options_are_checked(tmp_path):
    cfg = compose_cfg(["dataset=synthetic", "dataset.users=10", "dataset.interactions=5"], tmp_path)
    with pytest.raises(InfrecError, match="dataset.interactions=5: needs between 30"):
        prepare(cfg.dataset)


TINY = [
    "dataset=synthetic",
    "dataset.users=3000",
    "dataset.items=600",
    "dataset.interactions=90000",
    "dataset.user_tail=2.5",
]
"""A tiny taste-mode instance (the preset's taste options): prepares in well under a second."""


def tiny(tmp_path, *extra: str):
    """The prepared split of :data:`TINY` with ``extra`` overrides (no cache)."""
    return prepare(compose_cfg([*TINY, *extra], tmp_path).dataset)


def test_generation_is_seeded(tmp_path):
    cfg = compose_cfg(TINY, tmp_path).dataset
    one, two = generate(cfg), generate(cfg)
    assert np.array_equal(one.users, two.users) and np.array_equal(one.items, two.items)
    other = generate(compose_cfg([*TINY, "dataset.generator_seed=1"], tmp_path).dataset)
    assert not np.array_equal(np.sort(one.items), np.sort(other.items))


@pytest.mark.parametrize("mode", ["taste", "popularity"])
def test_both_modes_have_the_asked_shape(tmp_path, mode):
    split = tiny(tmp_path, f"dataset.mode={mode}")
    full = (split.train + split.val + split.test).tocsr()
    per_user = np.diff(full.indptr)
    asked = activity(np.random.default_rng(0), 3000, 600, 90000, 3, 2.5)  # the seed's first draws
    assert split.n_users == 3000 and split.n_items == 600 and np.array_equal(per_user, asked)
    assert full.nnz > 0.99 * 90000  # all asked for, less the few heavy users capped at 600
    assert per_user.min() >= 3 and per_user.max() >= 5 * np.median(per_user)  # a heavy tail
    counts = np.sort(np.bincount(full.indices, minlength=600))[::-1]
    ranks = np.arange(1, 601)
    slope = np.polyfit(np.log(ranks[5:300]), np.log(counts[5:300]), 1)[0]
    assert -1.2 < slope < -0.3  # power-law-ish popularity: straight on log-log, falling
    assert counts[:60].sum() > 0.3 * full.nnz  # the top 10% of items hold a large share


def ndcg10(split, scores: np.ndarray) -> float:
    """Test nDCG@10 of a users × items score matrix (history = train + validation)."""
    context = (split.train + split.val).tocsr()
    full = (context + split.test).tocsr()
    task = EvalTask.build(context, split.test, full, psp_weights(np.ones(split.n_items)), ks=[10])
    return evaluate(lambda rows: scores[rows], task)["ndcg@10"]


def ease_and_popularity(split) -> tuple[float, float]:
    """Test nDCG@10 of EASE (λ = 200, on train + validation rows) and of a popularity ranking."""
    context = (split.train + split.val).tocsr()
    ((_, fitted),) = conf_model("ease", lambdas=[200.0], dtype="float64").candidates(context)
    ease = np.asarray(fitted.scorer(context)(np.arange(split.n_users)))
    popularity = np.asarray(context.sum(axis=0)).ravel()
    return ndcg10(split, ease), ndcg10(split, np.tile(popularity, (split.n_users, 1)))


def test_tastes_are_learnable_popularity_is_not(tmp_path):
    ease, popularity = ease_and_popularity(tiny(tmp_path))
    assert popularity <= 0.6 * ease  # measured 0.48: as on real Netflix, about half
    ease, popularity = ease_and_popularity(tiny(tmp_path, "dataset.mode=popularity"))
    assert popularity >= 0.9 * ease  # popularity alone: nothing to learn beyond it


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("dataset.mode=genre", "dataset.mode=genre: must be one of taste, popularity"),
        ("dataset.taste_share=1.5", r"dataset.taste_share=1.5: must be in \[0, 1\]"),
        ("dataset.tastes=0", "dataset.tastes=0: must be ≥ 1"),
        ("dataset.user_tastes=0", "dataset.user_tastes=0: must be > 0"),
    ],
)
def test_taste_options_are_checked(tmp_path, override, message):
    with pytest.raises(InfrecError, match=message):
        generate(compose_cfg([*TINY, override], tmp_path).dataset)
