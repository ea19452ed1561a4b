"""Where the project keeps its things (``conf/``, ``data/`` raw, ``outputs/`` derived) and how it
writes them: whole or not at all, inside the folder meant, never over what it did not make.

- :func:`safe_name`: a config or data value that becomes part of a path (a dataset, study, report,
  support or run name) has no separator, ``..``, absolute form, NUL or control character;
- :func:`atomic_path` / :func:`atomic_files`: one file, or a set of files (a run's record), written
  to temporary files beside their targets and moved into place only when all are written — a full
  disk, a read-only folder or a crash leaves the previous state, not half a record;
- :func:`check_writable`: an output folder proved writable before heavy work starts;
- temporary files carry a random token (:data:`TMP_TAG`), so clean-up removes only the project's
  own, owned by this user and old enough (:data:`ABANDONED_AFTER_S`) to have been abandoned.

File modes are the usual ``0666`` less the umask, applied by the kernel as each file is created
(``O_CREAT`` with mode ``0666``); the process umask is never changed.
"""

from __future__ import annotations

import errno
import glob
import json
import os
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from infrec.errors import InfrecError

TMP_TAG = "infrec-tmp"
"""Marks the project's temporary files: ``.<target>.infrec-tmp-<uuid4 hex>.tmp``."""
ABANDONED_AFTER_S = 24 * 3600
"""A temporary file of the project's untouched this long belonged to a run that died."""
MAX_NAME = 200


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


def safe_name(value: Any, what: str) -> str:
    """``value`` as a name that stays inside the folder it is joined to, else one error naming
    ``what`` (e.g. ``dataset.name``): no ``/`` or ``\\``, not ``.``/``..``, no NUL or control
    character, not empty, at most :data:`MAX_NAME` characters."""
    name = str(value)
    problem = None
    if not name:
        problem = "is empty"
    elif "/" in name or "\\" in name:
        problem = "holds a path separator"
    elif name in (".", ".."):
        problem = "is a relative folder"
    elif any(ord(c) < 32 or ord(c) == 127 for c in name):
        problem = "holds a NUL or control character"
    elif len(name) > MAX_NAME:
        problem = f"is longer than {MAX_NAME} characters"
    if problem:
        raise InfrecError(
            f"{what}={name!r} {problem}; it names a file or folder, so use letters, digits, "
            "'-', '_' and '.' only"
        )
    return name


def inside(folder: str | Path, relative: Any, what: str) -> Path:
    """``folder/relative`` for a relative path given by a config or data value (``a/b.txt``
    allowed), refused when it is absolute or any part is unsafe (:func:`safe_name`)."""
    text = str(relative)
    if not text or Path(text).is_absolute() or text.startswith(("/", "\\")):
        raise InfrecError(f"{what}={text!r} must be a relative file name inside {folder}")
    for part in text.split("/"):
        safe_name(part, what)
    return Path(folder) / text


def user_error(e: OSError, doing: str = "writing") -> InfrecError:
    """An operating-system failure (full disk, read-only folder, no permission) as one line
    naming the path."""
    path = e.filename or "?"
    reason = e.strerror or str(e)
    hint = {
        errno.ENOSPC: "free some space or point paths.* elsewhere",
        errno.EDQUOT: "free some space or point paths.* elsewhere",
        errno.EROFS: "the file system is read-only; point paths.* at a writable folder",
        errno.EACCES: "no permission; point paths.* at a folder you can write",
        errno.EPERM: "no permission; point paths.* at a folder you can write",
    }.get(e.errno or 0, "")
    return InfrecError(f"{path}: {doing} failed: {reason}" + (f"; {hint}" if hint else ""))


