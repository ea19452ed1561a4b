"""Where the project keeps its things (``conf/``, ``data/`` raw, ``outputs/`` derived) and how it
writes them: atomically, so a crash never leaves a half-written file."""

from __future__ import annotations

import glob
import json
import os
import socket
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


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _owner_tag() -> str:
    """``<host>-<pid>`` (dots and dashes of the host name folded), marking our temporary files."""
    return f"{socket.gethostname().replace('.', '_').replace('-', '_')}-{os.getpid()}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove_orphans(target: Path) -> None:
    """Temporary files of ``target`` left by a killed process of this host (a rerun cleans up)."""
    host = _owner_tag().rsplit("-", 1)[0]
    for tmp in target.parent.glob(f".{glob.escape(target.name)}.*.tmp"):
        owner = tmp.name[len(target.name) + 2 :].split(".", 1)[0]
        tmp_host, _, pid = owner.rpartition("-")
        if tmp_host == host and pid.isdigit() and not _alive(int(pid)):
            tmp.unlink(missing_ok=True)


@contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; move it into place only if the block succeeds.

    A crash or an exception never leaves a half-written ``target``; the file gets the usual
    permissions (``0666`` less the umask, so a group on a shared file system can read results),
    and temporary files that killed runs left behind are removed on the next write.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    _remove_orphans(target)
    fd, tmp = tempfile.mkstemp(
        prefix=f".{target.name}.{_owner_tag()}.", suffix=".tmp", dir=target.parent
    )
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.chmod(tmp_path, 0o666 & ~_umask())
        os.replace(tmp_path, target)
    finally:
        tmp_path.unlink(missing_ok=True)


def write_json(path: str | Path, obj: Any) -> None:
    """``obj`` as indented, key-sorted JSON at ``path``, written atomically."""
    with atomic_path(Path(path)) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=True) + "\n")
