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
