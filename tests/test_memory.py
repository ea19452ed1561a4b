"""The memory plan: each model's arrays from the support's shape, and the up-front error."""

import tracemalloc

import numpy as np
import pytest
import scipy.sparse as sp

from infrec import memory, sparse
from infrec.apps.train import run
from infrec.errors import InfrecError
from infrec.models import infinite_ae
from infrec.threads import host_threads
from tests.helpers import compose_cfg, conf_model


def test_exact_infinite_ae_plan_grows_with_support_users_squared():
    model = conf_model("infinite_ae", lambdas=[5.0])
    small = sum(n.bytes for n in model.memory(sp.csr_matrix((1_000, 17_770)), 2048))
    large = sum(n.bytes for n in model.memory(sp.csr_matrix((25_000, 17_770)), 2048))
    kernels = [
        n for n in model.memory(sp.csr_matrix((25_000, 17_770)), 2048) if "kernel, Gram" in n.name
    ]
    assert kernels[0].bytes == 3 * 25_000**2 * 4  # kernel, Gram matrix and Cholesky factor
    assert large > 25 * small  # users² terms take over from users × items ones
    grid = conf_model("infinite_ae", lambdas=[1.0, 5.0])  # validation kernel rows shared by λ
    extra = sum(n.bytes for n in grid.memory(sp.csr_matrix((1_000, 17_770)), 2048)) - small
    assert extra == infinite_ae.KERNEL_CACHE_BYTES


def test_nystrom_plan_depends_on_landmarks_not_users():
    """Under sampler=full (the support is the train matrix) the plan follows model.landmarks;
    with a sampled support it follows the support's users."""
    model = conf_model("infinite_ae", solver="nystrom", landmarks=5_000, lambdas=[5.0])
    plans = []
    for users in (60_000, 480_189):
        train = sp.csr_matrix((users, 17_770), dtype=np.float32)
        full = model.with_targets(train)
        plans.append(sum(n.bytes for n in full.memory(train, 2048)))
    assert plans[0] == plans[1]
    sampled = model.with_targets(sp.csr_matrix((480_189, 17_770), dtype=np.float32))
    small = sum(n.bytes for n in sampled.memory(sp.csr_matrix((500, 17_770)), 2048))
    assert small < plans[0] / 5


def test_nystrom_plan_covers_what_its_fit_allocates():
    """The host arrays a Nyström fit holds at its peak (tracemalloc sees NumPy's buffers: the
    float64 accumulations, the solve's copy, β) stay inside the plan, which is not far above."""
    rng = np.random.default_rng(0)
    train = sp.random(4_000, 6_000, density=0.01, format="csr", dtype=np.float32, rng=rng)
    train.data[:] = 1.0
    model = conf_model(
        "infinite_ae", solver="nystrom", landmarks=500, lambdas=[5.0], block_rows=256
    )
    model = model.with_targets(train)
    plan = memory.total_gb(model.memory(train, 256)) * memory.GB
    tracemalloc.start()
    try:
        _, fitted = next(iter(model.candidates(train)))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert fitted.alpha.shape == (500, 6_000)
    assert plan / 2 < peak <= plan


def test_plan_counts_the_larger_of_two_phases_that_never_coexist():
    needs = [
        memory.Need("held", (10,), 1),
        memory.Need("fit's own", (30,), 1, memory.FIT),
        memory.Need("scores", (20,), 1, memory.SCORE),
        memory.Need("scoring kernel", (15,), 1, memory.SCORE),
    ]
    assert memory.total_gb(needs) * memory.GB == 10 + 35
    assert memory.total_gb(needs[:2]) * memory.GB == 40


def test_nystrom_accumulations_are_counted_beside_scoring_only_for_a_lambda_grid():
    """One λ: the accumulations are freed before scoring, so on the (b) shapes the plan leaves
    out the scoring phase (smaller than the fit's); a grid scores its earlier λ beside them."""
    train = sp.csr_matrix((480_189, 17_770), dtype=np.float32)
    for lambdas in ([5.0], [1.0, 5.0]):
        model = conf_model("infinite_ae", solver="nystrom", landmarks=5_000, lambdas=lambdas)
        needs = model.with_targets(train).memory(train, 8192)
        needs += memory.evaluation_needs(8192, 480_189, 17_770, 0)
        accumulations = [n for n in needs if n.name.startswith(("K_nmᵀK_nm", "K_nmᵀX"))]
        assert {n.phase for n in accumulations} == {memory.FIT if len(lambdas) == 1 else ""}
        if len(lambdas) == 1:
            left_out = sum(n.bytes for n in needs) - memory.total_gb(needs) * memory.GB
            # the evaluation block (14 B an entry) and the scoring kernel block
            assert left_out == pytest.approx(8192 * 17_770 * 14 + 8192 * 5_000 * 4)


def test_ease_on_sparse_rows_plans_items_squared_not_users():
    """A sparse support's item Gram comes from the sparse rows: no dense users × items copy."""
    model = conf_model("ease")
    plans = [
        sum(n.bytes for n in model.memory(sp.csr_matrix((users, 17_770)), 2048))
        for users in (6_040, 480_189)
    ]
    assert plans[0] == plans[1]
    assert plans[0] == 6 * 17_770**2 * 4 + sparse.GRAM_BLOCK_BYTES * host_threads()
    dense = sum(n.bytes for n in model.memory(np.zeros((480_189, 1)), 2048))
    assert dense >= 480_189 * 4


def test_check_names_the_largest_array_and_the_fix():
    needs = [
        memory.Need("small thing", (10, 10)),
        memory.Need("support kernel", (100_000, 100_000)),
    ]
    with pytest.raises(InfrecError) as err:
        memory.check(needs, 8, "model=infinite_ae on 100,000 support users", "lower sampler.budget")
    message = str(err.value)
    assert "above runtime.memory_gb (8.00 GB)" in message
    assert "support kernel (100,000 × 100,000 × 4 B = 37.3 GB)" in message
    assert message.endswith("lower sampler.budget")


def test_budget_must_be_positive():
    with pytest.raises(InfrecError, match=r"runtime.memory_gb=0: give a size in GB > 0"):
        memory.budget_gb(0)


def test_a_run_that_cannot_fit_stops_before_fitting(ml100k_dir, tmp_path):
    budget = memory.resident_gb() + 0.05  # what this process holds, and 50 MB more
    cfg = compose_cfg(
        [f"dataset.path={ml100k_dir}", "model=ease", f"runtime.memory_gb={budget:.3f}"], tmp_path
    )
    with pytest.raises(InfrecError, match=r"model=ease on 943 support users × 1,682 items needs"):
        run(cfg, run_dir=tmp_path / "run")
    assert not (tmp_path / "run" / "metrics.json").exists()


def test_block_users_follow_the_budget():
    """The largest power of two whose block-sized arrays fit a quarter of the headroom."""
    held = memory.resident_gb()

    def plan(block: int) -> list[memory.Need]:
        return [memory.Need("fixed", (2**28,), 1), memory.Need("block", (block, 2**16), 4)]

    assert memory.choose_block_users(plan, held + 1000) == 8192
    # 1 GiB of headroom beyond the fixed 256 MiB: a quarter of it holds 1,024 rows of 256 KiB
    assert memory.choose_block_users(plan, held + 0.25 + 1 + 256 * 2**18 / 2**30) == 1024
    assert memory.choose_block_users(plan, held) == 256  # no headroom: the smallest
