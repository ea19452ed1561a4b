import bz2
import gzip
import io
import lzma
import os
import re
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pytest

from infrec.data.readers import (
    get_reader,
    read_atomic,
    read_delimited,
    read_movielens_100k,
    read_movielens_dat,
    read_paper_split,
)
from infrec.errors import InfrecError


def write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def test_movielens_dat(tmp_path):
    p = write(tmp_path, "ratings.dat", "1::10::5::978300760\n1::20::3::978302109\n2::10::4::1\n")
    inter = read_movielens_dat(p)
    assert inter.users.tolist() == [1, 1, 2]
    assert inter.items.tolist() == [10, 20, 10]
    assert inter.ratings.tolist() == [5.0, 3.0, 4.0]
    assert inter.timestamps.tolist() == [978300760, 978302109, 1]


def test_movielens_100k_tab(tmp_path):
    p = write(tmp_path, "u.data", "196\t242\t3\t881250949\n186\t302\t3\t891717742\n")
    inter = read_movielens_100k(p)
    assert inter.users.tolist() == [196, 186] and inter.items.tolist() == [242, 302]


def test_atomic_header_order(tmp_path):
    p = write(
        tmp_path,
        "x.inter",
        "item_id:token\ttimestamp:float\tuser_id:token\trating:float\n7\t1\t3\t4\n8\t2\t3\t5\n",
    )
    inter = read_atomic(p)
    assert inter.users.tolist() == [3, 3]
    assert inter.items.tolist() == [7, 8]
    assert inter.ratings.tolist() == [4.0, 5.0]


def test_atomic_missing_user_field(tmp_path):
    p = write(tmp_path, "x.inter", "item_id:token\trating:float\n1\t2\n")
    with pytest.raises(InfrecError, match=r"x.inter:1: .*user_id"):
        read_atomic(p)


def test_delimited_amazon_style_string_ids(tmp_path):
    p = write(tmp_path, "r.csv", "B00X,A1B2,5.0,1400000000\nB00Y,A1B2,4.0,1400000001\n")
    inter = read_delimited(p, sep=",", columns={"user": 1, "item": 0, "rating": 2}, string_ids=True)
    assert inter.users.tolist() == ["A1B2", "A1B2"]
    assert inter.items.tolist() == ["B00X", "B00Y"]


@pytest.mark.parametrize(
    ("text", "header", "message"),
    [
        (
            "user,item,rating\n1,2,5\n3,abc,4\n",
            True,
            r"r.csv:3: non-numeric item id 'abc'.*string_ids",
        ),
        ("1,2,5\n3,4,good\n", False, r"r.csv:2: non-numeric rating 'good'"),
        ("1,2,5\n3\n", False, r"r.csv:2: expected at least 3 fields"),
    ],
)
def test_bad_rows_name_file_and_line(text, header, message, tmp_path):
    p = write(tmp_path, "r.csv", text)
    with pytest.raises(InfrecError, match=message):
        read_delimited(p, header=header)


def test_missing_column_key(tmp_path):
    p = write(tmp_path, "r.csv", "1,2\n")
    with pytest.raises(InfrecError, match="missing 'item'"):
        read_delimited(p, columns={"user": 0})


def test_missing_file(tmp_path):
    with pytest.raises(InfrecError, match=r"nope.csv: file not found; set dataset.path"):
        read_delimited(tmp_path / "nope.csv")


def test_unknown_format():
    with pytest.raises(InfrecError, match="unknown format 'parquet'"):
        get_reader("parquet")


def test_paper_split_reader(tmp_path):
    import h5py

    with h5py.File(tmp_path / "total_data.hdf5", "w") as h:
        h["user"] = np.array([0, 0, 1], np.int32)
        h["item"] = np.array([5, 6, 5], np.int32)
        h["rating"] = np.array([1, 2, 3], np.float32)
    np.savez(tmp_path / "index.npz", data=np.array([0, 2, -1]))
    inter = read_paper_split(tmp_path)
    assert inter.split.tolist() == [0, 2, -1]
    np.savez(tmp_path / "index.npz", data=np.array([0, 2]))
    with pytest.raises(InfrecError, match="2 split labels for 3 rows"):
        read_paper_split(tmp_path)


NETFLIX_1 = "1:\n6,3,2005-09-06\n7,5,2005-05-13\n2:\n6,4,2004-01-01\n"
NETFLIX_2 = "3:\n8,1,2005-12-31\n\n7,2,2005-01-02\n"


