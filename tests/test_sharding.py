"""Four devices give the metrics one device gives: ∞-AE (exact, Nyström) and Distill-CF steps,
each in a fresh process with ``XLA_FLAGS=--xla_force_host_platform_device_count``; and so do two
processes of two devices each joined by ``jax.distributed`` (the multi-host path, on one host)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import numpy as np
import pytest

from infrec.paths import project_root


def probe_env(devices: int) -> dict:
    env = {**os.environ, "JAX_PLATFORMS": "cpu"}
    env["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={devices}"
    return env


def side_by_side(runs: list[tuple[list[str], int]]) -> list[dict]:
    """Each ``(arguments of tests.sharding_probe, devices)`` run as its own process, all at once
    (each is mostly start-up and compilation on one core); their JSON results in order."""
    jobs = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.sharding_probe", *args],
            cwd=project_root(),
            env=probe_env(devices),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for args, devices in runs
    ]
    try:
        outs = [job.communicate(timeout=600) for job in jobs]
    finally:
        for job in jobs:
            job.kill()
    for job, (_, err) in zip(jobs, outs, strict=True):
        assert job.returncode == 0, err[-3000:]
    return [json.loads(out.strip().splitlines()[-1]) for out, _ in outs]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


def test_four_devices_match_one():
    one, four = side_by_side([([], 1), ([], 4)])
    assert one["devices"] == 1 and four["devices"] == 4
    for solver in ("exact", "nystrom"):
        for metric, value in one[solver].items():
            np.testing.assert_allclose(four[solver][metric], value, rtol=1e-4, err_msg=solver)
    assert len(one["distill_losses"]) == 3
    np.testing.assert_allclose(four["distill_losses"], one["distill_losses"], rtol=1e-4)


@pytest.mark.slow  # ~50-90 s: two JAX processes; the 4-device mesh is in the default suite
def test_two_processes_match_one():
    """``jax.distributed`` on one host: two processes of two CPU devices, one four-device mesh;
    both processes see the one-device metrics and losses."""
    coordinator = f"localhost:{free_port()}"
    one, *results = side_by_side([([], 1)] + [([coordinator, "2", str(i)], 2) for i in range(2)])
    assert [r["process"] for r in results] == [0, 1]
    for result in results:
        assert result["devices"] == 4
        for solver in ("exact", "nystrom"):
            for metric, value in one[solver].items():
                np.testing.assert_allclose(result[solver][metric], value, rtol=1e-4)
        np.testing.assert_allclose(result["distill_losses"], one["distill_losses"], rtol=1e-4)


def test_distributed_settings_are_checked_before_jax_starts():
    from infrec.errors import InfrecError
    from infrec.sharding import initialize

    initialize(False, None, None, None)  # one process: nothing to do
    with pytest.raises(InfrecError, match=r"runtime.distributed is false; add runtime.distrib"):
        initialize(False, "localhost:1234", 2, 0)
    with pytest.raises(InfrecError, match=r"give runtime.coordinator, runtime.processes and"):
        initialize(True, "localhost:1234", None, 0)
