import math

import numpy as np
import pytest
import scipy.sparse as sp

from infrec import evaluate as evaluate_module
from infrec.errors import InfrecError
from infrec.evaluate import EvalTask, evaluate, pooled_auc, psp_weights


def hand_task(**kwargs):
    context = sp.csr_matrix(np.array([[1, 0, 0, 0, 0], [0, 1, 0, 0, 0]], np.float32))
    targets = sp.csr_matrix(np.array([[0, 1, 0, 1, 0], [0, 0, 0, 0, 0]], np.float32))
    weights = np.array([1.0, 2.0, 1.0, 4.0, 1.0])
    return EvalTask.build(context, targets, context + targets, weights, ks=[1, 3], **kwargs)


def test_hand_computed_metrics():
    scores = np.array([[9.0, 5.0, 4.0, 3.0, 1.0], [1.0, 2.0, 3.0, 4.0, 5.0]])
    m = evaluate(lambda rows: scores[rows], hand_task())
    # ranking of user 0 after masking item 0: 1, 2, 3, 4; targets {1, 3}
    assert m["hr@1"] == 1.0 and m["recall@1"] == 0.5 and m["ndcg@1"] == 1.0
    assert m["hr@3"] == 1.0 and m["recall@3"] == 1.0
    assert m["ndcg@3"] == pytest.approx((1 + 1 / 2) / (1 + 1 / math.log2(3)))
    assert m["psp@1"] == pytest.approx((2 / 1) / 4)
    assert m["psp@3"] == pytest.approx(((2 + 4) / 2) / (4 + 2))
    # negatives are items 2 and 4 (never interacted): pairs (5,4) (5,1) (3,4) (3,1)
    assert m["auc"] == pytest.approx(3 / 4)
    assert m["n_users"] == 1 and m["n_users_skipped"] == 1


def test_masking_and_truncation():
    # the masked item has the top score; a user with more targets than k is scored over min(k, n)
    scores = np.array([[9.0, 1.0, 2.0, 8.0, 7.0]])
    context = sp.csr_matrix(np.array([[1, 0, 0, 0, 0]], np.float32))
    targets = sp.csr_matrix(np.array([[0, 1, 1, 1, 1]], np.float32))
    task = EvalTask.build(context, targets, context + targets, np.ones(5), ks=[2])
    m = evaluate(lambda rows: scores[rows], task)
    assert m["hr@2"] == 1.0 and m["recall@2"] == 0.5 and m["ndcg@2"] == pytest.approx(1.0)


def test_blocks_do_not_change_results():
    rng = np.random.default_rng(0)
    train = sp.csr_matrix((rng.random((30, 40)) < 0.2).astype(np.float32))
    targets = sp.csr_matrix(
        ((rng.random((30, 40)) < 0.1) & (train.toarray() == 0)).astype(np.float32)
    )
    scores = rng.random((30, 40))
    w = psp_weights(np.asarray(train.sum(0)).ravel())
    args = (train, targets, train + targets, w)
    one = evaluate(lambda r: scores[r], EvalTask.build(*args, ks=[5, 10], block_users=64))
    many = evaluate(lambda r: scores[r], EvalTask.build(*args, ks=[5, 10], block_users=7))
    assert one.keys() == many.keys()
    for key in one:  # negatives (so the AUC too) are drawn in chunks that ignore the blocks
        assert one[key] == pytest.approx(many[key])


def test_ranking_chunks_and_threads_do_not_change_results(monkeypatch):
    """Ranking chunks cut across blocks at any offset; on any number of threads the sums are
    the same to the bit (added in chunk order)."""
    rng = np.random.default_rng(1)
    train = sp.csr_matrix((rng.random((50, 30)) < 0.2).astype(np.float32))
    targets = sp.csr_matrix(
        ((rng.random((50, 30)) < 0.15) & (train.toarray() == 0)).astype(np.float32)
    )
    scores = rng.random((50, 30))
    args = (train, targets, train + targets, psp_weights(np.asarray(train.sum(0)).ravel()))
    task = EvalTask.build(*args, ks=[5, 10], block_users=7)
    whole = evaluate(lambda r: scores[r], task)  # one chunk per block
    monkeypatch.setattr(evaluate_module, "RANK_ROWS", 3)
    runs = []
    for threads in (1, 3):
        monkeypatch.setattr(evaluate_module, "host_threads", lambda n=threads: n)
        runs.append(evaluate(lambda r: scores[r], task))
    assert runs[0] == runs[1]
    assert runs[0].keys() == whole.keys()
    for key in whole:
        assert runs[0][key] == pytest.approx(whole[key])


