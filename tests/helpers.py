"""Helpers the test modules share: ../shared paths, config composition, builders, tiny data.

Fixtures live in ``conftest.py``; plain functions live here and are imported by name.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from infrec.config import register
from infrec.data.matrix import Split
from infrec.models import build_model
from infrec.paths import config_dir, project_root
from infrec.samplers import build_sampler

SHARED = project_root().parent / "shared"
PAPER_SPLIT = SHARED / "datasets" / "ml-1m-paper"
GOLDEN = SHARED / "fixtures" / "ntk_golden.npz"


def need(path: Path) -> Path:
    """``path``, or skip the test with the reason when it is absent."""
    if not path.exists():
        pytest.skip(f"{path} is not available (../shared is absent in this checkout)")
    return path


def compose_cfg(overrides: list[str], tmp_path: Path):
    """The app's config as Hydra composes it, with data/cache under ``tmp_path``."""
    register()
    with initialize_config_dir(str(config_dir()), version_base="1.3"):
        return compose(
            "config",
            overrides=[
                f"paths.data_dir={tmp_path / 'data'}",
                f"paths.cache_dir={tmp_path / 'cache'}",
                *overrides,
            ],
        )


def group_cfg(group: str, name: str, **overrides: Any):
    """``conf/<group>/<name>.yaml`` with ``overrides`` (values the file's interpolations need
    included), as the app would hand it to the registry."""
    cfg = OmegaConf.load(config_dir() / group / f"{name}.yaml")
    return OmegaConf.merge(cfg, overrides)


def conf_model(name: str, dtype: str = "float32", seed: int = 0, **overrides: Any):
    """A model built from its YAML defaults, as ``infrec-train model=<name>`` builds it."""
    return build_model(group_cfg("model", name, **overrides), seed=seed, dtype=dtype)


def conf_sampler(name: str, seed: int = 0, support_dir: str | None = None, **overrides: Any):
    """A sampler built from its YAML defaults, as ``infrec-train sampler=<name>`` builds it."""
    cfg = group_cfg("sampler", name, **overrides)
    return build_sampler(cfg, seed=seed, support_dir=support_dir)


def make_split(n_users: int = 40, n_items: int = 30, seed: int = 0) -> Split:
    """Users of varied activity, every one with item 0, and no validation or test rows."""
    rng = np.random.default_rng(seed)
    dense = (rng.random((n_users, n_items)) < rng.uniform(0.05, 0.6, (n_users, 1))).astype(
        np.float32
    )
    dense[:, 0] = 1.0
    empty = sp.csr_matrix((n_users, n_items), dtype=np.float32)
    return Split(sp.csr_matrix(dense), empty, empty, name="toy", key="k")


def reference_ntk(x1: np.ndarray, x2: np.ndarray, depth: int):
    """An independent float64 NumPy transcription of the arc-cosine recursion: (NTK, NNGP)."""
    w, b = 2.0, 0.01
    n0 = x1.shape[1]
    k = w * x1 @ x2.T / n0 + b
    k1 = w * (x1**2).sum(1) / n0 + b
    k2 = w * (x2**2).sum(1) / n0 + b
    theta = k.copy()
    for _ in range(depth):
        norm = np.sqrt(np.outer(k1, k2))
        c = np.clip(k / norm, -1, 1)
        t = np.arccos(c)
        k = w * norm * (np.sin(t) + (math.pi - t) * c) / (2 * math.pi) + b
        theta = k + w * (math.pi - t) / (2 * math.pi) * theta
        k1, k2 = k1 + b, k2 + b
    return theta, k


def tiny_csv(path: Path) -> None:
    """60 users × 40 items as ``user,item,1`` lines (every user has item ``u % 40``)."""
    rng = np.random.default_rng(0)
    lines = [
        f"{u},{i},1"
        for u in range(60)
        for i in range(40)
        if rng.random() < 0.15 + 0.3 * (u % 3 == 0) or i == u % 40
    ]
    path.write_text("\n".join(lines) + "\n")


