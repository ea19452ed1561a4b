import subprocess
import sys

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
        (np.full((3, 30), 2.0), {}, r"support values must lie in \[0.0, 1.0\]; found 2.0"),
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


def _tampered(path, **changes):
    """Rewrite the arrays of a saved support with ``changes`` (what a careless edit does)."""
    with np.load(path) as z:
        arrays = dict(z)
    arrays.update(changes)
    np.savez(path, **arrays)
    return path


def test_a_support_with_an_out_of_range_index_is_refused_in_a_subprocess(tmp_path):
    """Before the checks, SciPy read memory out of bounds here: a segmentation fault (139)."""
    save_support(tmp_path / "s.npz", sp.csr_matrix(np.eye(3, 30, dtype=np.float32)), {})
    with np.load(tmp_path / "s.npz") as z:
        far = z["indices"].copy()
    far[1] = 10**8
    _tampered(tmp_path / "s.npz", indices=far)
    code = (
        "import numpy as np, scipy.sparse as sp\n"
        "from infrec.errors import InfrecError\n"
        "from infrec.samplers.support_file import load_support\n"
        "try:\n"
        f"    m, _ = load_support({str(tmp_path / 's.npz')!r})\n"
        "    print((m @ np.ones(30, np.float32)).sum())\n"
        "except InfrecError as e:\n"
        "    print('refused:', e)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "refused:" in done.stdout and "column index 100000000 outside 0…29" in done.stdout


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"indptr": np.array([0, 2, 1, 3])}, "indptr decreases at row 1"),
        ({"indptr": np.array([1, 1, 2, 3])}, "indptr starts at 1, not 0"),
        ({"indices": np.array([0, -4, 2])}, "column index -4 outside"),
        ({"data": np.array([1.0, 1e6, 1.0], np.float32)}, "must lie in"),
        ({"data": np.array([1.0, np.nan, 1.0], np.float32)}, "NaN or infinite"),
        ({"shape": np.array([3.5, 30])}, "support shape has dtype float64"),
        ({"meta": np.asarray('{"best_lambda": -1}')}, "best_lambda=-1 outside"),
        ({"meta": np.asarray('{"best_step": "7"}')}, "best_step='7' is not int"),
        ({"meta": np.asarray('{"best_step": 7.5}')}, "best_step=7.5 is not int"),
        ({"meta": np.asarray("[1, 2")}, "metadata is not valid JSON"),
        ({"format": np.asarray("coo")}, "unknown support format 'coo'"),
    ],
)
def test_a_tampered_support_is_one_line_naming_the_file(change, message, tmp_path):
    save_support(tmp_path / "s.npz", sp.csr_matrix(np.eye(3, 30, dtype=np.float32)), {})
    _tampered(tmp_path / "s.npz", **change)
    with pytest.raises(InfrecError, match=message) as caught:
        load_support(tmp_path / "s.npz")
    assert str(caught.value).startswith(str(tmp_path / "s.npz")) and "\n" not in str(caught.value)


def test_a_matrix_swapped_into_another_support_is_caught_by_its_hash(tmp_path):
    save_support(tmp_path / "a.npz", np.full((3, 30), 0.5, np.float32), {"dataset": "toy"})
    save_support(tmp_path / "b.npz", np.full((3, 30), 0.25, np.float32), {"dataset": "toy"})
    with np.load(tmp_path / "b.npz") as z:
        other = z["dense"]
    _tampered(tmp_path / "a.npz", dense=other)
    with pytest.raises(InfrecError, match="does not match the content hash"):
        load_support(tmp_path / "a.npz")


def test_a_count_written_as_a_whole_float_is_read_as_the_count(tmp_path):
    """infrec-distill wrote its support's counts as floats (480.0): still a valid support."""
    save_support(tmp_path / "s.npz", np.full((2, 4), 0.5, np.float32), {"best_step": 480.0})
    assert load_support(tmp_path / "s.npz")[1]["best_step"] == 480