def test_netflix_prize_folder_reads_every_combined_file(tmp_path):
    (tmp_path / "combined_data_1.txt").write_text(NETFLIX_1)
    (tmp_path / "combined_data_2.txt").write_text(NETFLIX_2)
    (tmp_path / "probe.txt").write_text("1:\n6\n")  # not interactions: never read
    inter = get_reader("netflix_prize")(tmp_path)
    assert inter.users.tolist() == [6, 7, 6, 8, 7]
    assert inter.items.tolist() == [1, 1, 2, 3, 3]
    assert inter.ratings.tolist() == [3, 5, 4, 1, 2]
    assert inter.timestamps[0] == np.datetime64("2005-09-06", "s").astype(np.int64)


def test_netflix_prize_movie_carries_across_blocks(tmp_path, monkeypatch):
    """Blocks cut anywhere (here every few bytes): each row keeps the movie of the line above."""
    monkeypatch.setattr("infrec.data.text.BLOCK_BYTES", 7)
    path = tmp_path / "combined_data_1.txt"
    path.write_text(NETFLIX_1 + NETFLIX_2)
    inter = get_reader("netflix_prize")(path)
    assert inter.items.tolist() == [1, 1, 2, 3, 3]
    assert inter.users.tolist() == [6, 7, 6, 8, 7]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("6,3,2005-09-06\n", r"combined_data_1.txt:1: a rating row before any 'MovieID:' line"),
        ("1:\n6,3,2005-09-06\n7,5\n", r"combined_data_1.txt:3: expected at least 3 fields"),
        ("1:\n6,3,2005-13-45\n", r"combined_data_1.txt:2: non-numeric date '2005-13-45'"),
        ("x1:\n6,3,2005-01-01\n", r"combined_data_1.txt:1: non-numeric movie id 'x1'"),
    ],
)
def test_netflix_prize_bad_rows_name_file_and_line(text, message, tmp_path):
    (tmp_path / "combined_data_1.txt").write_text(text)
    with pytest.raises(InfrecError, match=message):
        get_reader("netflix_prize")(tmp_path)


def test_netflix_prize_folder_without_its_files(tmp_path):
    with pytest.raises(InfrecError, match=r"no combined_data_\*.txt files in this folder"):
        get_reader("netflix_prize")(tmp_path)


def test_delimited_blocks_give_the_same_rows_as_one_read(tmp_path, monkeypatch):
    """Block boundaries anywhere, blank and CRLF lines, a ragged block: the same columns."""
    text = "1,10,5.0\r\n\n2,11,4.0,extra\n3,12,3.5\n" * 3
    p = write(tmp_path, "r.csv", text)
    whole = read_delimited(p)
    monkeypatch.setattr("infrec.data.text.BLOCK_BYTES", 5)
    cut = read_delimited(p)
    assert whole.users.tolist() == cut.users.tolist() == [1, 2, 3] * 3
    assert whole.items.tolist() == cut.items.tolist() == [10, 11, 12] * 3
    assert cut.ratings.tolist() == [5.0, 4.0, 3.5] * 3


def test_delimited_error_line_counts_across_blocks(tmp_path, monkeypatch):
    monkeypatch.setattr("infrec.data.text.BLOCK_BYTES", 4)
    p = write(tmp_path, "r.csv", "1,2,5\n\n3,4,5\n5,x,1\n")
    with pytest.raises(InfrecError, match=r"r.csv:4: non-numeric item id 'x'"):
        read_delimited(p)


# ---------------------------------------------------------------- raw input edge cases (issue 21)


def test_two_column_file_is_implicit_feedback(tmp_path):
    """Without dataset.columns, two fields a line are user,item and no ratings (blank lines
    and a header skipped); an explicit mapping keeps asking for its rating field."""
    p = write(tmp_path, "r.csv", "user,item\n1,10\n\n2,11\n3,12\n")
    inter = read_delimited(p, header=True)
    assert inter.users.tolist() == [1, 2, 3]
    assert inter.items.tolist() == [10, 11, 12]
    assert inter.ratings is None and inter.timestamps is None
    with pytest.raises(InfrecError, match=r"r.csv:2: expected at least 3 fields"):
        read_delimited(p, header=True, columns={"user": 0, "item": 1, "rating": 2})
    spaced = write(tmp_path, "s.txt", "1  10\n2\t11\n")
    assert read_delimited(spaced, sep=" ").items.tolist() == [10, 11]