def multirun(args: list[str]) -> subprocess.CompletedProcess:
    """``infrec-train -m <args>`` as a user runs it (W&B offline and quiet); it must succeed."""
    done = subprocess.run(
        [sys.executable, "-m", "infrec.apps.train", "-m", *args],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
        env={**os.environ, "WANDB_MODE": "offline", "WANDB_SILENT": "true"},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def sweep(args: list[str], tmp_path: Path) -> subprocess.CompletedProcess:
    """Multirun the real CLI on the tiny CSV ``tmp_path / 'r.csv'``; ``args`` name the study."""
    return multirun(
        [
            "dataset=custom",
            f"dataset.path={tmp_path / 'r.csv'}",
            "eval.ks=[10,20]",
            "selection.metric=val/hr@20",
            f"paths.cache_dir={tmp_path / 'cache'}",
            f"paths.support_dir={tmp_path / 'supports'}",
            *args,
        ]
    )


def wandb_records(path: Path) -> list:
    """The protobuf records of an offline W&B run file (``run-*.wandb``), read without a server.

    The file is W&B's LevelDB-style log: a 7-byte header (``:W&B``, magic, version), then records
    of (crc32, length, type) + payload in 32 KiB blocks, long payloads split FIRST/MIDDLE/LAST.
    """
    import struct

    from wandb.proto import wandb_internal_pb2 as pb

    data = Path(path).read_bytes()
    assert data[:4] == b":W&B", f"{path}: not a W&B run file"
    block, pos, payload, records = 32768, 7, b"", []
    while pos + 7 <= len(data):
        left = block - pos % block
        if left < 7:  # a block's tail too short for a header is padding
            pos += left
            continue
        _, length, kind = struct.unpack("<IHB", data[pos : pos + 7])
        if length == 0 and kind == 0:
            pos += left
            continue
        payload += data[pos + 7 : pos + 7 + length]
        pos += 7 + length
        if kind in (1, 4):  # FULL or LAST: a whole record
            record = pb.Record()
            record.ParseFromString(payload)
            records.append(record)
            payload = b""
    return records


def wandb_run(run_dir: Path, wait_s: float = 60.0) -> dict[str, Any]:
    """What a reviewer would see of the one offline W&B run under ``run_dir``: its config, final
    summary, history rows, group, name, tags, the metrics it defined with their step axes, and
    the folder of its files (``files``: tables and images the summary points to).

    ``wandb.finish()`` returns before W&B's service has written the run file out, so a run read
    in the process that made it is waited for (up to ``wait_s``) until its exit record is there.
    """
    import json as _json
    import time

    (run_file,) = Path(run_dir).glob("wandb/offline-run-*/run-*.wandb")
    deadline = time.monotonic() + wait_s
    records = wandb_records(run_file)
    while not any(r.WhichOneof("record_type") == "exit" for r in records):
        assert time.monotonic() < deadline, f"{run_file}: no exit record after {wait_s} s"
        time.sleep(0.2)
        records = wandb_records(run_file)
    out: dict[str, Any] = {
        "config": {},
        "summary": {},
        "history": [],
        "steps": {},
        "files": run_file.parent / "files",
    }

    def items(updates) -> dict[str, Any]:
        return {(i.key or "/".join(i.nested_key)): _json.loads(i.value_json) for i in updates}

    for record in records:
        kind = record.WhichOneof("record_type")
        if kind == "run":
            out.update(group=record.run.run_group, name=record.run.display_name)
            out["tags"] = list(record.run.tags)
            out["config"].update(items(record.run.config.update))
        elif kind == "config":
            out["config"].update(items(record.config.update))
        elif kind == "summary":
            out["summary"].update(items(record.summary.update))
        elif kind == "history":
            out["history"].append(items(record.history.item))
        elif kind == "metric" and record.metric.step_metric:
            out["steps"][record.metric.glob_name or record.metric.name] = record.metric.step_metric
    out["config"] = {  # W&B's own entries (panel specs of line plots) left out
        k: v for k, v in out["config"].items() if k != "_wandb" and not k.startswith("_wandb/")
    }
    return out


def wandb_metrics(record: dict[str, Any]) -> dict[str, Any]:
    """A run's summary without W&B's own keys (``_step``, ``_runtime``, ``_wandb/…``)."""
    return {k: v for k, v in record["summary"].items() if not k.startswith("_")}


def wandb_table(record: dict[str, Any], key: str) -> list[dict[str, Any]]:
    """The rows of the table the summary holds at ``key``, read from the run's files; an empty
    cell (None) reads as ``""``, as in the CSV the same rows are written to."""
    import json as _json

    entry = {
        k.removeprefix(f"{key}/"): v
        for k, v in record["summary"].items()
        if k.startswith(f"{key}/")
    }
    assert entry.get("_type") == "table-file", f"{key} is not a table: {entry.get('_type')}"
    table = _json.loads((record["files"] / entry["path"]).read_text())
    return [
        {c: "" if v is None else v for c, v in zip(table["columns"], row, strict=True)}
        for row in table["data"]
    ]


def csv_records(path: Path) -> list[dict[str, Any]]:
    """A CSV's rows with numbers read as floats (``nan`` included), other cells as text."""
    import csv

    def cell(text: str) -> Any:
        try:
            return float(text)
        except ValueError:
            return text

    with Path(path).open() as f:
        return [{k: cell(v) for k, v in row.items()} for row in csv.DictReader(f)]


SRC = project_root() / "src"


def module_file(module: str) -> Path | None:
    """The source file of an infrec module or package (None for names that are neither)."""
    path = SRC / module.replace(".", "/")
    for candidate in (path / "__init__.py", path.with_suffix(".py")):
        if candidate.is_file():
            return candidate
    return None


def infrec_imports(path: Path) -> set[str]:
    """Every infrec module a source file imports, anywhere in it (function-level imports too)."""
    import ast

    found = set()
    for node in ast.walk(ast.parse(Path(path).read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == "infrec"}
        elif (
            isinstance(node, ast.ImportFrom)
            and node.level == 0
            and (node.module or "").split(".")[0] == "infrec"
        ):
            found.add(node.module)
            found |= {
                f"{node.module}.{a.name}"
                for a in node.names
                if module_file(f"{node.module}.{a.name}")
            }
    return found


def code_closure(*roots: str) -> set[str]:
    """Every infrec source file (relative to the project root) the ``roots`` import,
    transitively, the ``__init__`` of each package on the way included."""
    seen: set[str] = set()
    todo = list(roots)
    while todo:
        module = todo.pop()
        if module in seen or module_file(module) is None:
            continue
        seen.add(module)
        parts = module.split(".")
        todo += [".".join(parts[:i]) for i in range(1, len(parts))]
        todo += infrec_imports(module_file(module))
    return {str(module_file(m).relative_to(project_root())) for m in seen}
