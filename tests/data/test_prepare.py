import logging
import shutil
from pathlib import Path

import numpy as np
import pytest
from omegaconf import OmegaConf

from infrec.data.matrix import Split
from infrec.data.prepare import (
    build_split,
    dense_index,
    first_occurrences,
    prepare,
    split_labels,
)
from infrec.data.readers import Interactions
from infrec.errors import InfrecError
from tests.helpers import PAPER_SPLIT, need

PAPER = OmegaConf.create(
    {
        "rating_threshold": None,
        "min_user_interactions": 3,
        "train_frac": 0.8,
        "val_frac": 0.1,
        "seed": 42,
    }
)


def test_split_labels_follow_the_paper_rule():
    sizes = np.array([3, 4, 10, 11, 57])
    users = np.repeat(np.arange(len(sizes)), sizes)
    labels = split_labels(users, np.random.default_rng(0), 0.8, 0.1)
    for u, n in enumerate(sizes):
        lab = labels[users == u]
        first, second = int(0.8 * n), int(0.9 * n)
        # the forced test item comes out of the train share
        assert (lab == 0).sum() == first - 1
        assert (lab == 1).sum() == second - first
        assert (lab == 2).sum() == n - second + 1


def test_split_is_seeded():
    users = np.repeat(np.arange(50), 20)
    a = split_labels(users, np.random.default_rng(1), 0.8, 0.1)
    b = split_labels(users, np.random.default_rng(1), 0.8, 0.1)
    c = split_labels(users, np.random.default_rng(2), 0.8, 0.1)
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def make(users, items, ratings=None):
    return Interactions(
        np.asarray(users),
        np.asarray(items),
        None if ratings is None else np.asarray(ratings, np.float32),
    )


def test_dedup_filter_reindex():
    # user 7 has 2 unique items (dropped); user 3 has a duplicate pair; items re-indexed sorted
    inter = make([3, 3, 3, 3, 7, 7, 9, 9, 9], [50, 50, 20, 40, 20, 30, 40, 60, 20])
    split = build_split(inter, PAPER)
    assert split.n_users == 2  # users 3 and 9
    assert split.n_items == 4  # items 20, 40, 50, 60 (30 belonged to the dropped user)
    total = split.train + split.val + split.test
    assert total.nnz == 6 and total.max() == 1
    assert total[0].indices.tolist() == [0, 1, 2]  # user 3: 20, 40, 50
    assert total[1].indices.tolist() == [0, 1, 3]  # user 9: 20, 40, 60
    assert (split.train.multiply(split.val)).nnz == 0
    assert (split.train.multiply(split.test)).nnz == 0


def test_rating_threshold():
    inter = make([1, 1, 1, 1, 2, 2, 2], [1, 2, 3, 4, 1, 2, 3], [5, 4, 4, 1, 5, 2, 1])
    split = build_split(inter, OmegaConf.merge(PAPER, {"rating_threshold": 4}))
    assert split.n_users == 1 and (split.train + split.val + split.test).nnz == 3


def test_threshold_without_ratings():
    with pytest.raises(InfrecError, match="no rating column"):
        build_split(make([1, 1, 1], [1, 2, 3]), OmegaConf.merge(PAPER, {"rating_threshold": 4}))


def test_empty_after_filtering():
    with pytest.raises(InfrecError, match="empty after filtering.*min_user_interactions=3"):
        build_split(make([1, 1, 2], [1, 2, 3]), PAPER, name="toy")


def test_prepare_caches_and_reuses(tmp_path):
    raw = tmp_path / "r.csv"
    rows = [f"{u},{i},5" for u in range(20) for i in range(u % 5, u % 5 + 6)]
    raw.write_text("\n".join(rows) + "\n")
    cfg = OmegaConf.merge(
        PAPER, {"name": "toy", "format": "delimited", "path": str(raw), "sep": ","}
    )
    first = prepare(cfg, cache_dir=tmp_path / "cache")
    cached = list((tmp_path / "cache").glob("toy-*.npz"))
    assert len(cached) == 1
    again, made_for = Split.load(cached[0])
    assert (again.train != first.train).nnz == 0 and again.key == first.key
    assert made_for["fields"]["seed"] == 42 and made_for["format"] == 2
    other = prepare(OmegaConf.merge(cfg, {"seed": 7}), cache_dir=tmp_path / "cache")
    assert other.key != first.key and len(list((tmp_path / "cache").glob("*.npz"))) == 2


def _toy_cfg(tmp_path: Path):
    raw = tmp_path / "r.csv"
    rows = [f"{u},{i},5" for u in range(20) for i in range(u % 5, u % 5 + 6)]
    raw.write_text("\n".join(rows) + "\n")
    return OmegaConf.merge(
        PAPER, {"name": "toy", "format": "delimited", "path": str(raw), "sep": ","}
    )


