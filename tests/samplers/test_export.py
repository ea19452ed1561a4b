"""``sampler.export``: a Distill-CF summary handed to the models as values or as 0/1 rows at real
users' degrees (its top entries, or items sampled with its values as probabilities)."""

import numpy as np
import pytest
import scipy.sparse as sp

from infrec.apps.train import run
from infrec.data.matrix import binarize, top_per_row
from infrec.errors import InfrecError
from infrec.samplers import distill_cf
from infrec.samplers.distill_cf import EXPORTS, export_summary, real_degrees
from tests.helpers import compose_cfg, conf_sampler, make_split
from tests.samplers.test_distill_cf import tiny_split


def summary(n_rows: int = 400, n_items: int = 60, seed: int = 1) -> np.ndarray:
    """Real-valued rows in [0, 1] with distinct values and a few exact zeros per row."""
    rng = np.random.default_rng(seed)
    rows = rng.random((n_rows, n_items)).astype(np.float32) ** 3
    rows[rng.random((n_rows, n_items)) < 0.1] = 0.0
    return rows


def test_values_is_the_summary_itself():
    rows = summary()
    assert export_summary(rows, make_split().train, "values", seed=0) is rows


@pytest.mark.parametrize("export", ["degree", "sample"])
def test_degrees_follow_the_real_users_and_are_seeded(export):
    split = make_split(n_users=300, n_items=60)
    rows = summary()
    real = np.diff(split.train.indptr)
    out = export_summary(rows, split.train, export, seed=7)
    assert set(np.unique(out.data)) == {1.0}
    degrees = np.diff(out.indptr)
    assert set(degrees) <= set(real)  # drawn from the real degrees (rows have enough support)
    # the same distribution: 400 draws, two-sample Kolmogorov–Smirnov distance small
    grid = np.arange(real.max() + 1)
    cdf = lambda d: np.searchsorted(np.sort(d), grid, side="right") / len(d)  # noqa: E731
    assert np.abs(cdf(degrees) - cdf(real)).max() < 0.12
    again = export_summary(rows, split.train, export, seed=7)
    assert (out != again).nnz == 0  # reproducible
    other = export_summary(rows, split.train, export, seed=8)
    assert (out != other).nnz > 0


def test_degree_keeps_each_rows_top_entries_and_sample_stays_in_its_support():
    split = make_split(n_users=300, n_items=60)
    rows = summary()
    top = export_summary(rows, split.train, "degree", seed=3)
    drawn = export_summary(rows, split.train, "sample", seed=3)
    np.testing.assert_array_equal(np.diff(top.indptr), np.diff(drawn.indptr))  # same degrees
    for r in range(rows.shape[0]):
        kept = top.indices[top.indptr[r] : top.indptr[r + 1]]
        if kept.size:  # every kept value ≥ every dropped one
            rest = np.delete(rows[r], kept)
            assert rows[r, kept].min() >= (rest.max() if rest.size else -1)
    assert np.all(rows[drawn.nonzero()] > 0)  # sampled items have probability > 0
    assert (top != drawn).nnz > 0  # sampling is not the top entries


def test_sampling_follows_the_rows_values():
    """Copies of one row, every real user of degree 1: items are picked in proportion to value."""
    rows = np.tile([[0.5, 0.3, 0.2, 0.0]], (4000, 1))
    one_each = sp.csr_matrix(np.eye(5, 4, dtype=np.float32))  # 4 users of degree 1, one empty
    picks = export_summary(rows, one_each, "sample", seed=0).indices
    share = np.bincount(picks, minlength=4) / len(picks)
    np.testing.assert_allclose(share, [0.5, 0.3, 0.2, 0.0], atol=0.025)


def test_a_degree_is_capped_by_the_rows_nonzeros():
    rows = np.zeros((3, 10), np.float32)
    rows[:, :2] = [0.9, 0.1]
    dense_users = sp.csr_matrix(np.ones((4, 10), np.float32))  # real degree 10
    for export in ("degree", "sample"):
        out = export_summary(rows, dense_users, export, seed=0)
        assert np.all(np.diff(out.indptr) == 2) and set(out.indices) == {0, 1}


def test_real_degrees_skip_empty_users_and_need_some():
    m = sp.csr_matrix(np.array([[1, 1, 0], [0, 0, 0], [1, 0, 0]], np.float32))
    assert set(real_degrees(m, 50, np.random.default_rng(0))) == {1, 2}
    with pytest.raises(InfrecError, match="no users. degrees"):
        real_degrees(sp.csr_matrix((2, 3)), 5, np.random.default_rng(0))


def test_binarize_is_top_per_row_at_the_rounded_mass():
    rows = summary(20, 30)
    counts = np.clip(np.rint(rows.sum(1)).astype(int), 1, 30)
    assert (binarize(rows) != top_per_row(rows, counts)).nnz == 0


def test_a_typo_names_the_setting_and_the_choices(tmp_path):
    with pytest.raises(InfrecError) as caught:
        conf_sampler("distill_cf", export="top")
    message = str(caught.value)
    assert message == "sampler.export='top': choose one of values, degree, sample"
    assert "\n" not in message and all(e in message for e in EXPORTS)
    # from the command line: refused when the sampler is built, before any data is read
    cfg = compose_cfg(["sampler=distill_cf", "sampler.export=degre"], tmp_path)
    with pytest.raises(InfrecError, match=r"sampler.export='degre': choose one of"):
        run(cfg, tmp_path / "run")


def fake_distill(split, mu, settings, record):
    """A distillation's output without the optimisation: μ rows of the test's summary."""
    meta = {"best_step": 3, "gamma": 5, "best_lambda": 0.1, "best_val_hr": 0.5, "steps_run": 4}
    meta |= {"seconds_per_step": 0.1, "seconds": 0.4, "history": [], "init_users": [0, 1, 2, 3]}
    return summary(mu, split.n_items), meta


def test_one_cached_summary_serves_every_export(tmp_path, monkeypatch):
    split = tiny_split()
    options = {"budget": 4, "gamma": 5, "tau": 2.0, "pool_factor": 4.0, "steps": 4, "lr": 0.05}
    monkeypatch.setattr(distill_cf, "distill", fake_distill)
    first = conf_sampler("distill_cf", support_dir=str(tmp_path), **options)
    values = first.sample(split)
    np.testing.assert_array_equal(values.matrix, summary(4, split.n_items))  # as distilled
    assert "distilled_interactions" not in values.meta

    def no_distilling(*args, **kwargs):
        raise AssertionError("distilled again although the summary is cached")

    monkeypatch.setattr(distill_cf, "distill", no_distilling)
    for export in EXPORTS:
        sampler = conf_sampler("distill_cf", support_dir=str(tmp_path), export=export, **options)
        assert sampler.config() == first.config()
        assert sampler.artifact_path(split, 4) == first.artifact_path(split, 4)
        got = sampler.sample(split)
        assert got.hints == values.hints == {"infinite_ae": {"depth": 1, "lambda": 0.1}}
        if export == "values":
            np.testing.assert_array_equal(got.matrix, values.matrix)
            assert got.meta == {**values.meta, "seconds": 0.4}
            continue
        assert got.meta["distilled_interactions"] == pytest.approx(values.meta["interactions"])
        assert got.meta["interactions"] == got.matrix.nnz
        assert got.meta["best_step"] == values.meta["best_step"]
        assert set(np.diff(got.matrix.indptr)) <= set(np.diff(split.train.indptr))
    assert len(list(tmp_path.glob("*.npz"))) == 1
