"""Shared fixtures: ../shared (skipped when absent), ML-100K fetched once, Hydra composition."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from infrec.data.fetch import fetch_file, sha256_file
from infrec.data.matrix import Split
from infrec.errors import InfrecError
from infrec.paths import config_dir, project_root

SHARED = project_root().parent / "shared"
PAPER_SPLIT = SHARED / "datasets" / "ml-1m-paper"
GOLDEN = SHARED / "fixtures" / "ntk_golden.npz"


def need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"{path} is not available (../shared is absent in this checkout)")
    return path


def compose_cfg(overrides: list[str], tmp_path: Path):
    """The app's config as Hydra composes it, with data/cache under ``tmp_path``."""
    with initialize_config_dir(str(config_dir()), version_base="1.3"):
        cfg = compose(
            "config",
            overrides=[
                f"paths.data_dir={tmp_path / 'data'}",
                f"paths.cache_dir={tmp_path / 'cache'}",
                *overrides,
            ],
        )
    return cfg


@pytest.fixture(scope="session")
def ml100k_dir(tmp_path_factory) -> Path:
    """A folder holding the checksum-verified ``ml-100k.inter`` (repo copy, else fetched)."""
    spec = OmegaConf.load(config_dir() / "dataset" / "ml-100k.yaml").files[0]
    folder = tmp_path_factory.mktemp("data") / "ml-100k"
    local = project_root() / "data" / "ml-100k" / "ml-100k.inter"
    if local.is_file() and sha256_file(local) == spec.sha256:
        folder.mkdir(parents=True)
        shutil.copy(local, folder / local.name)
        return folder
    try:
        fetch_file(spec, folder)
    except InfrecError as e:
        pytest.skip(f"ML-100K could not be fetched here: {e}")
    return folder


@pytest.fixture
def tiny_split() -> Split:
    """6 users × 8 items with known train/val/test rows (user 5 has no validation items)."""
    rng = np.random.default_rng(0)
    dense = (rng.random((6, 8)) < 0.5).astype(np.float32)
    dense[:, 0] = 1.0
    train = sp.csr_matrix(dense)
    val = sp.csr_matrix((6, 8), dtype=np.float32)
    test = sp.csr_matrix((6, 8), dtype=np.float32)
    free = 1.0 - dense
    val_rows = np.zeros((6, 8), np.float32)
    test_rows = np.zeros((6, 8), np.float32)
    for u in range(6):
        cols = np.flatnonzero(free[u])
        test_rows[u, cols[-1]] = 1.0
        if u < 5 and len(cols) > 1:
            val_rows[u, cols[0]] = 1.0
    val, test = sp.csr_matrix(val_rows), sp.csr_matrix(test_rows)
    return Split(train=train, val=val, test=test, name="tiny")
