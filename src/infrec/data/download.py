"""Get a dataset's raw files into ``data/``, checksum-verified, from the first source that works.

A dataset config lists ``files``: each has a ``name`` (relative to ``dataset.path``), an optional
``sha256`` and ``sources`` tried in order:

- ``{url}``: the file itself;
- ``{url, member, header}``: a member of a zip archive, optionally with a header line prepended
  (how GroupLens' ``u.data`` becomes the atomic ``ml-100k.inter``);
- ``{wheel, member}``: a member of a wheel from PyPI (``pip download <wheel> --no-deps
  --only-binary=:all:``: a built wheel only, so no package code — no ``setup.py`` of an sdist —
  ever runs to fetch data); the package is never installed or imported.

A ``member`` is only read from its archive, never extracted to a path; a file's ``name`` goes
through :func:`infrec.paths.inside`, so a config cannot write outside the raw folder. Every file
is written atomically; a checksum mismatch tries the next source and, if none is left, fails
naming the file, the expected and the actual hash.
"""

from __future__ import annotations

import hashlib
import io
import logging
import subprocess
import sys
import tempfile
import urllib.request
import zipfile
from pathlib import Path
from typing import Any

from infrec.errors import InfrecError
from infrec.paths import atomic_path, inside

log = logging.getLogger(__name__)

TIMEOUT_S = 30


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with Path(path).open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _download(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=TIMEOUT_S) as r:
        return r.read()


def _from_wheel(spec: str, member: str) -> bytes:
    """``member`` read from the wheel ``spec`` names (e.g. ``recbole==1.2.1``): downloaded with
    pip, wheels only and no dependencies, then opened as a zip — never installed or run."""
    if spec.startswith("-"):
        raise OSError(f"wheel {spec!r} is not a requirement such as 'name==version'")
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "pip", "download", spec, "--no-deps", "--only-binary=:all:"]
        cmd += ["--disable-pip-version-check", "-q", "-d", tmp]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False)
        wheels = list(Path(tmp).glob("*.whl"))
        if done.returncode != 0 or not wheels:
            raise OSError(f"pip download {spec} failed: {done.stderr.strip()[-300:]}")
        with zipfile.ZipFile(wheels[0]) as z:
            return z.read(member)


def fetch_bytes(source: Any) -> bytes:
    """The bytes one source gives (see the module docstring for the source kinds)."""
    if source.get("wheel"):
        return _from_wheel(str(source["wheel"]), str(source["member"]))
    data = _download(str(source["url"]))
    if source.get("member"):
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            data = z.read(str(source["member"]))
    header = source.get("header")
    if header:
        data = (str(header).rstrip("\n") + "\n").encode() + data
    return data


def _describe(source: Any) -> str:
    return f"wheel {source['wheel']}" if source.get("wheel") else str(source.get("url"))


def fetch_file(spec: Any, folder: Path) -> Path:
    """Ensure ``folder/spec.name`` exists with the right checksum; download it if absent."""
    target = inside(folder, spec["name"], "dataset.files[].name")
    expected = spec.get("sha256")
    if target.is_file():
        if expected and sha256_file(target) != expected:
            raise InfrecError(
                f"{target}: sha256 {sha256_file(target)} does not match the pinned {expected}; "
                "delete the file to fetch it again"
            )
        return target
    errors = []
    for source in spec.get("sources") or []:
        try:
            log.info("fetching %s from %s", target.name, _describe(source))
            data = fetch_bytes(source)
        except (OSError, KeyError, zipfile.BadZipFile, subprocess.SubprocessError) as e:
            errors.append(f"{_describe(source)}: {e}")
            continue
        actual = sha256_bytes(data)
        if expected and actual != expected:
            errors.append(f"{_describe(source)}: sha256 {actual} != pinned {expected}")
            continue
        with atomic_path(target) as tmp:
            tmp.write_bytes(data)
        log.info("wrote %s (%d bytes, sha256 %s)", target, len(data), actual)
        return target
    raise InfrecError(
        f"{target}: could not fetch ({'; '.join(errors) or 'no sources configured'}); "
        "download it yourself and set dataset.path"
    )


def raw_folder(cfg: Any) -> Path:
    """The folder a dataset's raw files live in (``dataset.path``, or its parent if a file)."""
    path = Path(str(cfg.path)).expanduser()
    return path.parent if path.is_file() else path


def missing_files(cfg: Any) -> list[str]:
    """Names of the files a dataset config lists that are not in its raw folder yet."""
    if not cfg.get("files") or not cfg.get("path"):
        return []
    folder = raw_folder(cfg)
    return [
        str(spec["name"])
        for spec in cfg.files
        if not inside(folder, spec["name"], "dataset.files[].name").is_file()
    ]


def fetch_dataset(cfg: Any) -> Path:
    """Fetch every file a dataset config lists into ``dataset.path``; return that folder."""
    if not cfg.get("files"):
        raise InfrecError(
            f"dataset '{cfg.name}' has no public source to fetch; set dataset.path to a local copy"
        )
    if not cfg.get("path"):
        raise InfrecError(f"dataset.path is not set for dataset '{cfg.name}'")
    folder = raw_folder(cfg)
    names = ", ".join(str(spec["name"]) for spec in cfg.files)
    for spec in cfg.files:
        try:
            fetch_file(spec, folder)
        except InfrecError as e:  # say which files the dataset needs, and where
            raise InfrecError(
                f"{e}. Dataset '{cfg.name}' needs {names}: put them in {folder}, or set "
                f"dataset.path=<a folder holding {names}>"
            ) from None
    return folder