def test_two_column_file_refuses_a_longer_line(tmp_path, monkeypatch):
    monkeypatch.setattr("infrec.data.text.BLOCK_BYTES", 6)  # the deciding line in another block
    p = write(tmp_path, "r.csv", "\n1,10\n2,11\n3,12,5\n")
    with pytest.raises(InfrecError, match=r"r.csv:4: expected at most 2 fields.*line 2 has 2"):
        read_delimited(p)


def test_three_fields_by_default_keep_ratings(tmp_path):
    p = write(tmp_path, "r.csv", "1,10,4.5,99\n2,11,3\n")
    inter = read_delimited(p)
    assert inter.ratings.tolist() == [4.5, 3.0] and inter.timestamps is None


def test_quoted_fields(tmp_path):
    """RFC 4180: a separator and a doubled quote inside quotes; numbers quoted or not."""
    text = '"u1","i,2",5\n"u2","say ""hi""", 4\nu3,"x" ,3\n'
    p = write(tmp_path, "q.csv", text.replace('"x" ,3', '"x",3'))
    inter = read_delimited(p, string_ids=True)
    assert inter.users.tolist() == ["u1", "u2", "u3"]
    assert inter.items.tolist() == ["i,2", 'say "hi"', "x"]
    assert inter.ratings.tolist() == [5.0, 4.0, 3.0]
    numeric = write(tmp_path, "n.csv", '"1","10","5"\n2,11,4\n')
    assert read_delimited(numeric).items.tolist() == [10, 11]


def test_quoted_blocks_keep_line_numbers(tmp_path, monkeypatch):
    monkeypatch.setattr("infrec.data.text.BLOCK_BYTES", 9)
    p = write(tmp_path, "q.csv", '1,2,5\n\n"3","4",5\n"5","x",1\n')
    with pytest.raises(InfrecError, match=r"q.csv:4: non-numeric item id 'x'"):
        read_delimited(p)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('1,2,5\n"3,4,5\n6,7,8\n', r"q.csv:2: a quoted field is not closed on its line"),
        ('1,2,5\n6,7,8\n"3,4,5\n', r"q.csv:3: malformed quoted field"),
        ('1,2,5\n"3"x,4,5\n', r"q.csv:2: malformed quoted field"),
    ],
)
def test_malformed_quotes_name_their_line(text, message, tmp_path):
    with pytest.raises(InfrecError, match=message):
        read_delimited(write(tmp_path, "q.csv", text))


def test_nul_byte_names_the_line(tmp_path, monkeypatch):
    monkeypatch.setattr("infrec.data.text.BLOCK_BYTES", 8)
    p = tmp_path / "r.csv"
    p.write_bytes(b"u1,i1,5\nu2,i2,4\n\nu3,i\x003,4\n")
    with pytest.raises(InfrecError, match=r"r.csv:4: a NUL byte .*not a text file"):
        read_delimited(p, string_ids=True)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"1,2,5\n\x89PNG\x00\xff\n", r"r.csv:2: not UTF-8 text \(byte 0x89 at offset 6\)"),
        (b"1,2,5\n3,\x00\xff,1\n", r"r.csv:2: a NUL byte \(offset 8\)"),
    ],
)
def test_the_first_offending_byte_is_named(data, message, tmp_path):
    p = tmp_path / "r.csv"
    p.write_bytes(data)
    with pytest.raises(InfrecError, match=message):
        read_delimited(p)


def _zip(data: bytes) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("ratings.csv", data)
    return buf.getvalue()


def _tar(data: bytes, mode: str) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=mode) as t:
        info = tarfile.TarInfo("ratings.csv")
        info.size = len(data)
        t.addfile(info, io.BytesIO(data))
    return buf.getvalue()


ROWS = b"1,10,5\n2,11,4\n"
ARCHIVES = {
    "zip": (_zip(ROWS), r"a zip archive, not delimited text; unzip it and point"),
    "tar": (_tar(ROWS, "w"), r"a tar archive.*tar -xf f.csv"),
    "tar.gz": (_tar(ROWS, "w:gz"), r"a gzip-compressed tar archive.*tar -xzf f.csv"),
    "bz2": (bz2.compress(ROWS), r"a bzip2-compressed file.*bunzip2 -k f.csv"),
    "xz": (lzma.compress(ROWS), r"an xz-compressed file.*unxz"),
    "zstd": (b"\x28\xb5\x2f\xfd" + ROWS, r"a zstd-compressed file"),
    "7z": (b"7z\xbc\xaf\x27\x1c\x00\x04" + ROWS, r"a 7z archive.*7z x f.csv"),
    "gzip-of-gzip": (
        gzip.compress(gzip.compress(ROWS)),
        r"a gzip-compressed file holding a gzip file.*gunzip -k f.csv",
    ),
    "gzip-of-zip": (
        gzip.compress(_zip(ROWS)),
        r"a gzip-compressed file holding a zip archive.*; unzip it",
    ),
    "hdf5": (b"\x89HDF\r\n\x1a\n" + bytes(40), r"an HDF5 file.*dataset.format=paper_split"),
    "utf-16": ("1,10,5\n".encode("utf-16"), r"UTF-16 text.*save it as UTF-8"),
}