def test_psp_weights_formula():
    counts = np.array([0, 1, 10])
    c = (math.log(11) - 1) * 2.5**0.55
    expected = [1 + c * (n + 1.5) ** -0.55 for n in counts]
    np.testing.assert_allclose(psp_weights(counts), expected)


def test_pooled_auc_ties_count_half():
    assert pooled_auc(np.array([1.0]), np.array([1.0])) == 0.5
    assert pooled_auc(np.array([2.0, 0.0]), np.array([1.0])) == 0.5


def test_pooled_auc_matches_rank_sum_statistic():
    from scipy.stats import mannwhitneyu

    rng = np.random.default_rng(3)
    pos = rng.integers(0, 20, 300).astype(float)  # many ties, within and across the groups
    neg = rng.integers(0, 15, 700).astype(float)
    u = mannwhitneyu(pos, neg, method="asymptotic").statistic
    assert pooled_auc(pos, neg) == pytest.approx(u / (len(pos) * len(neg)), rel=1e-12)


def test_k_larger_than_items():
    with pytest.raises(InfrecError, match=r"eval.ks=\[10\].*item count \(5\)"):
        EvalTask.build(
            sp.csr_matrix((1, 5)), sp.csr_matrix((1, 5)), sp.csr_matrix((1, 5)), np.ones(5), ks=[10]
        )


def test_non_finite_scores_are_an_error():
    with pytest.raises(InfrecError, match="non-finite scores"):
        evaluate(lambda rows: np.full((len(rows), 5), np.nan), hand_task())


def random_task_parts(n_users=200, n_items=40, seed=0):
    rng = np.random.default_rng(seed)
    context = sp.csr_matrix((rng.random((n_users, n_items)) < 0.2).astype(np.float32))
    targets = sp.csr_matrix(
        ((rng.random((n_users, n_items)) < 0.1) & (context.toarray() == 0)).astype(np.float32)
    )
    targets[::7] = 0  # some users without targets
    targets.eliminate_zeros()
    scores = rng.random((n_users, n_items))
    return context, targets, scores


@pytest.mark.parametrize("sample", [50, 0.25])
def test_eval_users_sample_equals_evaluating_those_users_alone(sample):
    """A sample's ranking metrics are the metrics of its users alone, and it is seeded."""
    context, targets, scores = random_task_parts()
    weights = np.ones(40)
    task = EvalTask.build(context, targets, context + targets, weights, ks=[5], users=sample)
    eligible = int((np.diff(targets.indptr) > 0).sum())
    n = 50 if sample == 50 else round(0.25 * eligible)
    assert len(task.users) == n and np.all(np.diff(targets[task.users].indptr) > 0)
    again = EvalTask.build(context, targets, context + targets, weights, ks=[5], users=sample)
    np.testing.assert_array_equal(task.users, again.users)
    alone = sp.lil_matrix(targets.shape, dtype=np.float32)
    alone[task.users] = targets[task.users]
    only = EvalTask.build(context, alone.tocsr(), context + targets, weights, ks=[5])
    m, ref = evaluate(lambda r: scores[r], task), evaluate(lambda r: scores[r], only)
    for key in ("hr@5", "ndcg@5", "recall@5", "psp@5"):
        assert m[key] == pytest.approx(ref[key])
    assert m["n_users"] == n and m["n_users_sampled_from"] == eligible
    assert m["n_users_skipped"] == 200 - eligible  # users without targets, not the unsampled


def test_eval_users_all_or_more_is_everyone():
    context, targets, _ = random_task_parts()
    full = EvalTask.build(context, targets, context + targets, np.ones(40), ks=[5])
    for sample in (None, 1.0, 10_000):
        task = EvalTask.build(
            context, targets, context + targets, np.ones(40), ks=[5], users=sample
        )
        np.testing.assert_array_equal(task.users, full.users)


@pytest.mark.parametrize("sample", [0, -3, 2.5])
def test_eval_users_bad_values(sample):
    context, targets, _ = random_task_parts()
    with pytest.raises(InfrecError, match=r"eval.users=.*a user count ≥ 1, a share in \(0, 1\)"):
        EvalTask.build(context, targets, context + targets, np.ones(40), users=sample)
