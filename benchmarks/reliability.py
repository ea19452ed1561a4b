"""Try the files a user hands infrec — tampered, swapped, damaged, badly named, unwritable —
through the real command lines, and count what each gives.

    python benchmarks/reliability.py [--verbose] [--jobs 2] [--only CLASS ...] [--keep]

Every case runs ``infrec-train``, ``infrec-distill``, ``infrec-report`` or ``infrec-fetch`` (the
console scripts beside this Python) in a subprocess on tiny data made in a temporary folder (a
60 × 40 ``user,item,rating`` CSV, EASE with two λ, Distill-CF with 5 users and 4 steps), and
classifies the outcome:

- **works**: exit 0 *and* the effect checked (a cache rebuilt and the metrics equal to a clean
  run's, a user's file still there, the split read equal to the plain CSV's, …);
- **one-line error**: exit 2, no traceback, and stderr's last line other than log lines is the
  only ``error: …`` line, naming the file or key at fault (and no harm done: a user's file kept,
  nothing written outside the folder meant, no half-written file left);
- **traceback**: a Python traceback anywhere in the output;
- **crash**: killed by a signal (a segmentation fault: exit 139 or a negative status);
- **other**: anything else (another exit status, several lines, an error that names neither the
  file nor the key, exit 0 with the effect missing, a user's file lost).

Each case also says what a careful user expects (works, or a one-line error); a case whose
outcome differs is listed under "not as expected". Prints a markdown table per case class
(``--verbose``: every case's outcome and message, too). Exits 1 if any case gave a traceback, a
crash or lost a user's file (``--strict``: also if any case is not as expected).

Full disks and read-only folders are small ``tmpfs`` mounts (``mount -t tmpfs``, as root); where
mounting is not allowed those cases are skipped and counted in the notes. A disk that fills in the
middle of writing a record is simulated in a subprocess that patches ``Path.write_text``.
"""

from __future__ import annotations

import argparse
import bz2
import errno
import gzip
import io
import json
import lzma
import os
import re
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import uuid
import zipfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

BIN = Path(sys.executable).parent
LOG_LINE = re.compile(r"^\[\d{4}-\d\d-\d\d [\d:,.]+\]\[")
OUTCOMES = ("works", "one-line error", "traceback", "crash", "other")
ENV = {
    **os.environ,
    "JAX_PLATFORMS": os.environ.get("JAX_PLATFORMS", "cpu"),
    "WANDB_MODE": "offline",
    "WANDB_SILENT": "true",
    "TF_CPP_MIN_LOG_LEVEL": "3",
    "HYDRA_FULL_ERROR": "0",
}
TINY_DISTILL = ["sampler.budget=5", "sampler.steps=4", "sampler.gamma=5", "sampler.lambdas=[50.0]"]
EASE = ["model=ease", "model.lambdas=[10.0,100.0]", "eval.ks=[10,20]", "selection.metric=val/hr@20"]
PRINT_LOCK = threading.Lock()


# --------------------------------------------------------------------------- running and judging


@dataclass
class Done:
    rc: int
    out: str
    err: str
    seconds: float


@dataclass
class Case:
    group: str
    name: str
    expect: str  # "works" or "one-line error"
    outcome: str = ""
    message: str = ""
    unmet: str = ""  # what the outcome lacks although its kind is the one expected
    harm: bool = False  # a user's file lost or changed, a write outside its folder
    seconds: float = 0.0

    @property
    def as_expected(self) -> bool:
        return self.outcome == self.expect and not self.unmet


class Unmet(str):
    """What a check finds lacking that is neither harm nor a wrong effect (e.g. a refused
    report that left part of its output in ``--out``): the case is not as expected, its
    outcome stays."""


def run_cli(
    cmd: list[str], cwd: Path | None = None, timeout: float = 600, env: dict | None = None
) -> Done:
    """``cmd`` (its first word a console script of this venv, or a full program path) run to
    the end, ``env`` added to the environment; a hang past ``timeout`` is reported as exit 124."""
    program = cmd[0] if os.sep in cmd[0] else str(BIN / cmd[0])
    start = time.perf_counter()
    try:
        p = subprocess.run(
            [program, *cmd[1:]],
            cwd=cwd,
            env={**ENV, **(env or {})},
            capture_output=True,
            timeout=timeout,
            check=False,
        )
        rc, out, err = p.returncode, p.stdout, p.stderr
    except subprocess.TimeoutExpired as e:
        rc, out, err = 124, e.stdout or b"", (e.stderr or b"") + b"\n(timed out)"
    decode = lambda b: b.decode("utf-8", "replace")  # noqa: E731
    return Done(rc, decode(out), decode(err), time.perf_counter() - start)


def message_lines(err: str) -> list[str]:
    """stderr without log lines, blank lines and Hydra's ``HYDRA_FULL_ERROR`` hint."""
    return [
        line
        for line in err.splitlines()
        if line.strip() and not LOG_LINE.match(line) and "HYDRA_FULL_ERROR" not in line
    ]


def classify(done: Done, names: str | None) -> tuple[str, str]:
    """(outcome, message) of a finished command; ``names``: what a one-line error must name."""
    lines = message_lines(done.err)
    last = lines[-1] if lines else ""
    if done.rc < 0 or done.rc in (134, 136, 139):
        sig = -done.rc if done.rc < 0 else done.rc - 128
        try:
            name = signal.Signals(sig).name
        except ValueError:
            name = f"signal {sig}"
        return "crash", f"exit {done.rc} ({name})"
    if "Traceback (most recent call last)" in done.out + done.err:
        return "traceback", f"exit {done.rc}: {last}"
    if done.rc == 0:
        return "works", ""
    errors = [line for line in lines if line.startswith("error: ")]
    if done.rc == 2 and len(errors) == 1 and last == errors[0]:
        if names and names not in last:
            return "other", f"one line, but it does not name {names!r}: {last}"
        return "one-line error", last
    return "other", f"exit {done.rc}: " + " / ".join(lines[-3:])


class Group:
    """One case class: its cases, run one after another in a folder of their own."""

    def __init__(self, title: str, root: Path, verbose: bool):
        self.title = title
        self.root = root
        self.cases: list[Case] = []
        self.skipped: list[str] = []
        self.verbose = verbose
        root.mkdir(parents=True, exist_ok=True)

    def folder(self, name: str) -> Path:
        path = self.root / re.sub(r"[^A-Za-z0-9_.-]+", "_", name)
        path.mkdir(parents=True, exist_ok=True)
        return path

    def record(
        self,
        name: str,
        expect: str,
        done: Done,
        *,
        names: str | None = None,
        says: str | None = None,
        check: Callable[[Done], str | None] | None = None,
        harmful: bool = False,
    ) -> Case:
        """Classify ``done``. ``names``: what a one-line error must name (the file or key);
        ``says``: a pattern it should match as well (else the case is not as expected).
        ``check`` returns the problem it finds, ``None`` if none: for a case expected to work,
        its effect (checked only when it worked); for a refusal, harm (a user's file lost, a
        file left half-written or outside its folder; checked whatever the outcome) — with
        ``harmful``, such a problem is counted as harm."""
        outcome, message = classify(done, names)
        problem = None
        if check is not None and (outcome == "works" or expect != "works"):
            try:
                problem = check(done)
            except Exception as e:
                problem = f"check failed: {type(e).__name__}: {e}"
        if outcome == "works" and not message:  # what a run that works said about a cache
            said = [ln for ln in (done.out + done.err).splitlines() if "rebuilding" in ln]
            message = said[0].split(" - ", 1)[-1] if said else ""
        case = Case(self.title, name, expect, outcome, message, seconds=done.seconds)
        if outcome == "one-line error" and says and not re.search(says, message, re.I):
            case.unmet = f"the line does not say /{says}/"
        if isinstance(problem, Unmet):
            case.unmet = "; ".join(u for u in (case.unmet, problem) if u)
        elif problem:
            if outcome in ("works", "one-line error"):
                case.outcome = "other"
            case.message = (message + "; " if message else "") + problem
            case.harm = harmful
        self.cases.append(case)
        with PRINT_LOCK:
            mark = "" if case.as_expected else f"   <-- expected {expect} {case.unmet}"
            print(
                f"  [{self.title}] {name}: {case.outcome} ({done.seconds:.1f} s){mark}",
                file=sys.stderr,
                flush=True,
            )
            if self.verbose and case.message:
                print(f"      {case.message[:300]}", file=sys.stderr, flush=True)
        return case

    def run(
        self,
        name: str,
        expect: str,
        cmd: list[str],
        *,
        cwd: Path | None = None,
        env: dict | None = None,
        **how,
    ) -> Case:
        """Run ``cmd`` and :meth:`record` it (``how``: ``names``, ``says``, ``check``,
        ``harmful``)."""
        return self.record(name, expect, run_cli(cmd, cwd, env=env), **how)