@pytest.mark.parametrize("kind", list(ARCHIVES))
def test_archives_are_named_with_what_to_do(kind, tmp_path):
    data, message = ARCHIVES[kind]
    p = tmp_path / "f.csv"
    p.write_bytes(data)
    with pytest.raises(InfrecError, match=r"^" + re.escape(str(p)) + r": this is " + message) as e:
        read_delimited(p)
    assert "\n" not in str(e.value)


def test_damaged_gzip(tmp_path):
    p = tmp_path / "f.csv"
    p.write_bytes(gzip.compress(ROWS * 50)[:40])
    with pytest.raises(InfrecError, match=r"f.csv: a damaged gzip file .*download it again"):
        read_delimited(p)


def test_gzip_text_and_bom_are_read(tmp_path):
    p = tmp_path / "ratings.csv"  # gzip told by its bytes, not its name
    p.write_bytes(gzip.compress(b"\xef\xbb\xbf1,10,5\n2,11,4\n"))
    inter = read_delimited(p)
    assert inter.users.tolist() == [1, 2] and inter.ratings.tolist() == [5.0, 4.0]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1,2,5\n99999999999999999999,3,4\n", r"r.csv:2: user id '99999999999999999999' is out of"),
        ("1,2,5\n3,-9223372036854775809,4\n", r"r.csv:2: item id .* is out of range"),
        ("1,2,5,1\n3,4,5,nan\n", r"r.csv:2: timestamp nan is not a finite number"),
        ("1,2,5\n3,4,1e39\n", r"r.csv:2: rating inf is not a finite number"),
        ("1,2,5\n3,,4\n", r"r.csv:2: non-numeric item id ''"),
    ],
)
def test_numbers_out_of_range_name_their_line(text, message, tmp_path):
    p = write(tmp_path, "r.csv", text)
    columns = {"user": 0, "item": 1, "rating": 2, "timestamp": 3} if "nan" in text else None
    with pytest.raises(InfrecError, match=message):
        read_delimited(p, columns=columns)


def test_overlong_string_id_and_line(tmp_path, monkeypatch):
    p = write(tmp_path, "r.csv", "a,b,5\n" + "x" * 300 + ",b,4\n")
    with pytest.raises(InfrecError, match=r"r.csv:2: a user id of 300 characters"):
        read_delimited(p, string_ids=True)
    monkeypatch.setattr("infrec.data.text.MAX_LINE_BYTES", 100)
    monkeypatch.setattr("infrec.data.text.BLOCK_BYTES", 64)
    q = write(tmp_path, "q.csv", "1,2,5\n" + "7" * 500)
    with pytest.raises(InfrecError, match=r"q.csv:2: no line break in .* bytes"):
        read_delimited(q)


def test_not_utf8_header_names_line_one(tmp_path):
    p = tmp_path / "x.inter"
    p.write_bytes(b"user_id:token\titem_\xffid:token\n1\t2\n")
    with pytest.raises(InfrecError, match=r"x.inter:1: not UTF-8 text \(byte 0xff"):
        read_atomic(p)


def test_folder_fifo_and_unreadable_file(tmp_path, monkeypatch):
    with pytest.raises(InfrecError, match=r": a folder, not a file; set dataset.path"):
        read_delimited(tmp_path)
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    with pytest.raises(InfrecError, match=r"pipe.csv: not a regular file"):
        read_delimited(fifo)
    p = write(tmp_path, "r.csv", "1,2,5\n")

    def denied(self, *args, **kwargs):
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "open", denied)
    with pytest.raises(InfrecError, match=r"r.csv: cannot read it \(Permission denied\)"):
        read_delimited(p)


