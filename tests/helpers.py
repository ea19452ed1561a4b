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


def wandb_run(run_dir: Path) -> dict[str, Any]:
    """What a reviewer would see of the one offline W&B run under ``run_dir``: its final summary,
    history rows, group, name, tags and the metrics it defined with their step axes."""
    import json as _json

    (run_file,) = Path(run_dir).glob("wandb/offline-run-*/run-*.wandb")
    out: dict[str, Any] = {"summary": {}, "history": [], "steps": {}}
    for record in wandb_records(run_file):
        kind = record.WhichOneof("record_type")
        if kind == "run":
            out.update(group=record.run.run_group, name=record.run.display_name)
            out["tags"] = list(record.run.tags)
        elif kind == "summary":
            for item in record.summary.update:
                key = item.key or "/".join(item.nested_key)
                out["summary"][key] = _json.loads(item.value_json)
        elif kind == "history":
            out["history"].append(
                {
                    (i.key or "/".join(i.nested_key)): _json.loads(i.value_json)
                    for i in record.history.item
                }
            )
        elif kind == "metric" and record.metric.step_metric:
            out["steps"][record.metric.glob_name or record.metric.name] = record.metric.step_metric
    return out


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
