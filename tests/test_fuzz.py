"""Fuzzing every file reader: a mutated file loads correctly or is one ``InfrecError`` line.

Each example builds a valid seed (``tests/fuzz_cases.py``), applies 1–3 random mutations (bit
flips, truncation, other archives, wrong dtypes, out-of-range and negative indices,
non-monotone ``indptr``, NaN/inf/huge values, wrong metadata types…) and loads it in a worker
subprocess, so a segmentation fault is a failure like a traceback. The examples are derandomized
(the same on every run); ``benchmarks/fuzz_files.py`` runs ≥ 10,000 of them and prints counts.
"""

from __future__ import annotations

import io
import json
import os
import random
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fuzz_cases import FAILURES, Case, Worker, build_seed, describe, make_case, mutations_for
from tests.fuzz_target import TARGETS

EXAMPLES = 40
"""Hypothesis examples per target in the default suite (ten targets: ~400 cases)."""

KNOWN: dict[tuple[str, str], str] = {}
"""(target, mutation) pairs left out of the default suite, each naming its open bug."""


@pytest.fixture(scope="module")
def worker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Worker]:
    """One loader subprocess for the module (started again when a case kills it)."""
    with Worker(tmp_path_factory.mktemp("fuzz-worker"), timeout=20) as w:
        yield w


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_every_seed_loads(worker: Worker, target: str, tmp_path: Path) -> None:
    """Unmutated, each seed is read (so the mutations start from a valid file)."""
    case = build_seed(target, tmp_path)
    outcome = worker.run(target, case.path)
    assert outcome["outcome"] == "loaded", describe(outcome)


@pytest.mark.parametrize(
    ("target", "outcome", "kind"),
    [
        ("_segfault", "crash", "exit -11"),
        ("_traceback", "traceback", "IndexError"),
        ("_two_lines", "bad-error", "InfrecError"),
    ],
)
def test_the_harness_tells_each_failure(
    worker: Worker, tmp_path: Path, target: str, outcome: str, kind: str
) -> None:
    """A segfault is a crash (and the worker is started again), a traceback is one, and an
    error of two lines is not the one-line error."""
    got = worker.run(target, tmp_path)
    assert (got["outcome"], got["type"]) == (outcome, kind), describe(got)
    assert worker.run("support_csr", tmp_path / "absent.npz")["outcome"] == "error"


def test_a_hung_loader_is_a_crash(tmp_path: Path) -> None:
    with Worker(tmp_path, timeout=1) as w:
        got = w.run("_hang", tmp_path)
    assert (got["outcome"], got["type"]) == ("crash", "hung 1 s")


def _edit(path: Path, key: str, change) -> None:
    """Rewrite one array of an ``.npz`` (its content hash dropped, as in an older file)."""
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files if k != "sha256"}
    arrays[key] = change(arrays[key].copy())
    np.savez(path, **arrays)


def _set(i: int, value: int):
    def change(a: np.ndarray) -> np.ndarray:
        a = a.astype(np.int64)
        a[i] = value
        return a

    return change


@pytest.mark.parametrize(
    ("target", "key", "change"),
    [
        ("support_csr", "indices", _set(0, 10**6)),  # issue 21: a segfault before
        ("support_csr", "indices", _set(0, -1)),
        ("support_csr", "indptr", lambda a: a[::-1].copy()),
        ("support_csr", "data", lambda a: np.full_like(a, np.nan)),
        ("support_dense", "dense", lambda a: a * 1e6),
        ("split_cache", "train_indices", _set(-1, 2**40)),
        ("split_cache", "val_indptr", _set(1, -5)),
    ],
)
def test_pinned_structural_damage_is_one_line(
    worker: Worker, tmp_path: Path, target: str, key: str, change
) -> None:
    """The issue's cases, fixed by hand: each refused in one line naming the file."""
    case = build_seed(target, tmp_path)
    _edit(case.path, key, change)
    got = worker.run(target, case.path)
    assert got["outcome"] == "error", describe(got)
    assert got["message"].startswith(str(case.path))


def _zip_method(case: Case) -> None:
    """The first central-directory entry names compression method 99 (not one zipfile has)."""
    raw = bytearray(case.path.read_bytes())
    at = raw.index(b"PK\x01\x02") + 10
    raw[at : at + 2] = (99).to_bytes(2, "little")
    case.path.write_bytes(bytes(raw))