@pytest.mark.parametrize(
    ("columns", "message"),
    [
        ({"user": "a", "item": 1}, r"dataset.columns.user='a' is not a 0-based field index"),
        ({"user": 0, "item": -1}, r"dataset.columns.item=-1 is not"),
        ({"user": 0, "item": 0}, r"names one field twice"),
        ({"user": 0, "item": 1, "score": 2}, r"unknown \['score'\]"),
        ([0, 1], r"is not a mapping"),
    ],
)
def test_bad_columns_are_one_line(columns, message, tmp_path):
    with pytest.raises(InfrecError, match=message):
        read_delimited(write(tmp_path, "r.csv", "1,2,5\n"), columns=columns)


def test_netflix_prize_empty_date_names_its_line(tmp_path):
    (tmp_path / "combined_data_1.txt").write_text("1:\n6,3,2005-09-06\n7,5,\n")
    with pytest.raises(InfrecError, match=r"combined_data_1.txt:3: date '' is no date"):
        get_reader("netflix_prize")(tmp_path)


# ---------------------------------------------------------------- the paper's split


def paper_split(folder: Path, **arrays: np.ndarray) -> Path:
    """A paper-split folder: ``arrays`` override the valid user/item/rating/labels."""
    import h5py

    data = {
        "user": np.array([0, 0, 1], np.int32),
        "item": np.array([5, 6, 5], np.int32),
        "rating": np.array([1, 2, 3], np.float32),
        **arrays,
    }
    labels = data.pop("labels", np.array([0, 2, -1]))
    with h5py.File(folder / "total_data.hdf5", "w") as h:
        for key, value in data.items():
            if value is not None:
                h[key] = value
    np.savez(folder / "index.npz", data=labels)
    return folder


def test_paper_split_valid_copy(tmp_path):
    inter = read_paper_split(paper_split(tmp_path))
    assert inter.users.tolist() == [0, 0, 1] and inter.items.tolist() == [5, 6, 5]
    assert inter.ratings.tolist() == [1.0, 2.0, 3.0] and inter.split.tolist() == [0, 2, -1]
    assert inter.users.dtype == np.int64 and inter.split.dtype == np.int64


@pytest.mark.parametrize(
    ("arrays", "message"),
    [
        ({"user": np.array([0.0, 1.0, 2.0])}, r"total_data.hdf5: 'user' has dtype float64"),
        ({"item": np.array([5, -6, 5])}, r"total_data.hdf5: 'item' must lie in \[0, "),
        ({"user": np.zeros((3, 1), np.int64)}, r"'user' has 2 dimensions, expected 1"),
        ({"item": np.array([1, 2])}, r"total_data.hdf5: 2 items for 3 users"),
        ({"rating": np.array([1.0, np.nan, 2.0])}, r"'rating' holds NaN or infinite values"),
        ({"rating": np.array([1.0, 1e300, 2.0])}, r"'rating' must lie in"),
        ({"user": np.array([2**63], np.uint64)} | {"item": np.array([1])}, r"'user' must lie"),
        ({"labels": np.array([0, 3, 1])}, r"index.npz: split labels 'data' must lie in \[-1, 2\]"),
        ({"labels": np.array([0.0, 1.0, 2.0])}, r"index.npz: split labels 'data' has dtype"),
        ({"labels": np.array([0, 1])}, r"index.npz: 2 split labels for 3 rows"),
        ({"labels": np.array(["a", "b", "c"])}, r"index.npz: split labels 'data' has dtype"),
    ],
)
def test_paper_split_bad_arrays_are_one_line(arrays, message, tmp_path):
    with pytest.raises(InfrecError, match=message) as e:
        read_paper_split(paper_split(tmp_path, **arrays))
    assert "\n" not in str(e.value)


