"""The reported test metrics are those of the λ chosen on validation, checked from outside the app:
the grid in ``details.json``, and the model refit at every λ and evaluated by hand."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from infrec.apps.train import run
from infrec.data.load import load_split
from tests.helpers import compose_cfg, reference_ntk

KS = (5, 10)
METRIC = "ndcg@10"


def three_tastes_csv(path) -> None:
    """90 users × 60 items: each user holds 8 items of one of three tastes and 3 random ones, so
    validation prefers a middle λ (neither memorising nor popularity) for EASE and ∞-AE."""
    rng = np.random.default_rng(0)
    lines = []
    for u in range(90):
        own = (u % 3) * 20 + rng.choice(20, size=8, replace=False)
        for i in sorted(set(own) | set(rng.choice(60, size=3, replace=False))):
            lines.append(f"{u},{i},1")
    path.write_text("\n".join(lines) + "\n")


def ease_scores(support: np.ndarray, context: np.ndarray, lam: float) -> np.ndarray:
    """Steck (2019): B = I − P diag(1/diag P), P = (XᵀX + λI)⁻¹, λ absolute; scores C B."""
    p = np.linalg.inv(support.T @ support + lam * np.eye(support.shape[1]))
    b = -p / np.diag(p)[None, :]
    np.fill_diagonal(b, 0.0)
    return context @ b


def infinite_ae_scores(support: np.ndarray, context: np.ndarray, lam: float) -> np.ndarray:
    """K_C (K + λ·tr(K)/n·I)⁻¹ X with the independent depth-1 NTK (the config's depth)."""
    k = reference_ntk(support, support, 1)[0]
    k_c = reference_ntk(context, support, 1)[0]
    return k_c @ np.linalg.solve(k + lam * np.trace(k) / len(k) * np.eye(len(k)), support)


SCORES = {"ease": ease_scores, "infinite_ae": infinite_ae_scores}


def hand_metrics(scores: np.ndarray, context: np.ndarray, targets: np.ndarray) -> dict:
    """hr, recall and nDCG at ``KS`` over users with targets, context items masked (the module
    docstring of ``infrec.evaluate``), one user at a time."""
    sums = {f"{m}@{k}": 0.0 for m in ("hr", "recall", "ndcg") for k in KS}
    users = np.flatnonzero(targets.sum(1) > 0)
    for u in users:
        s = np.where(context[u] > 0, -np.inf, scores[u])
        ranked = np.argsort(-s, kind="stable")
        held = set(np.flatnonzero(targets[u]))
        for k in KS:
            hits = [r for r, item in enumerate(ranked[:k]) if item in held]
            n = min(k, len(held))
            sums[f"hr@{k}"] += len(hits) / n
            sums[f"recall@{k}"] += len(hits) / len(held)
            ideal = sum(1 / math.log2(r + 2) for r in range(n))
            sums[f"ndcg@{k}"] += sum(1 / math.log2(r + 2) for r in hits) / ideal
    return {key: value / len(users) for key, value in sums.items()}


@pytest.mark.parametrize(
    ("model", "lambdas"),
    [("ease", [1000.0, 0.1, 10.0, 100.0, 300.0]), ("infinite_ae", [100.0, 0.3, 1.0, 3.0, 10.0])],
)
def test_test_metrics_come_from_the_lambda_chosen_on_validation(model, lambdas, tmp_path):
    three_tastes_csv(tmp_path / "r.csv")
    cfg = compose_cfg(
        [
            "dataset=custom",
            f"dataset.path={tmp_path / 'r.csv'}",
            f"eval.ks=[{KS[0]},{KS[1]}]",
            f"selection.metric=val/{METRIC}",
            f"model={model}",
            f"model.lambdas=[{','.join(map(str, lambdas))}]",
            "dtype=float64",
        ],
        tmp_path,
    )
    metrics = run(cfg, run_dir=tmp_path / "run")
    on_disk = json.loads((tmp_path / "run" / "metrics.json").read_text())
    details = json.loads((tmp_path / "run" / "details.json").read_text())
    assert on_disk == pytest.approx(metrics)
    assert details["selection"] == f"val/{METRIC}"

    split = load_split(cfg)
    train, val_rows, test_rows = (
        m.toarray().astype(np.float64) for m in (split.train, split.val, split.test)
    )
    context = train + val_rows

    # every grid point recorded in order, with its validation metrics as computed by hand
    grid = details["grid"]
    assert [g["hp"]["lambda"] for g in grid] == lambdas
    for g in grid:
        lam = g["hp"]["lambda"]
        by_hand = hand_metrics(SCORES[model](train, train, lam), train, val_rows)
        assert {k: g["val"][k] for k in by_hand} == pytest.approx(by_hand, rel=1e-9), lam

    # the λ reported is the argmax of validation over the grid
    val = [g["val"][METRIC] for g in grid]
    best = int(np.argmax(val))
    assert sorted(val)[-2] < val[best], "a tie would leave the choice to the order"
    assert best not in (0, len(grid) - 1), "the data must make a middle λ win (first/last differ)"
    assert on_disk["hp/lambda"] == lambdas[best]
    for key, value in grid[best]["val"].items():
        assert on_disk[f"val/{key}"] == pytest.approx(value, rel=1e-12), key

    # the test metrics are those of the model refit at that λ, evaluated independently, and of
    # no other λ of the grid
    hand = {
        lam: hand_metrics(SCORES[model](train, context, lam), context, test_rows) for lam in lambdas
    }
    for key, value in hand[lambdas[best]].items():
        assert on_disk[f"test/{key}"] == pytest.approx(value, rel=1e-9, abs=1e-12), key
    reported = {key: on_disk[f"test/{key}"] for key in hand[lambdas[best]]}
    matching = [lam for lam, got in hand.items() if got == pytest.approx(reported, rel=1e-9)]
    assert matching == [lambdas[best]]
