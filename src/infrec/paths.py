"""Where the project keeps its things (``conf/``, ``data/`` raw, ``outputs/`` derived) and how it
writes them: atomically, so a crash never leaves a half-written file."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


def project_root() -> Path:
    """The checkout holding ``conf/`` (editable installs), else the current directory.

    ``INFREC_ROOT`` overrides both, so a non-editable install can point at a checkout.
    """
    env = os.environ.get("INFREC_ROOT")
    if env:
        return Path(env).resolve()
    here = Path(__file__).resolve().parents[2]
    if (here / "conf" / "config.yaml").is_file():
        return here
    return Path.cwd()


def config_dir() -> Path:
    return project_root() / "conf"


@contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; move it into place only if the block succeeds.

    A crash or an exception never leaves a half-written ``target``.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, target)
    finally:
        tmp_path.unlink(missing_ok=True)


def write_json(path: str | Path, obj: Any) -> None:
    """``obj`` as indented, key-sorted JSON at ``path``, written atomically."""
    with atomic_path(Path(path)) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=True) + "\n")
