"""The synthetic generator: the shape asked for, through the normal preparation, seeded."""

from __future__ import annotations

import numpy as np
import pytest

from infrec.data.prepare import prepare
from infrec.errors import InfrecError
from tests.helpers import compose_cfg


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
