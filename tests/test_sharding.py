"""Four devices give the metrics one device gives: ∞-AE (exact, Nyström) and Distill-CF steps,
each in a fresh process with ``XLA_FLAGS=--xla_force_host_platform_device_count``."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np

from infrec.paths import project_root


def probe(devices: int) -> dict:
    env = {**os.environ, "JAX_PLATFORMS": "cpu"}
    env["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={devices}"
    done = subprocess.run(
        [sys.executable, "-m", "tests.sharding_probe"],
        cwd=project_root(),
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_four_devices_match_one():
    one, four = probe(1), probe(4)
    assert one["devices"] == 1 and four["devices"] == 4
    for solver in ("exact", "nystrom"):
        for metric, value in one[solver].items():
            np.testing.assert_allclose(four[solver][metric], value, rtol=1e-4, err_msg=solver)
    assert len(one["distill_losses"]) == 3
    np.testing.assert_allclose(four["distill_losses"], one["distill_losses"], rtol=1e-4)
