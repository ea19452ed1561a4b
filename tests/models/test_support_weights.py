"""``model.support_weights``: MF, NeuMF and LightGCN trained on a real-valued support as it is —
positives drawn with the values as probabilities, negatives with 1 − value, LightGCN's edges
weighted — and unchanged on 0/1 supports or when off."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from infrec.errors import InfrecError
from infrec.models.lightgcn import normalised_graph, weighted_graph
from infrec.models.negatives import TrainingPairs, draw_from_rows, is_binary
from tests.helpers import conf_model
from tests.models.test_baselines import TINY, tiny_matrix


def test_draws_follow_each_rows_weights():
    weights = np.array([[0.6, 0.0, 0.3, 0.1], [0.0, 0.0, 0.0, 2.0], [1.0, 1.0, 0.0, 0.0]])
    users = np.repeat([0, 1, 2], 20000)
    got = draw_from_rows(weights, users, 2, np.random.default_rng(0))
    assert got.shape == (60000, 2) and got.dtype == np.int32
    for row in range(3):
        share = np.bincount(got[users == row].ravel(), minlength=4) / got[users == row].size
        np.testing.assert_allclose(share, weights[row] / weights[row].sum(), atol=0.01)


def real_support(seed: int = 0) -> np.ndarray:
    """Rows in [0, 1] with masses 2–4: a few high values over a low background."""
    rng = np.random.default_rng(seed)
    rows = rng.random((6, 20)) * 0.02
    for r in range(6):
        rows[r, rng.choice(20, 3, replace=False)] = [1.0, 0.9, 0.8]
    return rows.astype(np.float32)


def test_weighted_pairs_draw_round_mass_positives_by_value_and_negatives_by_the_rest():
    rows = real_support()
    source = TrainingPairs(rows, weighted=True)
    assert source.weighted and source.shape == rows.shape
    np.testing.assert_array_equal(
        np.bincount(source.users), np.maximum(np.rint(rows.sum(1)), 1).astype(int)
    )
    counts = np.zeros(rows.shape)
    neg_counts = np.zeros(rows.shape)
    rng = np.random.default_rng(1)
    for _ in range(3000):
        users, pos, neg = source.epoch(2, rng)
        np.add.at(counts, (users, pos), 1)
        np.add.at(neg_counts, (np.repeat(users, 2), neg.ravel()), 1)
    np.testing.assert_allclose(
        counts / counts.sum(1, keepdims=True), rows / rows.sum(1, keepdims=True), atol=0.01
    )
    assert np.all(neg_counts[rows == 1.0] == 0)  # an item of value 1 is never a negative
    rest = 1 - rows
    np.testing.assert_allclose(
        neg_counts / neg_counts.sum(1, keepdims=True), rest / rest.sum(1, keepdims=True), atol=0.01
    )


def test_a_binary_support_or_weights_off_trains_as_before():
    m = tiny_matrix()
    for support, weighted in ((m, True), (m, False), (real_support(), False)):
        source = TrainingPairs(support, weighted)
        assert not source.weighted and is_binary(source.matrix)
    rng, again = np.random.default_rng(2), np.random.default_rng(2)
    users, pos, neg = TrainingPairs(m, True).epoch(3, rng)
    old = TrainingPairs(m, False)
    np.testing.assert_array_equal(users, old.users)
    np.testing.assert_array_equal(pos, m.indices)
    np.testing.assert_array_equal(neg, old.epoch(3, again)[2])


def test_weighted_graph_of_a_binary_matrix_is_the_plain_graph():
    m = tiny_matrix()
    plain, weighted = normalised_graph(m), weighted_graph(m.toarray())
    for block in ("ui", "iu"):  # (data, indices, indptr) each
        for got, want in zip(weighted[block], plain[block], strict=True):
            np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-6)


WEIGHTED = {
    "mf": lambda: conf_model("mf", dim=16, l2=0.0, lr=0.05, support_weights=True, **TINY),
    "lightgcn": lambda: conf_model(
        "lightgcn", dim=16, layers=1, l2=0.0, lr=0.05, support_weights=True, **TINY
    ),
    "neumf": lambda: conf_model(
        "neumf", gmf_dim=16, mlp_layers=(16, 8), lr=0.02, support_weights=True, **TINY
    ),
}


@pytest.mark.parametrize("name", sorted(WEIGHTED))
def test_weighted_models_rank_each_rows_high_values_first(name):
    rows = real_support()
    model = WEIGHTED[name]()
    model.epochs = 40
    ((_, fitted),) = model.candidates(rows)
    scores = fitted.scorer(sp.csr_matrix(rows))(np.arange(rows.shape[0]))
    high = rows >= 0.8
    # every row's three high-value items above the median of its background
    for r in range(rows.shape[0]):
        assert scores[r, high[r]].min() > np.median(scores[r, ~high[r]])


def test_a_row_without_positive_values_is_refused():
    rows = real_support()
    rows[2] = 0.0
    rows[3, 0] = 0.5
    with pytest.raises(InfrecError, match="model.support_weights: every support row"):
        TrainingPairs(rows, weighted=True)
