"""What a user's mistakes and odd data get: one line naming the file, row or key and the fix —
or a run that works when it should — and files that are safe to share."""

from __future__ import annotations

import gzip
import json
import math
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import scipy.sparse as sp

from infrec.apps.train import run
from infrec.data.matrix import Split
from infrec.errors import InfrecError
from infrec.evaluate import EvalTask, evaluate, psp_weights
from infrec.paths import ABANDONED_AFTER_S, TMP_TAG, write_json
from infrec.samplers.base import resolve_budget
from tests.helpers import compose_cfg, tiny_csv


def custom(path, *overrides):
    return ["dataset=custom", f"dataset.path={path}", "dataset.string_ids=false", *overrides]


def test_a_gzip_file_is_read_transparently(tmp_path):
    tiny_csv(tmp_path / "r.csv")
    (tmp_path / "r.csv.gz").write_bytes(gzip.compress((tmp_path / "r.csv").read_bytes()))
    plain = run(compose_cfg(custom(tmp_path / "r.csv"), tmp_path / "a"), tmp_path / "a" / "run")
    packed = run(compose_cfg(custom(tmp_path / "r.csv.gz"), tmp_path / "b"), tmp_path / "b" / "run")
    assert packed["test/hr@10"] == plain["test/hr@10"]


@pytest.mark.parametrize(
    ("content", "overrides", "message"),
    [
        (b"1,2,5\n\x89PNG\x00\xff\n", [], r"r.csv:2: not UTF-8 text \(byte 0x89"),
        (b"1,2,5\n3,4,nan\n", [], r"r.csv:2: rating nan is not a finite number"),
        (b"1,2,5\n", ["dataset.sep=''"], "dataset.sep is empty"),
        (b"", [], r"r.csv: no interactions \(an empty file\?\)"),
        (b"\x1f\x8bnot really gzip", [], "a damaged gzip file"),
    ],
)
def test_bad_files_name_file_and_line(content, overrides, message, tmp_path):
    (tmp_path / "r.csv").write_bytes(content)
    cfg = compose_cfg(custom(tmp_path / "r.csv", *overrides), tmp_path)
    with pytest.raises(InfrecError, match=message):
        run(cfg, tmp_path / "run")
    assert not (tmp_path / "run").exists()


def test_a_float_budget_above_one_is_refused():
    with pytest.raises(InfrecError, match=r"sampler.budget=2.0: a float is a share in \(0, 1\]"):
        resolve_budget(2.0, 100)


def test_a_small_catalogue_runs_with_the_default_cut_offs(tmp_path, caplog):
    tiny_csv(tmp_path / "r.csv")  # 40 items: k = 100 is dropped, selection uses k = 10
    metrics = run(compose_cfg(custom(tmp_path / "r.csv"), tmp_path), tmp_path / "run")
    assert "dropping [100]" in caplog.text and "choosing on hr@10" in caplog.text
    assert "test/hr@10" in metrics and not any("@100" in k for k in metrics)


def no_validation_split() -> Split:
    rng = np.random.default_rng(0)
    train = sp.csr_matrix((rng.random((20, 15)) < 0.4).astype(np.float32))
    test = sp.csr_matrix(np.eye(20, 15, dtype=np.float32))
    return Split(train - train.multiply(test), sp.csr_matrix((20, 15), dtype=np.float32), test)


def test_no_validation_targets_never_writes_nan(tmp_path, monkeypatch):
    import infrec.apps.train as app

    monkeypatch.setattr(app, "load_split", lambda cfg: no_validation_split())
    with pytest.raises(InfrecError, match="validation has no users with held-out items"):
        run(
            compose_cfg(
                ["model.lambdas=[1,5]", "eval.ks=[5]", "selection.metric=val/hr@5"], tmp_path
            ),
            tmp_path / "a",
        )
    metrics = run(
        compose_cfg(["model.lambdas=[1]", "eval.ks=[5]", "selection.metric=val/hr@5"], tmp_path),
        tmp_path / "b",
    )
    on_disk = json.loads((tmp_path / "b" / "metrics.json").read_text())
    assert all(math.isfinite(v) for v in on_disk.values())
    assert on_disk["val/n_users"] == 0 and on_disk["val/n_users_skipped"] == 20
    assert "val/hr@5" not in on_disk and metrics["test/hr@5"] > 0


