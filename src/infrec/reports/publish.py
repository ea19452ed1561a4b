"""Publishing a rendered report into a fixed folder (``publish_dir``) that DVC and the README read.

The folder is the project's only when it says so: a manifest, :data:`MARKER`, lists every file a
publish wrote. A publish refuses a target holding anything else (a user's notes, another tool's
output) with an error saying what to do, and touches nothing beside the target: the new content
is staged in a fresh temporary folder of its own (a random token in its name, never a fixed
``<dir>.new`` that a user's folder could share), then swapped in by two renames; the old content,
every file of it listed in the manifest, is removed last.
"""

from __future__ import annotations

import os
import re
import shutil
import uuid
from pathlib import Path

from infrec.errors import InfrecError
from infrec.paths import TMP_TAG, as_user_errors, json_text
from infrec.validate import read_json

MARKER = ".infrec-published.json"
"""The manifest of a published folder: ``{"written_by": "infrec", "files": [relative paths]}``."""
LEFT_OUT = ("wandb",)
"""Parts of a rendered report that are not published (the tracker's own files)."""


def owned_files(out: Path) -> set[str] | None:
    """The files a publish wrote into ``out`` (its manifest), ``None`` when ``out`` has none."""
    marker = out / MARKER
    if not marker.is_file():
        return None
    manifest = read_json(marker, "publish manifest")
    files = manifest.get("files") if isinstance(manifest, dict) else None
    if manifest.get("written_by") != "infrec" or not isinstance(files, list):
        raise InfrecError(
            f"{marker}: not a manifest written by infrec; remove it or publish elsewhere"
        )
    return {str(f) for f in files}


def _relative_files(folder: Path) -> set[str]:
    return {
        str(p.relative_to(folder)) for p in folder.rglob("*") if not p.is_dir() or p.is_symlink()
    }


def check_publishable(out: Path) -> None:
    """Refuse ``out`` when it exists and holds something a publish did not write."""
    if not out.exists() and not out.is_symlink():
        return
    if out.is_symlink() or not out.is_dir():
        raise InfrecError(f"{out}: publish_dir is not a folder; remove it or choose another")
    present = _relative_files(out) - {MARKER}
    if not present:
        return
    owned = owned_files(out)
    foreign = sorted(present - (owned or set()))
    if foreign:
        shown = ", ".join(foreign[:3]) + (
            f" and {len(foreign) - 3} more" if len(foreign) > 3 else ""
        )
        raise InfrecError(
            f"{out}: holds files infrec did not publish ({shown}); move them away or set "
            "publish_dir to an empty or infrec-made folder (nothing was changed)"
        )


def _copy(report: Path, staged: Path, out: Path) -> None:
    """``report`` copied to ``staged`` (tracker files left out); a failed copy's first cause
    raised as an ``OSError`` naming the file as it would be in ``out`` (``shutil.Error``
    gathers the causes as text in a list)."""
    try:
        shutil.copytree(report, staged, ignore=shutil.ignore_patterns(*LEFT_OUT))
    except shutil.Error as e:
        causes = e.args[0] if e.args and isinstance(e.args[0], list) else []
        _, dst, why = causes[0] if causes else ("", str(staged), str(e))
        found = re.match(r"\[Errno (\d+)\] ([^:]+)", str(why))
        code, reason = (int(found[1]), found[2]) if found else (0, str(why))
        raise OSError(code, reason, str(out / Path(dst).relative_to(staged))) from None


def publish(report: Path, out: Path) -> Path:
    """A copy of the rendered ``report`` folder (its tracker files left out) as the whole
    content of ``out``: no file of an older publish stays, no file of anyone else is touched."""
    out = Path(out)
    check_publishable(out)
    token = f"{TMP_TAG}-{uuid.uuid4().hex}"
    staged = out.with_name(f".{out.name}.{token}.new")
    retired = out.with_name(f".{out.name}.{token}.old")
    with as_user_errors("publishing"):
        out.parent.mkdir(parents=True, exist_ok=True)
        try:
            _copy(report, staged, out)
            files = sorted(_relative_files(staged))
            (staged / MARKER).write_text(json_text({"written_by": "infrec", "files": files}))
            if out.exists():
                os.rename(out, retired)
            os.rename(staged, out)
        finally:
            if staged.exists():
                shutil.rmtree(staged)
        if retired.exists():
            shutil.rmtree(retired)
    return out