def _create_tmp(target: Path) -> Path:
    """A new, empty temporary file beside ``target`` (mode 0666 less the umask, by the kernel)."""
    tmp = target.with_name(f".{target.name}.{TMP_TAG}-{uuid.uuid4().hex}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    os.close(fd)
    return tmp


def remove_abandoned(target: Path, now: float | None = None) -> None:
    """The project's temporary files of ``target`` that this user left and nobody touched for
    :data:`ABANDONED_AFTER_S` (a killed run's): nothing else, whoever else shares the folder."""
    now = time.time() if now is None else now
    for tmp in target.parent.glob(f".{glob.escape(target.name)}.{TMP_TAG}-*.tmp"):
        token = tmp.name[len(target.name) + len(TMP_TAG) + 3 : -4]
        if len(token) != 32 or not all(c in "0123456789abcdef" for c in token):
            continue
        try:
            info = tmp.lstat()
            if info.st_uid == os.getuid() and now - info.st_mtime > ABANDONED_AFTER_S:
                tmp.unlink()
        except OSError:
            continue


@contextmanager
def atomic_files(targets: Sequence[str | Path]) -> Iterator[list[Path]]:
    """Yield one temporary path per target; move all into place only if the block succeeds.

    The files are written (and flushed) before the first is moved, so a failure while writing
    leaves every target as it was; the moves are renames within each folder, which need no
    space. An ``OSError`` (full disk, read-only folder, permission) becomes one
    :class:`~infrec.errors.InfrecError` naming the path.
    """
    targets = [Path(t) for t in targets]
    tmps: list[Path] = []
    try:
        for target in targets:
            target.parent.mkdir(parents=True, exist_ok=True)
            remove_abandoned(target)
            tmps.append(_create_tmp(target))
        yield tmps
        for tmp, target in zip(tmps, targets, strict=True):
            os.replace(tmp, target)
    except OSError as e:
        if not e.filename and targets:  # a failed write() names no file: the target it was for
            e.filename = str(targets[0] if len(targets) == 1 else targets[0].parent)
        raise user_error(e) from None
    finally:
        for tmp in tmps:
            tmp.unlink(missing_ok=True)


@contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """:func:`atomic_files` for one file: never a half-written ``target``."""
    with atomic_files([target]) as (tmp,):
        yield tmp


def json_text(obj: Any) -> str:
    return json.dumps(obj, indent=2, sort_keys=True) + "\n"


def write_json(path: str | Path, obj: Any) -> None:
    """``obj`` as indented, key-sorted JSON at ``path``, written atomically."""
    text = json_text(obj)
    with atomic_path(Path(path)) as tmp:
        tmp.write_text(text)


def write_json_set(files: dict[Path, Any]) -> None:
    """Several JSON files as one record: all of them written, or none changed."""
    texts = {Path(p): json_text(obj) for p, obj in files.items()}
    with atomic_files(list(texts)) as tmps:
        for tmp, text in zip(tmps, texts.values(), strict=True):
            tmp.write_text(text)


def check_writable(folder: str | Path, what: str) -> Path:
    """``folder`` proved writable — or, when it does not exist yet, its nearest existing parent —
    by writing, syncing and removing a one-page probe file, before heavy work whose results would
    go there (a full disk fails here too); else one error naming it. Nothing is left behind (a
    missing folder is not created here)."""
    folder = Path(folder)
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    try:
        if not existing.is_dir():
            raise NotADirectoryError(errno.ENOTDIR, "not a folder", str(existing))
        probe = _create_tmp(existing / ".write-probe")
        try:  # a page written and synced: a full disk fails here, not after the heavy work
            with probe.open("wb") as f:
                f.write(b"\0" * 4096)
                f.flush()
                os.fsync(f.fileno())
        finally:
            probe.unlink()
    except OSError as e:
        raise InfrecError(
            f"{folder}: {what} is not writable ({existing}: {e.strerror or e}); point it at a "
            "folder you can write"
        ) from None
    return folder


@contextmanager
def as_user_errors(doing: str = "writing") -> Iterator[None]:
    """OS failures inside the block as one-line :class:`InfrecError` naming the path."""
    try:
        yield
    except InfrecError:
        raise
    except OSError as e:
        raise user_error(e, doing) from None