def test_paper_split_damaged_files(tmp_path):
    import h5py

    folder = paper_split(tmp_path)
    good = (folder / "total_data.hdf5").read_bytes()
    (folder / "total_data.hdf5").write_bytes(good[: len(good) // 3])
    with pytest.raises(InfrecError, match=r"total_data.hdf5: not an HDF5 file, or a damaged"):
        read_paper_split(folder)
    (folder / "total_data.hdf5").write_bytes(_zip(ROWS))
    with pytest.raises(InfrecError, match=r"total_data.hdf5: not an HDF5 file"):
        read_paper_split(folder)
    with h5py.File(folder / "total_data.hdf5", "w") as h:
        h.create_group("user")
        h["item"] = np.array([1, 2, 3])
    with pytest.raises(InfrecError, match=r"'user' is a Group, not an array"):
        read_paper_split(folder)
    paper_split(folder)
    np.savez(folder / "index.npz", data=np.array([0, 1, None], dtype=object))
    with pytest.raises(InfrecError, match=r"index.npz: not the paper's split labels"):
        read_paper_split(folder)
    (folder / "index.npz").write_text("not a zip\n")
    with pytest.raises(InfrecError, match=r"index.npz: not the paper's split labels"):
        read_paper_split(folder)
    with pytest.raises(InfrecError, match=r"the paper's split is a folder holding"):
        read_paper_split(folder / "index.npz")


# ---------------------------------------------------------------- fast path = general path

INTS = ["0", "007", "-0", "-12", "5", "123456789012345", "-123456789012345"]
ODD_INTS = [
    "+5",
    " 5",
    "1_0",
    "9223372036854775807",
    "1234567890123456",
]  # Python's int reads them; the fast path not
REALS = [*INTS, "4.5", "-.5", ".5", "5.", "3.0", "0.1", "0.3", "0.000000000001", "2.675"]
ODD_REALS = ["1e3", "12345678.9012345", "-0.0", " 4.5", "+.5", "1_0.5"]


def _numbers_file(path: Path, rng: np.random.Generator, rows: int, odd: bool) -> None:
    """Plain numbers in four columns; with ``odd``, a few rows hold Python-only syntax."""
    cols = [rng.choice(INTS, rows), rng.choice(INTS, rows), rng.choice(REALS, rows)]
    cols.append(rng.choice(REALS, rows))
    if odd:
        for col in range(4):
            at = rng.choice(rows, 4, replace=False)
            cols[col] = cols[col].astype(object)
            cols[col][at] = rng.choice(ODD_INTS if col < 2 else ODD_REALS, 4)
    path.write_text("".join(",".join(r) + "\n" for r in zip(*cols, strict=True)))


@pytest.mark.parametrize("odd", [False, True])
def test_fast_path_reads_what_the_general_path_reads(odd, tmp_path, monkeypatch):
    """Blocks of plain numbers are parsed from their bytes by NumPy (data.text.fast_columns);
    they must give the very arrays Python's int/float give (dtype, value, sign of zero), and
    a block the fast path declines is read by the general path."""
    import infrec.data.readers as readers

    taken = []
    fast = readers.fast_columns

    def spy(*args, **kwargs):
        out = fast(*args, **kwargs)
        taken.append(out is not None)
        return out

    columns = {"user": 0, "item": 1, "rating": 2, "timestamp": 3}
    p = tmp_path / "r.csv"
    _numbers_file(p, np.random.default_rng(7 + odd), 3000, odd)
    monkeypatch.setattr("infrec.data.text.BLOCK_BYTES", 2000)
    monkeypatch.setattr(readers, "fast_columns", spy)
    got = read_delimited(p, columns=columns)
    monkeypatch.setattr(readers, "fast_columns", lambda *a, **k: None)
    want = read_delimited(p, columns=columns)
    assert any(taken) and (all(taken) if not odd else not all(taken))
    for name in ("users", "items", "ratings", "timestamps"):
        a, b = getattr(got, name), getattr(want, name)
        assert a.dtype == b.dtype and np.array_equal(a, b), name
        if a.dtype.kind == "f":
            assert np.array_equal(np.signbit(a), np.signbit(b)), name


def test_fast_path_declines_what_it_cannot_read(tmp_path):
    from infrec.data.text import Lines, fast_columns

    def fast(raw: bytes, kind: str = "i") -> object:
        dtype = np.dtype(np.int64 if kind == "i" else np.float64)
        return fast_columns(Lines(raw, raw.count(b"\n"), 1), ",", {0: dtype, 1: dtype}, 2, None)

    assert fast(b"1,2\n-3,4\n")[0].tolist() == [1, -3]
    assert fast(b"1.5,2\n-.25,4\n", "f")[0].tolist() == [1.5, -0.25]
    for raw in (b"1,2\n3\n", b"1,2\n\n3,4\n", b"1,2,3\n4,5\n", b'"1",2\n', b"1,x\n", b"1,\n"):
        assert fast(raw) is None, raw
    for raw in (b"1.5,2\n", b"-,2\n", b"1234567890123456,1\n", b"+1,2\n", b"1 ,2\n"):
        assert fast(raw) is None, raw
    for raw in (b".,1\n", b"1.2.3,1\n", b"1e5,1\n", b"nan,1\n", b"-.,1\n"):
        assert fast(raw, "f") is None, raw
