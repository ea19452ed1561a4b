"""Shared fixtures: float64 mode, ML-100K fetched once, a tiny split with known rows.

Plain helper functions (config composition, builders, tiny data) are in ``tests/helpers.py``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import jax
import numpy as np
import pytest
import scipy.sparse as sp
from omegaconf import OmegaConf

from infrec.data.download import fetch_file, sha256_file
from infrec.data.matrix import Split
from infrec.errors import InfrecError
from infrec.paths import config_dir, project_root


@pytest.fixture
def x64():
    """JAX's 64-bit mode for one test; the previous setting is restored afterwards."""
    before = bool(jax.config.jax_enable_x64)
    jax.config.update("jax_enable_x64", True)
    yield
    jax.config.update("jax_enable_x64", before)


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
    free = 1.0 - dense
    val_rows = np.zeros((6, 8), np.float32)
    test_rows = np.zeros((6, 8), np.float32)
    for u in range(6):
        cols = np.flatnonzero(free[u])
        test_rows[u, cols[-1]] = 1.0
        if u < 5 and len(cols) > 1:
            val_rows[u, cols[0]] = 1.0
    return Split(
        train=train, val=sp.csr_matrix(val_rows), test=sp.csr_matrix(test_rows), name="tiny"
    )