def test_auc_without_negatives_is_absent():
    full = sp.csr_matrix(np.ones((1, 6), np.float32))
    targets = sp.csr_matrix(np.array([[0, 0, 0, 0, 1, 1]], np.float32))
    task = EvalTask.build(full - targets, targets, full, psp_weights(np.ones(6)), ks=[2])
    metrics = evaluate(lambda rows: np.ones((len(rows), 6)), task)
    assert "auc" not in metrics and metrics["hr@2"] == 1.0


def test_results_are_readable_by_the_group_and_the_umask_is_left_alone(tmp_path):
    old = os.umask(0o022)
    try:
        calls = []
        real = os.umask
        os.umask = lambda mask: calls.append(mask) or real(mask)  # type: ignore[assignment]
        try:
            write_json(tmp_path / "metrics.json", {"a": 1})
        finally:
            os.umask = real
    finally:
        os.umask(old)
    assert (tmp_path / "metrics.json").stat().st_mode & 0o777 == 0o644
    assert calls == []  # the process umask is never changed, not even briefly


def test_only_our_own_abandoned_temp_files_are_cleaned(tmp_path):
    token = "0123456789abcdef0123456789abcdef"
    ours_old = tmp_path / f".metrics.json.{TMP_TAG}-{token}.tmp"
    ours_new = tmp_path / f".metrics.json.{TMP_TAG}-{token.replace('0', 'f')}.tmp"
    foreign = tmp_path / ".metrics.json.otherhost-123.abc123.tmp"  # not our pattern
    odd = tmp_path / f".metrics.json.{TMP_TAG}-not-a-token.tmp"
    other_user = tmp_path / f".metrics.json.{TMP_TAG}-{'a' * 32}.tmp"
    for f in (ours_old, ours_new, foreign, odd, other_user):
        f.write_text("half")
    stale = time.time() - ABANDONED_AFTER_S - 60
    for f in (ours_old, foreign, odd, other_user):
        os.utime(f, (stale, stale))
    if os.geteuid() == 0:  # root can give the file to another user, as on a shared disk
        os.chown(other_user, 54321, 54321)
    write_json(tmp_path / "metrics.json", {"a": 1})
    assert not ours_old.exists()
    assert ours_new.exists() and foreign.exists() and odd.exists()  # in use, or not ours
    assert other_user.exists() == (os.geteuid() == 0)


def test_a_config_type_error_is_named_when_composing(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "infrec.apps.train", "seed=abc", f"hydra.run.dir={tmp_path}"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode != 0 and "seed=abc" in done.stderr and "Traceback" not in done.stderr


def test_ctrl_c_ends_with_one_line_and_status_130(ml100k_dir, tmp_path):
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "infrec.apps.train",
            f"dataset.path={ml100k_dir}",
            f"paths.cache_dir={tmp_path / 'cache'}",
            f"hydra.run.dir={tmp_path / 'run'}",
            "model=mf",
            "model.epochs=1000",
            "model.patience=1000",  # never stops early: still training when interrupted
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # a background job of a non-interactive shell inherits SIGINT ignored; a user's terminal
        # does not — give the child the default disposition so Python installs its handler
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        deadline = time.time() + 120
        while time.time() < deadline and not (tmp_path / "run" / "train.log").is_file():
            time.sleep(0.5)
        time.sleep(8)  # well into training
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=120)
    finally:  # a failing test must not leave a 1,000-epoch run behind
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130
    assert "Traceback" not in err and err.strip().splitlines()[-1] == "interrupted"
