import numpy as np
import pytest
import scipy.sparse as sp

from infrec.data.matrix import binarize
from infrec.errors import InfrecError
from infrec.paths import atomic_path
from infrec.samplers.support_file import load_support, save_support
from tests.helpers import conf_sampler, make_split


@pytest.mark.parametrize("kind", ["sparse", "dense"])
def test_round_trip(kind, tmp_path):
    rng = np.random.default_rng(0)
    dense = np.where(rng.random((5, 7)) < 0.4, rng.random((5, 7)), 0).astype(np.float32)
    matrix = sp.csr_matrix(dense) if kind == "sparse" else dense
    meta = {"dataset": "toy", "best_step": 75, "history": [{"step": 0}]}
    save_support(tmp_path / "s.npz", matrix, meta)
    got, got_meta = load_support(tmp_path / "s.npz")
    assert got_meta == meta
    np.testing.assert_array_equal(got.toarray() if sp.issparse(got) else got, dense)


def test_atomic_write_leaves_nothing_on_failure(tmp_path):
    with pytest.raises(RuntimeError), atomic_path(tmp_path / "s.npz") as tmp:
        tmp.write_bytes(b"half")
        raise RuntimeError("crash")
    assert list(tmp_path.iterdir()) == []


def test_binarize():
    m = np.array([[0.9, 0.1, 0.8, 0.0], [0.2, 0.3, 0.1, 0.05]], np.float32)
    np.testing.assert_array_equal(binarize(m).toarray(), [[1, 0, 1, 0], [0, 1, 0, 0]])
    np.testing.assert_array_equal(binarize(m, per_row=3).toarray(), [[1, 1, 1, 0], [1, 1, 1, 0]])


def test_from_file(tmp_path):
    split = make_split()
    rows = split.train[:6].toarray() * 0.5
    save_support(tmp_path / "s.npz", rows, {"dataset": "toy", "split_key": "k"})
    s = conf_sampler("from_file", path=str(tmp_path / "s.npz")).sample(split)
    np.testing.assert_array_equal(s.matrix, rows)
    assert s.meta["users"] == 6
    b = conf_sampler("from_file", path=str(tmp_path / "s.npz"), binarize=True, per_row=2).sample(
        split
    )
    assert np.all(np.diff(b.matrix.indptr) == 2)


@pytest.mark.parametrize(
    ("matrix", "meta", "message"),
    [
        (np.zeros((3, 9)), {}, "support has 9 items, dataset 'toy' has 30"),
        (np.zeros((3, 30)), {"dataset": "other", "split_key": "zz"}, "made from dataset 'other'"),
        (np.full((3, 30), 2.0), {}, r"values must lie in \[0, 1\]"),
    ],
)
def test_from_file_rejects(matrix, meta, message, tmp_path):
    save_support(tmp_path / "s.npz", matrix, meta)
    with pytest.raises(InfrecError, match=message):
        conf_sampler("from_file", path=str(tmp_path / "s.npz")).sample(make_split())


def test_from_file_missing(tmp_path):
    with pytest.raises(InfrecError, match="support file not found"):
        conf_sampler("from_file", path=str(tmp_path / "x.npz")).sample(make_split())
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    with pytest.raises(InfrecError, match="not a support file"):
        conf_sampler("from_file", path=str(tmp_path / "bad.npz")).sample(make_split())