def test_a_cache_swapped_for_another_seeds_is_rebuilt(tmp_path, caplog):
    cfg = _toy_cfg(tmp_path)
    first = prepare(cfg, cache_dir=tmp_path / "cache")
    seven = prepare(OmegaConf.merge(cfg, {"seed": 7}), cache_dir=tmp_path / "cache")
    ours = tmp_path / "cache" / f"toy-{first.key}.npz"
    theirs = tmp_path / "cache" / f"toy-{seven.key}.npz"
    shutil.copy(theirs, ours)  # the seed-7 split under the seed-42 name
    with caplog.at_level(logging.WARNING, logger="infrec"):
        again = prepare(cfg, cache_dir=tmp_path / "cache")
    assert (again.train != first.train).nnz == 0 and (again.test != first.test).nnz == 0
    (line,) = [r.getMessage() for r in caplog.records if "rebuilding" in r.getMessage()]
    assert f"cache {ours} was made for" in line and "seed=7 (this run: 42)" in line
    assert Split.load(ours)[0].key == first.key  # rebuilt in place


@pytest.mark.parametrize("damage", ["truncate", "garbage", "edit"])
def test_a_damaged_cache_is_rebuilt(damage, tmp_path, caplog):
    cfg = _toy_cfg(tmp_path)
    first = prepare(cfg, cache_dir=tmp_path / "cache")
    path = tmp_path / "cache" / f"toy-{first.key}.npz"
    if damage == "truncate":
        path.write_bytes(path.read_bytes()[:300])
    elif damage == "garbage":
        path.write_bytes(b"not a zip at all")
    else:  # a column index past the item count: structurally invalid, must never reach SciPy
        with np.load(path) as z:
            arrays = dict(z)
        arrays["train_indices"] = arrays["train_indices"].copy()
        arrays["train_indices"][0] = 10**6
        np.savez(path, **arrays)
    with caplog.at_level(logging.WARNING, logger="infrec"):
        again = prepare(cfg, cache_dir=tmp_path / "cache")
    assert (again.train != first.train).nnz == 0
    (line,) = [r.getMessage() for r in caplog.records if "rebuilding" in r.getMessage()]
    assert line.startswith(f"cache {path} is damaged (") and "\n" not in line


def test_a_dataset_name_with_a_slash_is_refused(tmp_path):
    cfg = OmegaConf.merge(_toy_cfg(tmp_path), {"name": "../../x"})
    with pytest.raises(InfrecError, match=r"dataset.name='../../x' holds a path separator"):
        prepare(cfg, cache_dir=tmp_path / "cache" / "inner")
    assert not (tmp_path / "x").exists() and not list(tmp_path.rglob("x-*.npz"))


def test_prepare_bad_input_writes_nothing(tmp_path):
    raw = tmp_path / "r.csv"
    raw.write_text("1,2,5\n1,x,5\n")
    cfg = OmegaConf.merge(PAPER, {"name": "toy", "format": "delimited", "path": str(raw)})
    with pytest.raises(InfrecError, match="r.csv:2"):
        prepare(cfg, cache_dir=tmp_path / "cache")
    assert list((tmp_path / "cache").glob("*")) == []
    missing = OmegaConf.merge(cfg, {"path": str(tmp_path / "none.csv")})
    with pytest.raises(InfrecError, match="none.csv: not found for dataset 'toy'"):
        prepare(missing, cache_dir=tmp_path / "cache")


def test_paper_split_as_published(tmp_path):
    need(PAPER_SPLIT)
    cfg = OmegaConf.merge(
        PAPER, {"name": "ml-1m-paper", "format": "paper_split", "path": str(PAPER_SPLIT)}
    )
    split = prepare(cfg, cache_dir=tmp_path)
    assert (split.n_users, split.n_items) == (6040, 3706)
    assert (split.train.nnz, split.val.nnz, split.test.nnz) == (791_718, 99_692, 108_799)
    assert split.item_counts.sum() == 791_718


@pytest.mark.parametrize(
    "ids",
    [
        np.array([5, 3, 3, 9, 0, 5]),
        np.array([2**40, 7, 2**40, 1]),  # too sparse for a presence table: np.unique's path
        np.array(["b", "a", "b"]),
        np.zeros(0, np.int64),
    ],
)
def test_dense_index_is_uniques_inverse(ids):
    inverse, n = dense_index(ids)
    distinct, expected = np.unique(ids, return_inverse=True)
    np.testing.assert_array_equal(inverse, expected.ravel())
    assert n == len(distinct)


def test_first_occurrences_match_unique():
    rng = np.random.default_rng(0)
    for keys in (rng.integers(0, 50, 200), rng.permutation(200)):
        _, first = np.unique(keys, return_index=True)
        np.testing.assert_array_equal(first_occurrences(keys), np.sort(first))
