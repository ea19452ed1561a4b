"""The paper's ML-1M split: ∞-AE and EASE reproduce the authors' numbers (needs ../shared)."""

import pytest

from infrec.apps.train import run
from tests.helpers import PAPER_SPLIT, compose_cfg, need

# the authors' ∞-AE code on this split, depth 1, λ grid {0, 1, 5, 20, 50, 100} (BRIEF.md)
INFINITE_AE = {
    "test/ndcg@10": (0.3339, 5e-4),
    "test/hr@10": (0.3191, 5e-4),
    "test/hr@100": (0.6091, 5e-4),
    "test/ndcg@100": (0.4333, 5e-4),
    "test/psp@10": (0.0329, 2e-4),
    "test/psp@100": (0.0668, 2e-4),
    "test/auc": (0.946, 5e-3),
}


def test_infinite_ae_matches_authors(tmp_path):
    cfg = compose_cfg(["dataset=ml-1m-paper", f"dataset.path={need(PAPER_SPLIT)}"], tmp_path)
    metrics = run(cfg, run_dir=tmp_path / "run")
    for key, (expected, tol) in INFINITE_AE.items():
        assert metrics[key] == pytest.approx(expected, abs=tol), key
    assert metrics["test/n_users"] == 6040


def test_ease_matches_brief(tmp_path):
    cfg = compose_cfg(
        ["dataset=ml-1m-paper", f"dataset.path={need(PAPER_SPLIT)}", "model=ease"], tmp_path
    )
    metrics = run(cfg, run_dir=tmp_path / "run")
    assert metrics["hp/lambda"] == 1000
    assert metrics["test/ndcg@10"] == pytest.approx(0.3407, abs=5e-4)
    assert metrics["test/hr@100"] == pytest.approx(0.5998, abs=5e-4)
