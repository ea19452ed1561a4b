"""Publishing a report: the target's files are the project's or are left alone."""

import errno
import json
import shutil
import subprocess
import sys

import pytest

from infrec.errors import USER_ERROR_EXIT, InfrecError
from infrec.reports.publish import MARKER, publish


def _report(folder, **files):
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    return folder


def test_a_publish_replaces_its_own_folder_and_keeps_no_stale_file(tmp_path):
    out = tmp_path / "published"
    publish(_report(tmp_path / "r1", **{"a.csv": "1", "curves/x.csv": "2", "wandb/run": "w"}), out)
    manifest = json.loads((out / MARKER).read_text())
    assert manifest == {"written_by": "infrec", "files": ["a.csv", "curves/x.csv"]}
    publish(_report(tmp_path / "r2", **{"b.csv": "3"}), out)
    assert sorted(p.name for p in out.iterdir()) == sorted([MARKER, "b.csv"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["published", "r1", "r2"]


def test_a_users_file_in_publish_dir_survives(tmp_path):
    out = tmp_path / "published"
    publish(_report(tmp_path / "r1", **{"a.csv": "1"}), out)
    (out / "my-notes.txt").write_text("mine")
    with pytest.raises(InfrecError, match=r"holds files infrec did not publish \(my-notes.txt\)"):
        publish(_report(tmp_path / "r2", **{"b.csv": "2"}), out)
    assert (out / "my-notes.txt").read_text() == "mine" and (out / "a.csv").read_text() == "1"


def test_a_folder_without_a_manifest_is_not_published_over(tmp_path):
    out = _report(tmp_path / "mine", **{"thesis.tex": "years of work"})
    with pytest.raises(InfrecError, match="move them away or set publish_dir"):
        publish(_report(tmp_path / "r", **{"a.csv": "1"}), out)
    assert sorted(p.name for p in out.iterdir()) == ["thesis.tex"]


def test_a_sibling_named_like_a_temp_folder_survives(tmp_path):
    out = tmp_path / "published"
    sibling = _report(tmp_path / "published.new", **{"keep.txt": "k"})
    publish(_report(tmp_path / "r", **{"a.csv": "1"}), out)
    publish(_report(tmp_path / "r2", **{"b.csv": "1"}), out)
    assert (sibling / "keep.txt").read_text() == "k"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["published", "published.new", "r", "r2"]


def test_a_full_disk_while_publishing_is_one_line_and_leaves_the_old_publish(tmp_path, monkeypatch):
    out = tmp_path / "published"
    publish(_report(tmp_path / "r1", **{"a.csv": "1"}), out)
    real_copy = shutil.copyfile

    def full_disk(src, dst, **kwargs):
        real_copy(src, dst, **kwargs)
        raise OSError(errno.ENOSPC, "No space left on device", str(dst))

    monkeypatch.setattr(shutil, "copyfile", full_disk)
    with pytest.raises(InfrecError, match="publishing failed: No space left on device; free"):
        publish(_report(tmp_path / "r2", **{"b.csv": "2"}), out)
    assert sorted(p.name for p in out.iterdir()) == sorted([MARKER, "a.csv"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["published", "r1", "r2"]


def test_the_report_cli_refuses_with_one_line_and_the_user_error_status(tmp_path):
    runs = tmp_path / "runs"
    runs.mkdir()
    done = subprocess.run(
        [sys.executable, "-m", "infrec.apps.report", str(runs)], capture_output=True, text=True
    )
    assert done.returncode == USER_ERROR_EXIT
    assert done.stderr.strip().splitlines() == [
        f"error: {runs}: no runs (metrics.json + config.json) found"
    ]
