import numpy as np
import pytest
import scipy.sparse as sp

from infrec.errors import InfrecError
from tests.helpers import conf_model, reference_ntk


def closed_form(support: np.ndarray, context: np.ndarray, lam: float, depth: int) -> np.ndarray:
    """X̂ = K_C (K + λ·tr(K)/n·I)⁻¹ X in float64, from the independent kernel."""
    k = reference_ntk(support, support, depth)[0]
    k_c = reference_ntk(context, support, depth)[0]
    reg = k + lam * np.trace(k) / len(k) * np.eye(len(k))
    return k_c @ np.linalg.solve(reg, support)


@pytest.fixture
def data():
    rng = np.random.default_rng(3)
    support = (rng.random((12, 20)) < 0.3).astype(np.float64)
    context = support + (rng.random((12, 20)) < 0.1) * (1 - support)
    return support, context


@pytest.mark.parametrize("depth", [1, 2])
def test_scores_match_closed_form(data, depth):
    support, context = data
    model = conf_model("infinite_ae", depth=depth, lambdas=[0.5, 5.0], dtype="float64")
    rows = np.arange(12)
    for (hp, fitted), lam in zip(model.candidates(sp.csr_matrix(support)), [0.5, 5.0], strict=True):
        assert hp == {"lambda": lam}
        # in-sample shortcut X − λ'α and the general path K_C α both equal the closed form
        in_sample = fitted.scorer(sp.csr_matrix(support))(rows)
        np.testing.assert_allclose(
            in_sample, closed_form(support, support, lam, depth), rtol=1e-8, atol=1e-10
        )
        other = fitted.scorer(sp.csr_matrix(context))(rows)
        np.testing.assert_allclose(
            other, closed_form(support, context, lam, depth), rtol=1e-8, atol=1e-10
        )
        scattered = np.array([7, 0, 5])  # not a run of rows: fancy indexing instead of slices
        np.testing.assert_array_equal(
            fitted.scorer(sp.csr_matrix(support))(scattered), in_sample[scattered]
        )


def test_sparse_gram_update_and_dense_context_paths_agree(data):
    """Few changed entries: the support Gram plus a sparse update; many: a CSR product; a
    dense context: a dense product. All three equal the closed form."""
    support, context = data
    ((_, fitted),) = conf_model("infinite_ae", lambdas=[2.0], dtype="float64").candidates(
        sp.csr_matrix(support)
    )
    few = support.copy()
    few[:4] = context[:4]  # a few users gain an item or two
    crowded = np.maximum(support, (np.arange(20) % 2 == 0)[None, :])  # half the items added
    cases = (
        (sp.csr_matrix(few), "updated"),
        (sp.csr_matrix(crowded), "sparse"),
        (crowded, "dense"),
    )
    for ctx, path in cases:
        assert fitted._context_gram(ctx).__name__ == path
        got = fitted.scorer(ctx)(np.arange(12))
        ctx = ctx.toarray() if sp.issparse(ctx) else ctx
        np.testing.assert_allclose(got, closed_form(support, ctx, 2.0, 1), rtol=1e-8, atol=1e-10)


def test_context_with_more_users_than_the_support(data):
    """A user-sample support (fewer rows than the context) scores through a dense Gram product."""
    support, context = data
    ((_, fitted),) = conf_model("infinite_ae", lambdas=[2.0], dtype="float64").candidates(
        sp.csr_matrix(support[:7])
    )
    got = fitted.scorer(sp.csr_matrix(context))(np.arange(12))
    np.testing.assert_allclose(
        got, closed_form(support[:7], context, 2.0, 1), rtol=1e-8, atol=1e-10
    )


def test_real_valued_support_fits(data):
    support, context = data
    soft = np.clip(support * 0.7 + 0.1, 0, 1)
    ((_, fitted),) = conf_model("infinite_ae", lambdas=[1.0], dtype="float64").candidates(soft)
    got = fitted.scorer(sp.csr_matrix(context))(np.arange(12))
    np.testing.assert_allclose(got, closed_form(soft, context, 1.0, 1), rtol=1e-8, atol=1e-10)


