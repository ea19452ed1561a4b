import jax.numpy as jnp
import numpy as np
import pytest

from infrec.errors import InfrecError
from infrec.kernels import ntk, ntk_nngp
from infrec.kernels.ntk import arccos, ntk_from_gram
from tests.helpers import GOLDEN, need, reference_ntk


@pytest.mark.parametrize("depth", [1, 2, 3, 4])
def test_golden_neural_tangents(depth, x64):
    z = np.load(need(GOLDEN))
    x1, x2 = z["x1"].astype(np.float64), z["x2"].astype(np.float64)
    got_ntk, got_nngp = ntk_nngp(x1, x2, depth)
    for got, key in [
        (got_ntk, f"ntk_d{depth}"),
        (got_nngp, f"nngp_d{depth}"),
        (ntk(x1, x1, depth), f"ntk_self_d{depth}"),
        (ntk(x1, x2, depth, block_rows=2), f"ntk_d{depth}"),
    ]:
        np.testing.assert_allclose(np.asarray(got), z[key], rtol=1e-10, atol=0)


@pytest.mark.parametrize("depth", [1, 3])
def test_matches_independent_implementation(depth, x64):
    rng = np.random.default_rng(depth)
    x1 = (rng.random((7, 30)) < 0.3).astype(np.float64)
    x2 = rng.random((5, 30))  # real-valued rows, as Distill-CF produces
    theta, nngp = reference_ntk(x1, x2, depth)
    got_theta, got_nngp = ntk_nngp(x1, x2, depth)
    np.testing.assert_allclose(np.asarray(got_theta), theta, rtol=1e-12)
    np.testing.assert_allclose(np.asarray(got_nngp), nngp, rtol=1e-12)


def test_float32_default_and_blocking_agree():
    rng = np.random.default_rng(0)
    x = (rng.random((50, 40)) < 0.2).astype(np.float32)
    full = np.asarray(ntk(x, x, 2))
    blocked = np.asarray(ntk(x, x[:], 2, block_rows=16))
    assert full.dtype == np.float32
    np.testing.assert_allclose(blocked, full, rtol=1e-5)
    np.testing.assert_allclose(full, full.T, rtol=1e-6)
    assert np.all(np.linalg.eigvalsh(full.astype(np.float64)) > -1e-3)


def test_float32_arccos_is_as_accurate_as_jnp_arccos():
    ends = np.logspace(-7, 0, 2001)
    x = np.concatenate([np.linspace(-1, 1, 20001), 1 - ends, ends - 1]).astype(np.float32)
    exact = np.arccos(x.astype(np.float64))
    got = np.asarray(arccos(jnp.asarray(x)))
    assert got.dtype == np.float32
    assert np.abs(got - exact).max() < 5e-7  # jnp.arccos: 2.7e-7; one float32 ulp at π: 2.4e-7
    assert float(arccos(jnp.float32(1.0))) == 0.0
    assert float(arccos(jnp.float32(-1.0))) == np.float32(np.pi)


def test_float32_ntk_matches_the_float64_reference():
    rng = np.random.default_rng(3)
    x1 = (rng.random((40, 60)) < 0.2).astype(np.float32)
    x2 = rng.random((9, 60)).astype(np.float32)
    theta, _ = reference_ntk(x1.astype(np.float64), x2.astype(np.float64), 2)
    np.testing.assert_allclose(np.asarray(ntk(x1, x2, 2)), theta, rtol=2e-6)


def test_ntk_from_gram_equals_ntk_when_stitched_from_blocks(x64):
    rng = np.random.default_rng(4)
    x1, x2 = rng.random((11, 6)), rng.random((5, 6))
    got = ntk_from_gram(x1 @ x2.T, (x1 * x1).sum(1), (x2 * x2).sum(1), 2, n0=6, block_rows=4)
    np.testing.assert_allclose(np.asarray(got), np.asarray(ntk(x1, x2, 2)), rtol=1e-12)


def test_identical_rows_have_exact_diagonal(x64):
    x = np.ones((2, 10))
    theta = np.asarray(ntk(x, x, 3))
    assert theta[0, 1] == theta[0, 0]


def test_bad_depth_and_shapes():
    with pytest.raises(InfrecError, match="depth=0"):
        ntk(np.ones((2, 3)), np.ones((2, 3)), 0)
    with pytest.raises(InfrecError, match="equal widths"):
        ntk(np.ones((2, 3)), np.ones((2, 4)), 1)
