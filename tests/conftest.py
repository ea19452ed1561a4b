"""Shared fixtures: float64 mode, ML-100K fetched once, a tiny split with known rows.

Plain helper functions (config composition, builders, tiny data) are in ``tests/helpers.py``.
"""

from __future__ import annotations

import os
import shutil
import tempfile
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

XLA_CACHE = pytest.StashKey[str]()
"""The session's compilation-cache folder (``pytest_configure``)."""


def pytest_configure(config: pytest.Config) -> None:
    """One persistent XLA compilation cache for the session and every process it starts.

    Many tests build the same jitted computations afresh (a Distill-CF run's step is a new
    closure each run; the CLI tests start new processes), and compiling them again is most of
    their time on 2 cores. The cache is keyed by the computation, its options and the devices,
    so a hit is the same executable; it lives in a temporary folder removed at the end, so every
    session starts cold and no state outlives it."""
    folder = tempfile.mkdtemp(prefix="infrec-tests-xla-")
    config.stash[XLA_CACHE] = folder
    os.environ["JAX_COMPILATION_CACHE_DIR"] = folder
    os.environ["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"] = "0"
    jax.config.update("jax_compilation_cache_dir", folder)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)


def pytest_unconfigure(config: pytest.Config) -> None:
    folder = config.stash.get(XLA_CACHE, None)
    if folder:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(autouse=True)
def restore_x64():
    """Every test starts with JAX's 64-bit mode as the session had it and leaves it so.

    Building a model with ``dtype="float64"`` turns the mode on process-wide
    (``infrec.numerics.resolve_dtype``), and nothing turns it off: without this, a test's
    precision would depend on whether a float64 test happened to run before it."""
    before = bool(jax.config.jax_enable_x64)
    yield
    if bool(jax.config.jax_enable_x64) != before:
        jax.config.update("jax_enable_x64", before)


@pytest.fixture
def x64(restore_x64):
    """JAX's 64-bit mode for one test (``restore_x64`` turns it back afterwards)."""
    jax.config.update("jax_enable_x64", True)


@pytest.fixture(scope="session")
def ml100k_dir(tmp_path_factory) -> Path:
    """A folder holding the checksum-verified ``ml-100k.inter`` (repo copy, else fetched)."""
    return ml100k_folder(tmp_path_factory.mktemp("data") / "ml-100k")


def ml100k_folder(folder: Path) -> Path:
    """``folder`` with the checksum-verified ``ml-100k.inter`` in it: the checkout's copy
    (``data/``, which DVC tracks and git does not hold), else fetched from its pinned sources;
    if neither works, the test skips, or fails in CI (see ``missing``)."""
    spec = OmegaConf.load(config_dir() / "dataset" / "ml-100k.yaml").files[0]
    local = project_root() / "data" / "ml-100k" / "ml-100k.inter"
    if local.is_file() and sha256_file(local) == spec.sha256:
        folder.mkdir(parents=True)
        shutil.copy(local, folder / local.name)
        return folder
    try:
        fetch_file(spec, folder)
    except InfrecError as e:
        missing(f"ML-100K is not in data/ and could not be fetched: {e}")
    return folder


def missing(reason: str) -> None:
    """Skip for want of data, except in CI (``CI=true``), where a skip would hide the tests that
    need it: there the test fails with the reason."""
    if os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}:
        pytest.fail(f"{reason} (CI=true: data a test needs must be available in CI)", pytrace=False)
    pytest.skip(reason)


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