# --------------------------------------------------------------------------- data and commands


def tiny_csv(path: Path) -> None:
    """60 users × 40 items as ``user,item,1`` lines (as ``tests/helpers.py`` makes it)."""
    rng = np.random.default_rng(0)
    lines = [
        f"{u},{i},1"
        for u in range(60)
        for i in range(40)
        if rng.random() < 0.15 + 0.3 * (u % 3 == 0) or i == u % 40
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")


def dataset(csv: Path | str) -> list[str]:
    return ["dataset=custom", f"dataset.path={csv}", "dataset.string_ids=false", "logger=none"]


def train(ws: Path, csv: Path, *extra: str, run: str = "run") -> list[str]:
    """``infrec-train`` on ``csv`` with its cache, supports and run dir under ``ws``."""
    return [
        "infrec-train",
        *dataset(csv),
        f"paths.cache_dir={ws / 'cache'}",
        f"paths.support_dir={ws / 'supports'}",
        f"hydra.run.dir={ws / run}",
        *EASE,
        *extra,
    ]


def distill(ws: Path, csv: Path, *extra: str, supports: Path | None = None) -> list[str]:
    """``infrec-distill`` with tiny settings, its cache, supports and run dir under ``ws``."""
    return [
        "infrec-distill",
        *dataset(csv),
        f"paths.cache_dir={ws / 'cache'}",
        f"paths.support_dir={supports or ws / 'supports'}",
        f"hydra.run.dir={ws / 'run'}",
        *TINY_DISTILL,
        *extra,
    ]


def fetch(ws: Path, source: Path, *extra: str) -> list[str]:
    """``infrec-fetch`` (run with ``cwd=ws``: it logs where it starts) with its cache in ``ws``."""
    return ["infrec-fetch", *dataset(source), f"paths.cache_dir={ws / 'cache'}", *extra]


def report(*args: str | Path) -> list[str]:
    return ["infrec-report", *(str(a) for a in args)]


def metrics_of(run_dir: Path) -> dict[str, float]:
    """A run's quality metrics and chosen hyper-parameters (no timings)."""
    metrics = json.loads((run_dir / "metrics.json").read_text())
    return {k: v for k, v in metrics.items() if k.split("/")[0] in ("val", "test", "hp")}


def same_metrics(run_dir: Path, reference: dict[str, float]) -> str | None:
    got = metrics_of(run_dir)
    if got == reference:
        return None
    differs = sorted(k for k in {*got, *reference} if got.get(k) != reference.get(k))
    return f"metrics differ from the clean run's: {differs[:4]}"


def files_under(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` and its bytes (for small folders: before/after comparisons)."""
    if not root.exists():
        return {}
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }


def leftovers(root: Path) -> list[str]:
    """The project's temporary files and folders left under ``root``."""
    return sorted(str(p.relative_to(root)) for p in root.rglob("*infrec-tmp*"))


def rebuilt_line(done: Done, path: Path) -> str | None:
    """The one line saying a cache entry at ``path`` is rebuilt; else the problem."""
    lines = [
        line
        for line in (done.out + done.err).splitlines()
        if "rebuilding" in line and str(path) in line
    ]
    if len(lines) != 1:
        return None
    return lines[0].split(" - ", 1)[-1]


def split_of(cache: Path):
    """The one prepared split cached in ``cache`` (loaded with the project's own checks)."""
    from infrec.data.matrix import Split

    (path,) = sorted(cache.glob("*.npz"))
    split, _ = Split.load(path)
    return split


def same_split(a, b) -> bool:
    return a.train.shape == b.train.shape and all(
        (getattr(a, p) != getattr(b, p)).nnz == 0 for p in ("train", "val", "test")
    )


# --------------------------------------------------------------------------- small file systems


MOUNTS: list[Path] = []


def can_mount(ws: Path) -> bool:
    probe = ws / "mount-probe"
    probe.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(probe)],
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        return False
    subprocess.run(["umount", str(probe)], check=False)
    return True


@contextmanager
def small_fs(path: Path, *, full: bool = False, read_only: bool = False, prepare=None):
    """A 256 KiB tmpfs at ``path``: ``prepare(path)`` first, then filled up (``full``) or made
    read-only (``read_only``)."""
    path.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(path)],
        check=True,
        capture_output=True,
    )
    MOUNTS.append(path)
    try:
        if prepare is not None:
            prepare(path)
        if full:
            fd = os.open(path / ".filler", os.O_WRONLY | os.O_CREAT, 0o644)
            try:
                while os.write(fd, b"\0" * 4096):
                    pass
            except OSError as e:
                if e.errno != errno.ENOSPC:
                    raise
            finally:
                os.close(fd)
        if read_only:
            subprocess.run(["mount", "-o", "remount,ro", str(path)], check=True)
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)
        MOUNTS.remove(path)


# --------------------------------------------------------------------------- the shared setup


@dataclass
class Base:
    ws: Path
    csv: Path
    metrics: dict[str, float]  # a clean run's, seed 42
    cache_file: Path  # its prepared split
    run_dir: Path  # its run record
    support: Path  # infrec-distill's support.npz (tiny settings)
    binary: Path  # and its support_binary.npz
    entry: Path  # Distill-CF's cache entry for those settings


def setup(ws: Path, jobs: int) -> Base:
    csv = ws / "data" / "r.csv"
    tiny_csv(csv)
    base = ws / "base"
    clean_cmd = train(base, csv)
    distill_cmd = distill(base / "distill", csv)
    with ThreadPoolExecutor(max(1, min(jobs, 2))) as pool:
        clean, distilled = pool.map(run_cli, [clean_cmd, distill_cmd])
    for what, done in (("clean run", clean), ("distillation", distilled)):
        if done.rc != 0:
            sys.exit(f"the {what} failed, nothing to compare with:\n{done.err[-3000:]}")
    (cache_file,) = (base / "cache").glob("*.npz")
    (entry,) = (base / "distill" / "supports").glob("*.npz")
    return Base(
        ws,
        csv,
        metrics_of(base / "run"),
        cache_file,
        base / "run",
        base / "distill" / "run" / "support.npz",
        base / "distill" / "run" / "support_binary.npz",
        entry,
    )


# --------------------------------------------------------------------------- tampering with .npz


def arrays_of(path: Path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def rewrite(path: Path, source: Path, change: Callable[[dict[str, np.ndarray]], None]) -> Path:
    """``source``'s arrays, changed in place by ``change``, saved at ``path`` (a careless edit)."""
    arrays = arrays_of(source)
    change(arrays)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as f:
        np.savez(f, **arrays)
    return path


def meta_edit(**fields: Any) -> Callable[[dict[str, np.ndarray]], None]:
    def change(a: dict[str, np.ndarray]) -> None:
        a["meta"] = np.asarray(json.dumps({**json.loads(str(a["meta"])), **fields}))

    return change


def setter(key: str, fn: Callable[[np.ndarray], np.ndarray]) -> Callable[[dict], None]:
    def change(a: dict[str, np.ndarray]) -> None:
        a[key] = fn(a[key].copy())

    return change


def at(index: int, value: Any) -> Callable[[np.ndarray], np.ndarray]:
    def put(x: np.ndarray) -> np.ndarray:
        x[index] = value
        return x

    return put


def truncate(path: Path, source: Path) -> Path:
    data = source.read_bytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data[: len(data) // 2])
    return path


def zip_of(path: Path, members: dict[str, bytes]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    return path


# --------------------------------------------------------------------------- the case classes


def support_files(g: Group, b: Base) -> None:
    """``sampler=from_file`` on a support file a colleague edited, damaged or swapped: a dense
    one (Distill-CF's) and a sparse one (it binarised), each edited as named."""
    import scipy.sparse as sp

    from infrec.data.matrix import binarize
    from infrec.samplers.support_file import load_support, save_support

    folder = g.folder("files")
    matrix, meta = load_support(b.entry)  # a whole support, as the project saved it
    dense = save_support(folder / "dense.npz", matrix, meta)
    sparse = save_support(folder / "sparse.npz", binarize(matrix), meta)
    with np.load(sparse) as z:
        nnz, n_items, rows = len(z["indices"]), int(z["shape"][1]), int(z["shape"][0])
    other = sp.csr_matrix(matrix)  # another matrix of the same shape

    def swap_csr(a: dict[str, np.ndarray]) -> None:  # another matrix under this file's hash
        a.update(data=other.data, indices=other.indices, indptr=other.indptr)

    def pickled(a: dict[str, np.ndarray]) -> None:
        a["data"] = np.asarray([{"x": 1}] * nnz, dtype=object)

    Edit = tuple[Path, Callable[[dict[str, np.ndarray]], None], str]
    edits: dict[str, Edit] = {
        # name: (the file edited, the edit, what the error should say)
        "CSR: column index 10^8": (sparse, setter("indices", at(1, 10**8)), "index 100000000"),
        "CSR: column index = item count": (
            sparse,
            setter("indices", at(0, n_items)),
            f"index {n_items} outside",
        ),
        "CSR: negative column index": (sparse, setter("indices", at(2, -4)), "index -4"),
        "CSR: non-monotone indptr": (sparse, setter("indptr", at(1, nnz)), "indptr decreases"),
        "CSR: indptr not starting at 0": (sparse, setter("indptr", at(0, 1)), "indptr starts"),
        "CSR: indptr ending past nnz": (
            sparse,
            setter("indptr", at(rows, nnz + 7)),
            "indptr ends",
        ),
        "CSR: values x10^6": (sparse, setter("data", lambda x: x * 1e6), "must lie in"),
        "CSR: a NaN value": (sparse, setter("data", at(0, np.nan)), "NaN"),
        "CSR: an infinite value": (sparse, setter("data", at(0, np.inf)), "infinite"),
        "CSR: indices as floats": (
            sparse,
            setter("indices", lambda x: x.astype(np.float64)),
            "dtype float64",
        ),
        "CSR: shape of rank 3": (
            sparse,
            setter("shape", lambda x: np.asarray([rows, n_items, 1])),
            "shape",
        ),
        "CSR: pickled object array": (sparse, pickled, "pickle|object"),
        "CSR: swapped matrix (content hash)": (sparse, swap_csr, "content hash"),
        "dense: values x10^6": (dense, setter("dense", lambda x: x * 1e6), "must lie in"),
        "dense: a NaN value": (dense, setter("dense", at((0, 0), np.nan)), "NaN"),
        "dense: a negative value": (dense, setter("dense", at((0, 0), -0.5)), "must lie in"),
        "dense: an array of rank 3": (dense, setter("dense", lambda x: x[None]), "dimensions"),
        "dense: values x0.5 (content hash)": (
            dense,
            setter("dense", lambda x: x * 0.5),
            "content hash",
        ),
        "metadata: lambda -1": (dense, meta_edit(best_lambda=-1), "best_lambda=-1"),
        "metadata: best_step as text": (dense, meta_edit(best_step="7"), "best_step='7'"),
        "metadata: best_val_hr 2": (dense, meta_edit(best_val_hr=2.0), "best_val_hr=2.0"),
        "metadata: a list": (
            dense,
            lambda a: a.update(meta=np.asarray("[1, 2]")),
            "metadata is list",
        ),
        "metadata: not JSON": (
            dense,
            lambda a: a.update(meta=np.asarray('{"best_step": 4')),
            "not valid JSON",
        ),
        "format coo": (dense, lambda a: a.update(format=np.asarray("coo")), "format 'coo'"),
    }
    files: dict[str, tuple[Path, str]] = {}
    for i, (name, (source, change, says)) in enumerate(edits.items()):
        files[name] = (rewrite(folder / f"s{i}.npz", source, change), says)
    files["truncated file"] = (truncate(folder / "truncated.npz", dense), "damaged")
    (folder / "text.npz").write_text("user,item\n1,2\n")
    files["not a zip"] = (folder / "text.npz", "not a support file")
    files["a zip of something else"] = (
        zip_of(folder / "other.npz", {"README.txt": b"hello"}),
        "missing",
    )
    (folder / "empty.npz").write_bytes(b"")
    files["an empty file"] = (folder / "empty.npz", "damaged|empty")
    # a whole, valid support made for a catalogue of another size (another dataset's)
    elsewhere = np.full((rows, n_items + 3), 0.5, np.float32)
    files["a valid support of another dataset"] = (
        save_support(folder / "elsewhere.npz", elsewhere, {}),
        f"{n_items + 3} items",
    )

    ws = g.folder("run")
    controls = (
        ("a whole dense support", dense),
        ("a whole CSR support", sparse),
        ("infrec-distill's support.npz", b.support),
        ("infrec-distill's support_binary.npz", b.binary),
    )
    for i, (name, path) in enumerate(controls):
        run = f"run-control{i}"
        g.run(
            f"{name} (control)",
            "works",
            train(ws, b.csv, "sampler=from_file", f"sampler.path={path}", run=run),
            check=lambda d, r=run: None if (ws / r / "metrics.json").is_file() else "no metrics",
        )
    for i, (name, (path, says)) in enumerate(files.items()):
        before = path.read_bytes()
        g.run(
            name,
            "one-line error",
            train(ws, b.csv, "sampler=from_file", f"sampler.path={path}", run=f"run{i}"),
            names=str(path),
            says=says,
            check=lambda d, p=path, data=before: (
                None if p.read_bytes() == data else "the support file was changed"
            ),
            harmful=True,
        )


def distill_cache(g: Group, b: Base) -> None:
    """Distill-CF's cache entry edited, damaged or swapped for another setting's: rebuilt."""
    from infrec.samplers.support_file import load_support

    reference, _ = load_support(b.entry)
    ref = reference.toarray() if hasattr(reference, "toarray") else np.asarray(reference)

    # another setting's entry (γ = 4): made once, in a folder of its own
    other_ws = g.folder("other-setting")
    done = run_cli(distill(other_ws, b.csv, "sampler.gamma=4"))
    others = sorted((other_ws / "supports").glob("*.npz"))
    if done.rc != 0 or len(others) != 1:
        g.skipped.append(f"the γ=4 distillation failed: {message_lines(done.err)[-1:]}")
        others = []

    def check_rebuilt(ws: Path, entry: Path) -> Callable[[Done], str | None]:
        def check(done: Done) -> str | None:
            line = rebuilt_line(done, entry)
            if line is None:
                return "no single 'rebuilding' line naming the cache entry"
            again, _ = load_support(entry)
            again = again.toarray() if hasattr(again, "toarray") else np.asarray(again)
            if not np.allclose(again, ref, atol=1e-6):
                return "the rebuilt entry differs from a clean distillation's"
            return None

        return check

    def case(name: str, make: Callable[[Path], None] | None) -> None:
        ws = g.folder(name)
        entry = ws / "supports" / b.entry.name
        entry.parent.mkdir(parents=True, exist_ok=True)
        if make is None:
            shutil.copy(b.entry, entry)

            def check(done: Done) -> str | None:
                if "rebuilding" in done.out + done.err:
                    return "a whole entry was rebuilt"
                if "Distill-CF step" in done.out + done.err:
                    return "distilled again although the entry was whole"
                got = np.load(ws / "run" / "support.npz")["dense"]
                return None if np.allclose(got, ref, atol=1e-6) else "support differs"

            g.run(name, "works", distill(ws, b.csv), check=check)
            return
        make(entry)
        g.run(name, "works", distill(ws, b.csv), check=check_rebuilt(ws, entry))

    case("whole entry (control: reused)", None)
    case("values x10^6", lambda p: rewrite(p, b.entry, setter("dense", lambda x: x * 1e6)))
    case("values x0.5", lambda p: rewrite(p, b.entry, setter("dense", lambda x: x * 0.5)))
    case("lambda -1 in metadata", lambda p: rewrite(p, b.entry, meta_edit(best_lambda=-1)))
    case("truncated", lambda p: truncate(p, b.entry))
    if others:
        case("swapped with the gamma=4 entry", lambda p: shutil.copy(others[0], p))


def prepared_cache(g: Group, b: Base) -> None:
    """The prepared split in the cache swapped for another seed's, or damaged: rebuilt."""
    # the cache file's name as the code now in the tree makes it (the setup's may be older)
    now_ws = g.folder("now")
    done = run_cli(fetch(now_ws, b.csv), cwd=now_ws)
    current = sorted((now_ws / "cache").glob("*.npz"))
    if done.rc != 0 or len(current) != 1:
        g.skipped.append(f"infrec-fetch on the plain CSV failed: {message_lines(done.err)[-1:]}")
        return
    cache_file = current[0]
    # the same data split with another seed: its cache file, under this key's name
    seed_ws = g.folder("seed43")
    done = run_cli(train(seed_ws, b.csv, "dataset.seed=43"))
    seed43 = sorted((seed_ws / "cache").glob("*.npz"))
    if done.rc != 0 or len(seed43) != 1:
        g.skipped.append(f"the dataset.seed=43 run failed: {message_lines(done.err)[-1:]}")
        seed43 = []
    elif metrics_of(seed_ws / "run") == b.metrics:
        g.skipped.append("seed 43 gives the same metrics as seed 42: the swap case proves little")
    # another data set's split (every user's first interaction dropped) under this name
    other_csv = g.root / "other.csv"
    lines = b.csv.read_text().splitlines()
    other_csv.write_text("\n".join(lines[::2]) + "\n")
    other_ws = g.folder("other-data")
    done = run_cli(train(other_ws, other_csv))
    other = sorted((other_ws / "cache").glob("*.npz"))
    if done.rc != 0 or len(other) != 1:
        g.skipped.append(f"the other data set's run failed: {message_lines(done.err)[-1:]}")
        other = []

    def flip_index(p: Path) -> None:
        rewrite(p, cache_file, setter("train_indices", lambda x: (x + 1) % 40))

    def forged_key(p: Path) -> None:  # a swapped file whose key text was edited to match
        def change(a: dict[str, np.ndarray]) -> None:
            a["key"] = arrays_of(cache_file)["key"]

        rewrite(p, seed43[0], change)

    makers: dict[str, Callable[[Path], Any]] = {
        "truncated": lambda p: truncate(p, cache_file),
        "empty file": lambda p: p.write_bytes(b""),
        "not a zip": lambda p: p.write_text("not a split\n"),
        "indices edited (content hash)": flip_index,
        "index past the item count": lambda p: rewrite(
            p, cache_file, setter("test_indices", at(0, 10**6))
        ),
        "made_for not JSON": lambda p: rewrite(
            p, cache_file, lambda a: a.update(made_for=np.asarray("{"))
        ),
    }
    if seed43:
        makers = {
            "another split seed's file": lambda p: shutil.copy(seed43[0], p),
            "another seed's file, key text forged": forged_key,
            **makers,
        }
    if other:
        makers["another data set's file"] = lambda p: shutil.copy(other[0], p)

    for name, make in makers.items():
        ws = g.folder(name)
        cached = ws / "cache" / cache_file.name
        cached.parent.mkdir(parents=True, exist_ok=True)
        make(cached)

        def check(done: Done, ws: Path = ws, cached: Path = cached) -> str | None:
            if rebuilt_line(done, cached) is None:
                return "no single 'rebuilding' line naming the cache file"
            problem = same_metrics(ws / "run", b.metrics)
            if problem:
                return problem
            if not same_split(split_of(ws / "cache"), split_of(cache_file.parent)):
                return "the cache file was not replaced by the rebuilt split"
            return None

        g.run(name, "works", train(ws, b.csv), check=check)


def names(g: Group, b: Base) -> None:
    """Config values that become parts of paths, trying to leave their folder."""
    csv_dir = b.csv.parent

    def case(
        name: str,
        cmd_of: Callable[[Path], list[str]],
        key: str,
        expect: str = "one-line error",
        tool_cwd: bool = False,
        elsewhere: str | None = None,
        env: dict | None = None,
        says: str | None = None,
    ) -> None:
        """``key``: what the error names; ``elsewhere``: a glob of files the case must not
        create outside the case's folder."""
        ws = g.folder(name)
        deep = ws / "a" / "b"  # cache, supports and runs two folders down: ../../x stays in ws
        deep.mkdir(parents=True, exist_ok=True)
        cmd = cmd_of(deep)  # (which may write the case's inputs)
        before = set(files_under(ws))
        outside_before = set(Path("/").glob(elsewhere.lstrip("/"))) if elsewhere else set()

        def check(done: Done) -> str | None:
            new = sorted(set(files_under(ws)) - before)
            allowed = ("a/b/run/", "a/b/root/outputs/", "a/b/cache/", "a/b/supports/", "a/b/out/")
            outside = [p for p in new if not p.startswith(allowed)]
            if elsewhere:
                outside += sorted(
                    map(str, set(Path("/").glob(elsewhere.lstrip("/"))) - outside_before)
                )
            if outside:
                return f"written outside its folder: {outside[:3]}"
            data = [p for p in new if p.startswith(("a/b/cache/", "a/b/out/", "a/b/supports/"))]
            if expect == "one-line error" and data:
                return Unmet(f"refused, but left {len(data)} files of its output: {data[:2]}")
            return None

        g.run(
            name,
            expect,
            cmd,
            names=key,
            says=says,
            check=check,
            harmful=True,
            cwd=deep if tool_cwd else None,
            env=env,
        )

    root_run = lambda d, *extra: [  # noqa: E731 - the default run dir, under paths.root
        "infrec-train",
        *dataset(b.csv),
        f"paths.root={d / 'root'}",
        f"paths.cache_dir={d / 'cache'}",
        *EASE,
        *extra,
    ]
    case("dataset.name=../../x", lambda d: train(d, b.csv, "dataset.name=../../x"), "dataset.name")
    case(
        "dataset.name=../../x, default run dir",
        lambda d: root_run(d, "dataset.name=../../x"),
        "dataset.name",
    )
    case("dataset.name=a/b", lambda d: train(d, b.csv, "dataset.name=a/b"), "dataset.name")
    case(
        "dataset.name=/tmp/x",
        lambda d: train(d, b.csv, "dataset.name=/tmp/x"),
        "dataset.name",
        elsewhere="/tmp/x-*",
    )
    case("dataset.name=..", lambda d: train(d, b.csv, "dataset.name=.."), "dataset.name")
    case("model.name=a/b", lambda d: root_run(d, "model.name=a/b"), "model.name")
    case(
        "infrec-fetch dataset.name=../../x",
        lambda d: fetch(d, b.csv, "dataset.name=../../x"),
        "dataset.name",
        tool_cwd=True,
    )
    case(
        "infrec-distill dataset.name=../x",
        lambda d: [
            "infrec-distill",
            *dataset(b.csv),
            f"paths.root={d / 'root'}",
            f"paths.cache_dir={d / 'cache'}",
            f"paths.support_dir={d / 'supports'}",
            "dataset.name=../x",
            *TINY_DISTILL,
        ],
        "dataset.name",
    )
    # dataset.filename inside dataset.path (a folder), with ml-1m (its config declares the key):
    # ../x.dat points at a real ratings file beside the folder
    ml = g.root / "ml-1m"
    (ml / "sub").mkdir(parents=True, exist_ok=True)
    dat = "".join(f"{line.replace(',', '::')}::0\n" for line in b.csv.read_text().splitlines())
    for where in (ml / "ratings.dat", ml / "sub" / "ratings.dat", g.root / "x.dat"):
        where.write_text(dat)

    def ml_fetch(d: Path, filename: str) -> list[str]:
        return [
            "infrec-fetch",
            "dataset=ml-1m",
            f"dataset.path={ml}",
            f"dataset.filename={filename}",
            f"paths.cache_dir={d / 'cache'}",
        ]

    for value, says in (
        ("../x.dat", "'[.][.]'"),
        ("/etc/hostname", "relative file name"),
        ("sub/../../x.dat", "'[.][.]'"),
    ):
        case(
            f"dataset.filename={value}",
            lambda d, v=value: ml_fetch(d, v),
            "dataset.filename",
            tool_cwd=True,
            says=says,
        )
    case(
        "dataset.filename=sub/ratings.dat (control: a subfolder)",
        lambda d: ml_fetch(d, "sub/ratings.dat"),
        "dataset.filename",
        expect="works",
        tool_cwd=True,
    )
    # the same with dataset=custom, whose config does not declare the key
    (csv_dir / "sub").mkdir(exist_ok=True)
    shutil.copy(b.csv, csv_dir / "sub" / "r.csv")
    case(
        "dataset=custom +dataset.filename=sub/r.csv (control)",
        lambda d: [*train(d, csv_dir), "+dataset.filename=sub/r.csv"],
        "dataset.filename",
        expect="works",
    )
    # NUL and control characters cannot be typed on a command line Hydra parses (its lexer
    # refuses them): they come from an environment variable (control characters; a NUL cannot
    # be in one) or a config file, here a dataset of the user's own (-cd)
    for label, char in (("tab", "\t"), ("newline", "\n"), ("ESC", "\x1b"), ("DEL", "\x7f")):
        case(
            f"dataset.name with a {label} (environment variable)",
            lambda d: train(d, b.csv, "dataset.name=${oc.env:INFREC_ODD_NAME}"),
            "dataset.name",
            env={"INFREC_ODD_NAME": f"a{char}b"},
        )
    extra_conf = g.root / "conf" / "dataset"
    extra_conf.mkdir(parents=True, exist_ok=True)
    for label, escaped in (("NUL", "\\0"), ("tab", "\\t"), ("newline", "\\n"), ("ESC", "\\e")):
        (extra_conf / f"odd_{label}.yaml").write_text(
            f'defaults:\n  - custom\n  - _self_\nname: "a{escaped}b"\n'
        )
        case(
            f"dataset.name with a {label} (config file)",
            lambda d, lab=label: [
                "infrec-train",
                "-cd",
                str(g.root / "conf"),
                f"dataset=odd_{lab}",
                f"dataset.path={b.csv}",
                "dataset.string_ids=false",
                "logger=none",
                f"paths.root={d / 'root'}",
                f"paths.cache_dir={d / 'cache'}",
                *EASE,
            ],
            "dataset.name",
        )
    # a report whose runs carry names that would leave --out
    for field, value in (("dataset", "../../x"), ("model", "../y")):

        def report_cmd(d: Path, field: str = field, value: str = value) -> list[str]:
            run = d / "runs" / "0"
            run.mkdir(parents=True, exist_ok=True)
            shutil.copy(b.run_dir / "metrics.json", run / "metrics.json")
            config = json.loads((b.run_dir / "config.json").read_text())
            config[field]["name"] = value
            (run / "config.json").write_text(json.dumps(config))
            return report(d / "runs", "--out", d / "out")

        case(f"report: runs with {field}.name={value}", report_cmd, value)


def publishing(g: Group, b: Base) -> None:
    """A study's report published into a folder holding a user's files, beside others'."""

    def sweep(ws: Path, publish_dir: Path) -> list[str]:
        return [
            "infrec-train",
            "-m",
            "experiment=debug",
            *dataset(b.csv),
            f"paths.root={ws / 'root'}",
            f"paths.cache_dir={ws / 'cache'}",
            "eval.ks=[10,20]",
            "selection.metric=val/hr@20",
            f"hydra.sweep.dir={ws / 'sweep'}",
            f"+hydra.callbacks.report.publish_dir={publish_dir}",
        ]

    def keeps(ws: Path, files: dict[str, bytes], published: bool = False):
        """A check that ``files`` (relative to ``ws``) are byte for byte as they were, no
        temporary file is left beside ``ws/pub``, and (``published``) a report is there."""

        def check(done: Done) -> str | None:
            now = files_under(ws)
            lost = [k for k, v in files.items() if now.get(k) != v]
            if lost:
                return f"user's files lost or changed: {lost}"
            if published and not (ws / "pub" / "fraction_curve.csv").is_file():
                return "nothing was published"
            if published and not (ws / "pub" / ".infrec-published.json").is_file():
                return "no manifest"
            stray = [p.name for p in ws.iterdir() if "infrec-tmp" in p.name]
            if stray:
                return f"temporary folders left: {stray[:3]}"
            return None

        return check

    # a folder of the user's, no manifest
    ws = g.folder("users-folder")
    pub = ws / "pub"
    pub.mkdir()
    (pub / "notes.txt").write_text("years of work\n")
    g.run(
        "publish_dir holding a user's file",
        "one-line error",
        sweep(ws, pub),
        names=str(pub),
        check=keeps(ws, files_under(ws)),
        harmful=True,
    )
    # a sibling named like the old temporary folder, and one like the old retired folder
    ws = g.folder("siblings")
    pub = ws / "pub"
    for sibling in ("pub.new", "pub.old", ".pub.new"):
        (ws / sibling).mkdir()
        (ws / sibling / "keep.txt").write_text(f"{sibling} is mine\n")
    mine = {k: v for k, v in files_under(ws).items() if k.split("/")[0] != "pub"}
    g.run(
        "siblings pub.new, pub.old, .pub.new; first publish",
        "works",
        sweep(ws, pub),
        check=keeps(ws, mine, published=True),
        harmful=True,
    )
    g.run(
        "publish again over its own folder, siblings beside",
        "works",
        sweep(ws, pub),
        check=lambda d: (
            keeps(ws, mine, "published")(d)
            or (None if (pub / ".infrec-published.json").is_file() else "no manifest")
        ),
        harmful=True,
    )
    # the project's own folder, and a file the user added to it since
    (pub / "my-plot.png").write_bytes(b"\x89PNG user's")
    g.run(
        "its own folder with a file the user added",
        "one-line error",
        sweep(ws, pub),
        names=str(pub),
        check=keeps(ws, files_under(ws)),
        harmful=True,
    )
    # a manifest not written by infrec (forged: it claims the user's file)
    ws = g.folder("forged-manifest")
    pub = ws / "pub"
    pub.mkdir()
    (pub / "notes.txt").write_text("mine\n")
    (pub / ".infrec-published.json").write_text('{"written_by": "me", "files": ["notes.txt"]}')
    g.run(
        "a manifest infrec did not write",
        "one-line error",
        sweep(ws, pub),
        names=str(pub),
        check=keeps(ws, files_under(ws)),
        harmful=True,
    )
    # publish_dir names a file of the user's
    ws = g.folder("a-file")
    pub = ws / "pub"
    pub.write_text("a file, not a folder\n")
    g.run(
        "publish_dir is a user's file",
        "one-line error",
        sweep(ws, pub),
        names=str(pub),
        check=keeps(ws, files_under(ws)),
        harmful=True,
    )


def temp_cleanup(g: Group, b: Base) -> None:
    """Files that look like leftovers beside a run record: only the project's own, this user's,
    abandoned ones go."""
    ws = g.folder("run-dir")
    run_dir = ws / "run"
    run_dir.mkdir()
    old = time.time() - 3 * 24 * 3600
    token = lambda: uuid.uuid4().hex  # noqa: E731
    files: dict[str, tuple[str, int | None, float | None]] = {
        # name: (expected, owner uid, mtime)
        f".metrics.json.infrec-tmp-{token()}.tmp": ("kept", None, None),  # fresh: a live run's
        f".config.json.infrec-tmp-{token()}.tmp": ("kept", 4242, old),  # another user's
        ".metrics.json.tmp.12345": ("kept", None, old),  # another tool's (a PID)
        ".metrics.json.12345.tmp": ("kept", None, old),
        ".metrics.json.infrec-tmp-notes.tmp": ("kept", None, old),  # not our token
        "metrics.json.bak": ("kept", None, old),
        f".details.json.infrec-tmp-{token()}.tmp": ("removed", None, old),  # ours, abandoned
    }
    can_chown = True
    for name, (_, uid, mtime) in files.items():
        path = run_dir / name
        path.write_text(f"{name}\n")
        if uid is not None:
            try:
                os.chown(path, uid, uid)
            except OSError:
                can_chown = False
        if mtime is not None:
            os.utime(path, (mtime, mtime))
    done = run_cli(train(ws, b.csv))

    def check_for(name: str, expected: str) -> Callable[[Done], str | None]:
        def check(d: Done) -> str | None:
            there = (run_dir / name).exists()
            if expected == "kept" and not there:
                return f"{name} was deleted"
            if expected == "removed" and there:
                return f"{name} (ours, abandoned) was left"
            if not (run_dir / "metrics.json").is_file():
                return "no run record"
            return None

        return check

    labels = {
        0: "our token, fresh (a live run's)",
        1: "our token, another user's, 3 days old",
        2: "another tool's .tmp.<pid>",
        3: "another tool's .<pid>.tmp",
        4: "our prefix, not a token",
        5: "a user's metrics.json.bak",
        6: "ours, this user's, 3 days old (removed)",
    }
    for i, (name, (expected, uid, _)) in enumerate(files.items()):
        if uid is not None and not can_chown:
            g.skipped.append("chown not allowed: another user's temp file not tried")
            continue
        g.record(
            labels[i],
            "works",
            done,
            check=check_for(name, expected),
            harmful=expected == "kept",
        )


def writes(g: Group, b: Base, mount: bool) -> None:
    """Output folders that cannot be written: a file in the way, a full disk, read-only."""
    blocker = g.root / "blocker"
    blocker.write_text("a file, not a folder\n")
    ws = g.folder("blocked")
    report_runs = g.folder("runs")
    shutil.copytree(b.run_dir, report_runs / "0", dirs_exist_ok=True)

    def untouched(d: Done) -> str | None:
        if blocker.read_text() != "a file, not a folder\n":
            return "the file in the way was changed"
        return None

    def not_distilled(d: Done) -> str | None:
        if "Distill-CF step" in d.out + d.err:
            return "refused only after distilling"
        return untouched(d)

    blocked = blocker / "sub"
    g.run(
        "run dir under a file",
        "one-line error",
        [*train(ws, b.csv), f"hydra.run.dir={blocked}"],
        names=str(blocked),
        check=untouched,
    )
    g.run(
        "paths.cache_dir under a file",
        "one-line error",
        [*train(ws, b.csv), f"paths.cache_dir={blocked}"],
        names=str(blocked),
        check=untouched,
    )
    g.run(
        "paths.support_dir under a file (Distill-CF)",
        "one-line error",
        [*train(ws, b.csv, "sampler=distill_cf", *TINY_DISTILL), f"paths.support_dir={blocked}"],
        names=str(blocked),
        check=not_distilled,
    )
    g.run(
        "infrec-distill run dir under a file",
        "one-line error",
        [*distill(ws, b.csv), f"hydra.run.dir={blocked}"],
        names=str(blocked),
        check=untouched,
    )
    g.run(
        "infrec-report --out under a file",
        "one-line error",
        report(report_runs, "--out", blocked),
        names=str(blocked),
        check=untouched,
    )

    # a disk that fills while a run's record is written (patched in the subprocess): the old
    # record stays whole, no temporary file is left
    ws = g.folder("midway")
    shutil.copytree(b.run_dir, ws / "run", dirs_exist_ok=True)
    old = files_under(ws / "run")
    code = (
        "import errno, sys\n"
        "from pathlib import Path\n"
        "real = Path.write_text\n"
        "def full(self, *a, **k):\n"
        "    if 'details.json' in self.name:\n"
        "        raise OSError(errno.ENOSPC, 'No space left on device', str(self))\n"
        "    return real(self, *a, **k)\n"
        "Path.write_text = full\n"
        "from infrec.apps.train import main\n"
        f"sys.argv = ['infrec-train', *{train(ws, b.csv)[1:]!r}]\n"
        "main()\n"
    )

    def old_record_whole(d: Done) -> str | None:
        now = files_under(ws / "run")
        changed = [k for k in ("metrics.json", "config.json", "details.json") if now[k] != old[k]]
        if changed:
            return f"half a record: {changed} changed"
        return f"temporary files left: {leftovers(ws)}" if leftovers(ws) else None

    g.run(
        "disk full while writing the run record (patched)",
        "one-line error",
        [sys.executable, "-c", code],
        names="details.json",
        check=old_record_whole,
        harmful=True,
    )
    if not mount:
        g.skipped.append("tmpfs cannot be mounted here: full-disk and read-only cases skipped")
        return

    def no_half(folder: Path) -> Callable[[Done], str | None]:
        def check(d: Done) -> str | None:
            stray = leftovers(folder)
            return f"temporary files left: {stray}" if stray else None

        return check

    ws = g.folder("full")
    with small_fs(ws / "cache", full=True) as cache:
        g.run(
            "paths.cache_dir on a full disk",
            "one-line error",
            train(ws, b.csv),
            names=str(cache),
            check=no_half(cache),
        )
    with small_fs(ws / "run", full=True) as run_dir:
        g.run(
            "run dir on a full disk",
            "one-line error",
            train(ws, b.csv),
            names=str(run_dir),
            check=no_half(run_dir),
        )
    with small_fs(ws / "supports", full=True) as supports:
        g.run(
            "paths.support_dir on a full disk (Distill-CF)",
            "one-line error",
            train(ws, b.csv, "sampler=distill_cf", *TINY_DISTILL),
            names=str(supports),
            check=no_half(supports),
        )
    with small_fs(ws / "out", full=True) as out:
        g.run(
            "infrec-report --out on a full disk",
            "one-line error",
            report(report_runs, "--out", out),
            names=str(out),
            check=no_half(out),
        )
    ws = g.folder("read-only")
    with small_fs(ws / "cache", read_only=True) as cache:
        g.run(
            "paths.cache_dir read-only",
            "one-line error",
            train(ws, b.csv),
            names=str(cache),
        )
    with small_fs(ws / "run", read_only=True) as run_dir:
        g.run("run dir read-only", "one-line error", train(ws, b.csv), names=str(run_dir))
    with small_fs(ws / "supports", read_only=True) as supports:
        g.run(
            "paths.support_dir read-only (Distill-CF)",
            "one-line error",
            train(ws, b.csv, "sampler=distill_cf", *TINY_DISTILL),
            names=str(supports),
            check=not_distilled,
        )
    with small_fs(ws / "out", read_only=True) as out:
        g.run(
            "infrec-report --out read-only",
            "one-line error",
            report(report_runs, "--out", out),
            names=str(out),
        )


def report_inputs(g: Group, b: Base) -> None:
    """``infrec-report`` on run records and report tables that are malformed."""
    metrics = (b.run_dir / "metrics.json").read_bytes()
    config = (b.run_dir / "config.json").read_bytes()

    def runs(ws: Path, metrics_text: bytes = metrics, config_text: bytes = config) -> Path:
        run = ws / "runs" / "0"
        run.mkdir(parents=True, exist_ok=True)
        (run / "metrics.json").write_bytes(metrics_text)
        (run / "config.json").write_bytes(config_text)
        return ws / "runs"

    ws = g.folder("clean")
    g.run(
        "a clean run (control)",
        "works",
        report(runs(ws), "--out", ws / "report"),
        check=lambda d: None if (ws / "report" / "fraction_curve.csv").is_file() else "no table",
    )
    table = ws / "report" / "fraction_curve.csv"
    cfg = json.loads(config)
    bad_metrics = {
        "metrics.json truncated": metrics[: len(metrics) // 2],
        "metrics.json empty": b"",
        "metrics.json a list": b"[1, 2]",
        "metrics.json a value as text": b'{"test/hr@10": "high", "test/ndcg@10": 0.1}',
        "metrics.json Infinity": b'{"test/hr@10": Infinity}',
        "metrics.json not UTF-8": b'{"test/hr@10": 0.5, "\xff\xfe": 1}',
        "metrics.json nested 10^5 deep": b"[" * 100_000 + b"]" * 100_000,
    }
    for name, text in bad_metrics.items():
        ws = g.folder(name)
        path = runs(ws, metrics_text=text) / "0" / "metrics.json"
        g.run(name, "one-line error", report(ws / "runs", "--out", ws / "report"), names=str(path))

    def config_with(**changes: Any) -> bytes:
        c = json.loads(json.dumps(cfg))
        for dotted, value in changes.items():
            node = c
            *parents, leaf = dotted.split("__")
            for p in parents:
                node = node[p]
            if value is KeyError:
                node.pop(leaf, None)
            else:
                node[leaf] = value
        return json.dumps(c).encode()

    bad_config = {
        "config.json not JSON": b"{dataset: x}",
        "config.json without dataset": config_with(dataset=KeyError),
        "config.json model.name a number": config_with(model__name=7),
        "config.json seed as text": config_with(seed="x"),
        "config.json sampler.budget -1": config_with(sampler__budget=-1),
        "config.json sampler a list": config_with(sampler=[1]),
    }
    for name, text in bad_config.items():
        ws = g.folder(name)
        path = runs(ws, config_text=text) / "0" / "config.json"
        g.run(name, "one-line error", report(ws / "runs", "--out", ws / "report"), names=str(path))

    if not table.is_file():
        g.skipped.append("the clean report failed: no table to extend")
        return
    good = table.read_text()
    header, *rows = good.splitlines()
    bad_tables = {
        "--extend: a valid table (control)": (good.encode(), "works"),
        "--extend: table cut mid-row": (good.encode()[: len(good) - 20], "one-line error"),
        "--extend: a number as text": (
            (header + "\n" + re.sub(r",\d+\.\d+", ",lots", rows[0], count=1) + "\n").encode(),
            "one-line error",
        ),
        "--extend: another CSV's header": (b"a,b,c\n1,2,3\n", "one-line error"),
        "--extend: not UTF-8": (good.encode() + b"\xff\xfe\n", "one-line error"),
        "--extend: NUL bytes": (good.encode().replace(b",", b",\0", 1), "one-line error"),
        "--extend: negative budget": (
            (header + "\n" + _with_column(header, rows[0], "budget", "-1") + "\n").encode(),
            "one-line error",
        ),
    }
    for name, (text, expect) in bad_tables.items():
        ws = g.folder(name)
        earlier = ws / "earlier"
        earlier.mkdir()
        (earlier / "fraction_curve.csv").write_bytes(text)
        g.run(
            name,
            expect,
            report(runs(ws), "--out", ws / "report", "--extend", earlier),
            names=str(earlier / "fraction_curve.csv"),
            check=(
                lambda d, ws=ws: (
                    None if (ws / "report" / "fraction_curve.csv").is_file() else "no table"
                )
            )
            if expect == "works"
            else None,
        )
    ws = g.folder("extend-missing")
    g.run(
        "--extend: a folder without the table",
        "one-line error",
        report(runs(ws), "--out", ws / "report", "--extend", ws / "nothing"),
        names=str(ws / "nothing"),
    )


def _with_column(header: str, row: str, column: str, value: str) -> str:
    import csv

    names = header.split(",")
    fields = next(csv.reader(io.StringIO(row)))
    fields[names.index(column)] = value
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(fields)
    return out.getvalue()


def raw_inputs(g: Group, b: Base) -> None:
    """Ratings files a user points ``dataset.path`` at: odd bytes, archives, other dialects."""
    text = b.csv.read_bytes()
    lines = text.decode().splitlines()
    reference_ws = g.folder("reference")
    done = run_cli(fetch(reference_ws, b.csv), cwd=reference_ws)
    reference = split_of(reference_ws / "cache") if done.rc == 0 else None
    if reference is None:
        g.skipped.append("infrec-fetch on the plain CSV failed: nothing to compare with")

    def tar_of(data: bytes) -> bytes:
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as t:
            info = tarfile.TarInfo("r.csv")
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
        return buf.getvalue()

    def zipped(data: bytes) -> bytes:
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            z.writestr("r.csv", data)
        return buf.getvalue()

    with_nul = "\n".join([*lines[:5], lines[5].replace(",", ",\0", 1), *lines[6:]]) + "\n"
    quoted = "".join(
        '"{}","{}","{}"\r\n'.format(*line.split(",")) for line in lines
    )  # RFC 4180: quoted fields, CRLF
    two_columns = "\n".join(",".join(line.split(",")[:2]) for line in lines).encode() + b"\n"
    cases: dict[str, tuple[str, bytes, list[str], str | None]] = {
        # name: (expected, bytes, extra overrides, what the error should say)
        "the plain CSV (control)": ("works", text, [], None),
        "gzip-compressed": ("works", gzip.compress(text), [], None),
        "two columns user,item": ("works", two_columns, [], None),
        "two columns, dataset.columns={user:0,item:1}": (
            "works",
            two_columns,
            ["dataset.columns={user:0,item:1}"],
            None,
        ),
        "RFC 4180 quoted fields, CRLF": ("works", quoted.encode(), [], None),
        "CRLF line ends": ("works", text.replace(b"\n", b"\r\n"), [], None),
        "a UTF-8 byte-order mark": ("works", b"\xef\xbb\xbf" + text, [], None),
        "NUL bytes in line 6": ("one-line error", with_nul.encode(), [], r"NUL.*6|6.*NUL"),
        "NUL bytes in line 6, string ids": (
            "one-line error",
            with_nul.encode(),
            ["dataset.string_ids=true"],
            r"NUL.*6|6.*NUL",
        ),
        "a zip archive": ("one-line error", zipped(text), [], r"\bzip\b"),
        "a tar archive": ("one-line error", tar_of(text), [], r"\btar\b"),
        "bzip2-compressed": ("one-line error", bz2.compress(text), [], r"bz2|bzip"),
        "xz-compressed": ("one-line error", lzma.compress(text), [], r"\bxz\b|lzma"),
        "not UTF-8 (Latin-1 byte)": (
            "one-line error",
            text.replace(b"\n1,", b"\n1\xe9,", 1),
            [],
            "UTF-8",
        ),
        "a PNG image": (
            "one-line error",
            b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR" + bytes(64),
            [],
            None,
        ),
        "an empty file": ("one-line error", b"", [], None),
    }
    for i, (name, (expect, data, extra, says)) in enumerate(cases.items()):
        ws = g.folder(name)
        source = ws / f"ratings{i}.csv"
        source.write_bytes(data)

        def check(d: Done, ws: Path = ws, expect: str = expect) -> str | None:
            if expect != "works" or reference is None:
                return None
            got = split_of(ws / "cache")
            return None if same_split(got, reference) else "the split differs from the plain CSV's"

        g.run(
            name,
            expect,
            fetch(ws, source, *extra),
            cwd=ws,
            names=str(source),
            says=says,
            check=check,
        )


GROUPS: dict[str, Callable[..., None]] = {
    "support files (from_file)": support_files,
    "Distill-CF cache": distill_cache,
    "prepared-split cache": prepared_cache,
    "names leaving their folder": names,
    "publishing": publishing,
    "temp clean-up": temp_cleanup,
    "writes": writes,
    "report inputs": report_inputs,
    "raw inputs": raw_inputs,
}
NOTES = {
    "support files (from_file)": "`infrec-train sampler=from_file`; each file edited as named",
    "Distill-CF cache": "`infrec-distill`; works = one 'rebuilding' line and the support a clean"
    " distillation gives",
    "prepared-split cache": "`infrec-train`; works = one 'rebuilding' line, metrics equal to a "
    "clean run's",
    "names leaving their folder": "train, fetch, distill, report; nothing written outside",
    "publishing": "`infrec-train -m experiment=debug +hydra.callbacks.report.publish_dir=…`",
    "temp clean-up": "one `infrec-train` into a run dir holding look-alike temp files",
    "writes": "a file in the way, a full or read-only tmpfs, a disk filling mid-record",
    "report inputs": "`infrec-report` on malformed metrics.json / config.json / `--extend` CSV",
    "raw inputs": "`infrec-fetch dataset=custom`; works = the split equal to the plain CSV's",
}


# --------------------------------------------------------------------------- the table


def table(groups: list[Group]) -> str:
    head = "| case class | cases | " + " | ".join(OUTCOMES) + " | as expected | notes |"
    lines = [head, "|" + "---|" * (len(OUTCOMES) + 4)]
    totals = dict.fromkeys(OUTCOMES, 0)
    n_all = expected_all = 0
    for g in groups:
        counts = {o: sum(c.outcome == o for c in g.cases) for o in OUTCOMES}
        expected = sum(c.as_expected for c in g.cases)
        for o in OUTCOMES:
            totals[o] += counts[o]
        n_all += len(g.cases)
        expected_all += expected
        notes = [NOTES.get(g.title, "")]
        off = [c.name for c in g.cases if not c.as_expected]
        if off:
            notes.append("not as expected: " + "; ".join(off))
        notes += g.skipped
        lines.append(
            f"| {g.title} | {len(g.cases)} | "
            + " | ".join(str(counts[o]) for o in OUTCOMES)
            + f" | {expected}/{len(g.cases)} | {'. '.join(n for n in notes if n)} |"
        )
    lines.append(
        f"| **all** | **{n_all}** | "
        + " | ".join(f"**{totals[o]}**" for o in OUTCOMES)
        + f" | **{expected_all}/{n_all}** | |"
    )
    return "\n".join(lines)


def details(groups: list[Group]) -> str:
    lines = [
        "| case class | case | expected | outcome | s | message |",
        "|---|---|---|---|---|---|",
    ]
    for g in groups:
        for c in g.cases:
            message = "; ".join(m for m in (c.message, c.unmet) if m)
            message = message.replace("|", "\\|").replace("\n", " ")[:400]
            lines.append(
                f"| {g.title} | {c.name} | {c.expect} | {c.outcome} | {c.seconds:.1f} | {message} |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--verbose", action="store_true", help="every case's outcome and message")
    parser.add_argument("--jobs", type=int, default=2, help="case classes run at once")
    parser.add_argument("--only", nargs="*", default=None, help="case classes (prefixes) to run")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument(
        "--strict", action="store_true", help="exit 1 on any case not as expected, too"
    )
    args = parser.parse_args()
    chosen = {
        t: f
        for t, f in GROUPS.items()
        if args.only is None or any(t.startswith(o) for o in args.only)
    }
    start = time.perf_counter()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # kill: unmount and clean up too
    ws = Path(tempfile.mkdtemp(prefix="infrec-reliability-"))
    groups: list[Group] = []
    try:
        print(f"working in {ws}", file=sys.stderr)
        base = setup(ws, args.jobs)
        mount = can_mount(ws)
        print(f"setup done in {time.perf_counter() - start:.0f} s", file=sys.stderr)
        groups = [Group(t, ws / f"g{i}", args.verbose) for i, t in enumerate(chosen)]

        def run_group(pair: tuple[Group, Callable[..., None]]) -> None:
            g, fn = pair
            try:
                if fn is writes:
                    fn(g, base, mount)
                else:
                    fn(g, base)
            except Exception as e:
                g.skipped.append(f"the case class stopped: {type(e).__name__}: {e}")
                with PRINT_LOCK:
                    print(f"  [{g.title}] stopped: {e!r}", file=sys.stderr)

        # the slowest classes first, so the two workers finish together
        order = sorted(zip(groups, chosen.values(), strict=True), key=lambda p: _weight(p[0]))
        with ThreadPoolExecutor(max(1, args.jobs)) as pool:
            list(pool.map(run_group, order))
    finally:
        for mounted in list(MOUNTS):
            subprocess.run(["umount", "-l", str(mounted)], check=False)
        if not args.keep:
            shutil.rmtree(ws, ignore_errors=True)
        else:
            print(f"kept {ws}", file=sys.stderr)
    elapsed = time.perf_counter() - start
    print(f"infrec reliability cases, {time.strftime('%Y-%m-%d')}, {elapsed:.0f} s\n")
    print(table(groups))
    cases = [c for g in groups for c in g.cases]
    off = [c for c in cases if not c.as_expected]
    if off:
        print("\nnot as expected:\n")
        for c in off:
            why = "; ".join(m for m in (c.message[:300], c.unmet) if m)
            print(f"- {c.group} / {c.name}: expected {c.expect}, got {c.outcome}: {why}")
    if args.verbose:
        print("\n" + details(groups))
    bad = [c for c in cases if c.outcome in ("traceback", "crash") or c.harm]
    failed = bad or (args.strict and off)
    sys.exit(1 if failed else 0)


def _weight(g: Group) -> int:
    order = ["Distill-CF", "support", "writes", "names", "publishing", "prepared", "report", "raw"]
    return next((i for i, k in enumerate(order) if g.title.startswith(k)), len(order))


if __name__ == "__main__":
    main()