def test_lambda_zero_is_finite_with_duplicate_users(data):
    support, context = data
    dup = np.vstack([support, support[:3]])  # duplicate users make K singular
    ((_, fitted),) = conf_model("infinite_ae", lambdas=[0.0]).candidates(sp.csr_matrix(dup))
    in_sample = fitted.scorer(sp.csr_matrix(dup))(np.arange(len(dup)))
    np.testing.assert_array_equal(in_sample, dup.astype(np.float32))  # interpolation
    other = fitted.scorer(sp.csr_matrix(np.vstack([context, context[:3]])))(np.arange(len(dup)))
    assert np.all(np.isfinite(other))


def test_float32_by_default(data):
    ((_, fitted),) = conf_model("infinite_ae", lambdas=[1.0]).candidates(sp.csr_matrix(data[0]))
    assert fitted.scorer(sp.csr_matrix(data[1]))(np.arange(3)).dtype == np.float32


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"depth": 0}, "depth=0"),
        ({"depth": 1.5}, "model.depth=1.5: expected an integer"),
        ({"lambdas": [1, -2]}, r"λ must be ≥ 0, got \[-2.0\]"),
        ({"lambdas": []}, "empty"),
        ({"dtype": "float16"}, "float32 or float64"),
    ],
)
def test_bad_hyper_parameters(kwargs, message):
    with pytest.raises(InfrecError, match=message):
        conf_model("infinite_ae", **kwargs)


def test_a_distilled_support_keeps_its_lambda_at_its_depth():
    model = conf_model("infinite_ae", lambdas=[0.0, 1.0, 5.0])
    hinted = model.for_support({"infinite_ae": {"depth": 1, "lambda": 0.1}})
    assert hinted.lambdas == [0.1] and hinted.depth == 1 and hinted.dtype == model.dtype
    assert model.for_support({"infinite_ae": {"depth": 2, "lambda": 0.1}}) is model
    assert model.for_support({}) is model
    support = np.eye(3)
    assert [hp for hp, _ in hinted.candidates(support)] == [{"lambda": 0.1}]


def test_the_lambda_grid_computes_each_context_kernel_block_once(data, monkeypatch):
    """Validation of every λ on one context: the first λ computes a block's kernel rows, the
    others reuse them (same scores as without sharing); the test context, scored next by the
    chosen λ alone, is not kept."""
    from infrec.models import infinite_ae

    support, context = data
    calls = []
    real = infinite_ae.ntk_from_gram
    monkeypatch.setattr(
        infinite_ae, "ntk_from_gram", lambda g, *a, **kw: calls.append(len(g)) or real(g, *a, **kw)
    )
    model = conf_model("infinite_ae", lambdas=[0.5, 5.0, 50.0], dtype="float64")
    fitted = [f for _, f in model.candidates(sp.csr_matrix(support[:7]))]
    calls.clear()  # the support's own kernel
    val = sp.csr_matrix(context)
    blocks = (np.arange(6), np.arange(6, 12))
    scores = [[f.scorer(val)(rows) for rows in blocks] for f in fitted]
    assert calls == [6, 6]  # two blocks, once for all three λ
    for f, got in zip(fitted, scores, strict=True):
        lam = f.shift / f.scale
        want = closed_form(support[:7], context, lam, 1)
        np.testing.assert_allclose(np.vstack(got), want, rtol=1e-8, atol=1e-10)
    test = sp.csr_matrix(np.maximum(context, support))
    for _ in range(2):
        fitted[1].scorer(test)(blocks[0])
    assert calls == [6, 6, 6, 6]  # a second context: computed every time, nothing kept
    assert fitted[0].kernel_rows._blocks == {}


def test_kernel_rows_not_kept_for_test_after_in_sample_validation():
    """Validation scored in-sample (the full-data sampler) still counts as the grid's first
    context: the test context's kernel rows, scored by one λ, are not kept."""
    rng = np.random.default_rng(0)
    support = sp.csr_matrix((rng.random((12, 9)) < 0.4).astype(np.float32))
    model = conf_model("infinite_ae", lambdas=[1.0, 5.0])
    fitted = [f for _, f in model.candidates(support)]
    for f in fitted:
        f.scorer(support)(np.arange(12))  # in-sample validation: no kernel rows
    test = sp.csr_matrix(support + sp.csr_matrix(np.eye(12, 9, dtype=np.float32)))
    fitted[1].scorer(test)(np.arange(12))
    assert fitted[0].kernel_rows._blocks == {}
