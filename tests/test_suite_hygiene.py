"""The test suite's own guarantees: no global state carried from one test to the next, and no
silent skips in CI."""

from __future__ import annotations

import textwrap

import jax
import pytest

from infrec.errors import InfrecError
from tests import conftest

PROBE = textwrap.dedent(
    """
    import jax
    import jax.numpy as jnp

    from tests.helpers import conf_model


    def test_1_builds_a_float64_model():
        conf_model("ease", lambdas=[1.0], dtype="float64")
        assert jax.config.jax_enable_x64  # resolve_dtype turns 64-bit mode on process-wide


    def test_2_float32_default_after_it():
        assert not jax.config.jax_enable_x64
        assert jnp.asarray(1.0).dtype == jnp.float32
    """
)


def run_probe(folder, conftest_text: str) -> int:
    """Exit code of a pytest session over ``PROBE`` with ``conftest_text``, from 32-bit mode (the
    outer test's ``restore_x64`` restores whatever the inner session leaves)."""
    jax.config.update("jax_enable_x64", False)
    folder.mkdir()
    (folder / "conftest.py").write_text(conftest_text)
    (folder / "test_probe.py").write_text(PROBE)
    (folder / "pytest.ini").write_text("[pytest]\n")
    args = ["-q", "-p", "no:cacheprovider", "--import-mode=importlib", "--rootdir", str(folder)]
    return int(pytest.main([str(folder), *args, "-c", str(folder / "pytest.ini")]))


def test_a_float64_model_leaves_no_64_bit_mode_to_the_next_test(tmp_path):
    """Without ``restore_x64`` the second test sees 64-bit mode left on by the first (the leak
    was real); with it, each test gets the session's setting back."""
    assert run_probe(tmp_path / "bare", "") == pytest.ExitCode.TESTS_FAILED
    fixture = "from tests.conftest import restore_x64  # noqa: F401\n"
    assert run_probe(tmp_path / "isolated", fixture) == pytest.ExitCode.OK


@pytest.fixture
def no_ml100k(tmp_path, monkeypatch):
    """No checkout copy of ML-100K and no source that works."""

    def unreachable(spec, folder):
        raise InfrecError(f"{folder / spec.name}: could not fetch (network down)")

    monkeypatch.setattr(conftest, "project_root", lambda: tmp_path / "checkout")
    monkeypatch.setattr(conftest, "fetch_file", unreachable)
    return tmp_path / "data" / "ml-100k"


@pytest.mark.parametrize("ci", ["true", "1"])
def test_missing_ml100k_fails_in_ci(no_ml100k, monkeypatch, ci):
    monkeypatch.setenv("CI", ci)
    with pytest.raises(pytest.fail.Exception, match=r"could not fetch \(network down\).*CI=true"):
        conftest.ml100k_folder(no_ml100k)


@pytest.mark.parametrize("ci", [None, "", "false"])
def test_missing_ml100k_skips_with_the_reason_outside_ci(no_ml100k, monkeypatch, ci):
    if ci is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", ci)
    with pytest.raises(pytest.skip.Exception, match=r"ML-100K .* could not fetch \(network down\)"):
        conftest.ml100k_folder(no_ml100k)
