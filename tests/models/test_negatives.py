"""Sampled negatives: never a user's own item, uniform over the items the user lacks, seeded."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from infrec.models.negatives import pairs, sample_negatives


def test_negatives_avoid_positives_and_are_uniform_over_the_rest():
    rng = np.random.default_rng(0)
    dense = rng.random((200, 30)) < 0.5
    dense[0] = True
    dense[0, [3, 7]] = False  # a user lacking only two items: most first draws collide
    m = sp.csr_matrix(dense, dtype=np.float32)
    users, _ = pairs(m)
    neg = sample_negatives(m, users, 4, np.random.default_rng(1), rounds=300)
    assert neg.shape == (len(users), 4)
    assert not dense[users[:, None], neg].any()
    heavy = neg[users == 0].ravel()
    assert set(heavy) == {3, 7}
    assert abs(np.mean(heavy == 3) - 0.5) < 0.1  # uniform between the two
    again = sample_negatives(m, users, 4, np.random.default_rng(1), rounds=300)
    assert np.array_equal(neg, again)


def test_a_user_with_every_item_keeps_a_collision_after_the_rounds():
    m = sp.csr_matrix(np.ones((1, 5), np.float32))
    users, _ = pairs(m)
    neg = sample_negatives(m, users, 2, np.random.default_rng(0), rounds=3)
    assert neg.shape == (5, 2) and neg.min() >= 0 and neg.max() < 5
