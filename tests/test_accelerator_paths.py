"""The accelerator paths, checked on the CPU: no GPU is needed to know they compute the same.

``infrec.linalg`` sends the dense algebra to NumPy/SciPy on the CPU and keeps it in JAX on an
accelerator; forcing its ``on_host`` to False runs the accelerator branch here (XLA:CPU), which must
give the host branch's answers. The memory budget reads a GPU's memory from JAX's device.
"""

import jax
import numpy as np
import pytest
import scipy.sparse as sp

from infrec import linalg, memory
from infrec.numerics import resolve_dtype
from tests.helpers import conf_model
from tests.models.test_infinite_ae import closed_form


@pytest.fixture
def on_accelerator(monkeypatch):
    monkeypatch.setattr(linalg, "on_host", lambda: False)


def test_the_accelerator_solve_matches_the_host_solve(on_accelerator):
    rng = np.random.default_rng(0)
    a = rng.random((30, 30))
    a = a @ a.T / 30
    b = rng.random((30, 6))
    dtype = resolve_dtype("float64")  # enables JAX's float64, as dtype=float64 does
    chol, used = linalg.stable_cholesky(linalg.asarray(a, dtype), 0.3, 1.0)
    assert isinstance(chol, jax.Array) and used == 0.3
    got = np.asarray(linalg.cho_solve(chol, b))
    np.testing.assert_allclose(got, np.linalg.solve(a + 0.3 * np.eye(30), b), rtol=1e-10)
    singular = np.outer(b[:, 0], b[:, 0])  # rank 1: the ridge ladder on the device too
    _, used = linalg.stable_cholesky(linalg.asarray(singular, dtype), 0.0, 1.0)
    assert used > 0


def test_infinite_ae_on_the_accelerator_path_matches_the_closed_form(on_accelerator):
    rng = np.random.default_rng(3)
    support = (rng.random((12, 20)) < 0.3).astype(np.float64)
    context = support + (rng.random((12, 20)) < 0.1) * (1 - support)
    model = conf_model("infinite_ae", depth=1, lambdas=[0.5, 5.0], dtype="float64")
    rows = np.arange(12)
    for (hp, fitted), lam in zip(model.candidates(sp.csr_matrix(support)), [0.5, 5.0], strict=True):
        assert isinstance(fitted.kernel, jax.Array)  # the kernel stayed on the device
        for c in (support, context):
            np.testing.assert_allclose(
                fitted.scorer(sp.csr_matrix(c))(rows),
                closed_form(support, c, hp["lambda"], 1),
                rtol=1e-8,
                atol=1e-10,
            )
        assert hp == {"lambda": lam}


class FakeGPU:
    def __init__(self, stats):
        self.stats = stats

    def memory_stats(self):
        return self.stats


@pytest.mark.parametrize(
    ("stats", "expected"), [({"bytes_limit": 2 * memory.GB}, 2.0), ({}, None), (None, None)]
)
def test_the_budget_is_the_accelerators_memory_when_smaller(monkeypatch, stats, expected):
    monkeypatch.setattr(jax, "default_backend", lambda: "gpu")
    monkeypatch.setattr(jax, "devices", lambda: [FakeGPU(stats)])
    assert memory.device_gb() == expected
    budget = memory.budget_gb(None)
    assert budget == (memory.machine_gb() if expected is None else min(expected, budget))
    assert memory.budget_gb(7) == 7  # runtime.memory_gb, when set, is the budget
    if expected is not None:
        with pytest.raises(Exception, match=r"above the accelerator's memory \(2\.00 GB\)"):
            memory.check([memory.Need("kernel", (40_000, 40_000))], None, "∞-AE", "lower it")


def test_on_the_cpu_the_budget_is_the_machines_memory():
    assert jax.default_backend() == "cpu"
    assert memory.device_gb() is None
    assert memory.budget_gb(None) == memory.machine_gb()