def _raw_member(key: str):
    """Store array ``key`` without its ``.npy`` header (raw text): ``np.load`` returns bytes."""

    def damage(case: Case) -> None:
        with np.load(case.path) as z:
            arrays = {k: z[k] for k in z.files}
        with zipfile.ZipFile(case.path, "w") as out:
            for name, value in arrays.items():
                buf = io.BytesIO()
                np.save(buf, value)
                raw = str(value).encode() if name == key else buf.getvalue()
                out.writestr(f"{name}.npy", raw)

    return damage


def _support_meta(path: Path, **changes: object) -> None:
    """Rewrite a support's metadata JSON (its matrix, and so its content hash, unchanged)."""
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    meta = json.loads(str(arrays["meta"]))
    for key, value in changes.items():
        holder = meta
        *outer, last = key.split(".")
        for k in outer:
            holder = holder[k]
        holder[last] = value
    arrays["meta"] = np.asarray(json.dumps(meta))
    np.savez(path, **arrays)


def _metrics(case: Case) -> None:
    path = case.path / "a" / "metrics.json"
    path.write_text(path.read_text().replace("0.4", "1" + "0" * 400))


def _support_path(case: Case) -> None:
    """Run b's config names its support by a path with a 3,000-character component."""
    path = case.path / "b" / "config.json"
    config = json.loads(path.read_text())
    config["sampler"]["path"] = "é" * 3000
    path.write_text(json.dumps(config))


def _sampler_name_null(case: Case) -> None:
    """Run a's config holds ``sampler.name: null``."""
    path = case.path / "a" / "config.json"
    config = json.loads(path.read_text())
    config["sampler"]["name"] = None
    path.write_text(json.dumps(config))


@pytest.mark.parametrize(
    ("target", "damage"),
    [
        pytest.param(
            "support_csr",
            _zip_method,
            id="zip-method-99",
        ),
        pytest.param(
            "support_csr",
            _raw_member("meta"),
            id="meta-without-npy-magic",
        ),
        pytest.param(
            "split_cache",
            _raw_member("made_for"),
            id="made_for-without-npy-magic",
        ),
        pytest.param(
            "support_csr",
            lambda case: _support_meta(case.path, best_lambda=10**400),
            id="meta-huge-int",
        ),
        pytest.param(
            "report_runs",
            _metrics,
            id="metrics-huge-int",
        ),
        pytest.param(
            "report_runs",
            lambda case: _support_meta(case.path / "b" / "support.npz", **{"config.name": 1.5}),
            id="support-config-name-float",
        ),
        pytest.param(
            "report_runs",
            _support_path,
            id="config-support-path-too-long",
        ),
        pytest.param(
            "report_runs",
            _sampler_name_null,
            id="config-sampler-name-null",
        ),
    ],
)
def test_pinned_findings(worker: Worker, tmp_path: Path, target: str, damage) -> None:
    """Failures the fuzzer found, fixed by hand: a correct load or the one-line error."""
    case = build_seed(target, tmp_path)
    damage(case)
    got = worker.run(target, case.path)
    assert got["outcome"] in ("loaded", "error"), describe(got)


def test_a_named_pipe_is_refused_not_waited_on(tmp_path: Path) -> None:
    """A FIFO where a run's metrics.json should be: one line, not a worker that never answers."""
    root = tmp_path / "case"
    root.mkdir()
    case = build_seed("report_runs", root)
    metrics = case.path / "a" / "metrics.json"
    metrics.unlink()
    os.mkfifo(metrics)
    with Worker(tmp_path, timeout=2) as w:
        got = w.run("report_runs", case.path)
    assert got["outcome"] in ("loaded", "error"), describe(got)


@pytest.mark.parametrize("target", sorted(TARGETS))
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_a_mutated_file_loads_or_is_one_line_error(
    worker: Worker, target: str, data: st.DataObject
) -> None:
    """Whatever the mutations, a correct load or the one-line error; never a traceback, a
    crash, a malformed error or a value that breaks the loader's invariants."""
    usable = [op for op in mutations_for(target) if (target, op) not in KNOWN]
    ops = data.draw(st.lists(st.sampled_from(usable), min_size=1, max_size=3), label="mutations")
    rng: random.Random = data.draw(st.randoms(use_true_random=False), label="rng")
    with tempfile.TemporaryDirectory() as tmp:
        case = make_case(target, Path(tmp), rng, ops)
        outcome = worker.run(target, case.path)
    assert outcome["outcome"] not in FAILURES, f"{case.applied}: {describe(outcome)}"
