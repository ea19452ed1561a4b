"""Fuzzing cases: valid seed files for every target, random mutations of them, and the worker.

A case is a fresh folder holding a valid seed made the way infrec or its users make it (a CSV, an
atomic ``.inter``, ``ratings.dat``, ``u.data``, Netflix ``combined_data_*.txt``, a paper-split
folder, supports through ``save_support``, a split through ``Split.save``, run folders), then
1–3 mutations drawn from a ``random.Random``: the same generator state gives the same case, so
Hypothesis (``st.randoms``) and the benchmark's seeds both reproduce. Each case is loaded in a
long-lived worker subprocess (:class:`Worker`, ``tests/fuzz_target.py``); a worker that dies
or hangs is a ``crash`` and is started again.
"""

from __future__ import annotations

import bz2
import gzip
import io
import json
import lzma
import math
import os
import random
import re
import select
import shutil
import stat
import subprocess
import sys
import tarfile
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tests.fuzz_target import DELIMITED

WORKER = Path(__file__).with_name("fuzz_target.py")
STARTUP_SECONDS = 300.0
"""How long a worker may take to import infrec (a loaded machine) before it is an error."""
FAILURES = ("traceback", "crash", "bad-error", "bad-load")
"""Outcomes that are findings (``loaded`` and ``error`` are the two correct ones)."""

Kind = str
"""What a mutable file holds: ``text``, ``npz``, ``hdf5`` or ``json``."""


@dataclass
class Case:
    """A seed's folder, the path its loader is given, its mutable files and what was done."""

    target: str
    root: Path
    path: Path
    files: dict[Path, Kind]
    sep: str = ","
    applied: list[str] = field(default_factory=list)


# ---------------------------------------------------------------- seeds


def _rows(n: int = 40) -> list[tuple[int, int, int, int]]:
    rng = random.Random(7)
    return [
        (
            rng.randint(1, 9),
            rng.randint(10, 29),
            rng.randint(1, 5),
            978300760 + rng.randint(0, 10**6),
        )
        for _ in range(n)
    ]


def _text_seed(target: str, root: Path) -> Case:
    rows = _rows()
    if target == "delimited":
        name, sep, head = "ratings.csv", DELIMITED["sep"], "user,item,rating,timestamp\n"
    elif target == "atomic":
        name, sep = "ml.inter", "\t"
        head = "user_id:token\titem_id:token\trating:float\ttimestamp:float\n"
    elif target == "movielens_dat":
        name, sep, head = "ratings.dat", "::", ""
    else:
        name, sep, head = "u.data", "\t", ""
    path = root / name
    path.write_text(head + "".join(sep.join(map(str, r)) + "\n" for r in rows))
    return Case(target, root, path, {path: "text"}, sep)


def _netflix_seed(root: Path) -> Case:
    folder = root / "netflix-prize-data"
    folder.mkdir()
    rows = _rows()
    files = {}
    for part in (1, 2):
        lines = []
        for movie in range(part * 10, part * 10 + 3):
            lines.append(f"{movie}:")
            for user, _, rating, stamp in rows[movie % 7 :: 6]:
                day = np.datetime64(stamp, "s").astype("datetime64[D]")
                lines.append(f"{user},{rating},{day}")
        path = folder / f"combined_data_{part}.txt"
        path.write_text("\n".join(lines) + "\n")
        files[path] = "text"
    (folder / "probe.txt").write_text("10:\n1\n")
    return Case("netflix_prize", root, folder, files, ",")


def _paper_seed(root: Path) -> Case:
    import h5py

    folder = root / "ml-1m-paper"
    folder.mkdir()
    rows = np.asarray(_rows(), np.int64)
    with h5py.File(folder / "total_data.hdf5", "w") as h:
        h["user"] = rows[:, 0].astype(np.int32)
        h["item"] = rows[:, 1].astype(np.int32)
        h["rating"] = rows[:, 2].astype(np.float32)
    labels = np.resize(np.asarray([0, 0, 0, 1, 2, 0, -1], np.int64), len(rows))
    np.savez(folder / "index.npz", data=labels)
    files = {folder / "total_data.hdf5": "hdf5", folder / "index.npz": "npz"}
    return Case("paper_split", root, folder, files)


SUPPORT_META = {
    "dataset": "toy",
    "split_key": "0123abcd",
    "best_step": 3,
    "steps_run": 5,
    "gamma": 2,
    "best_lambda": 1.0,
    "best_val_hr": 0.25,
    "seconds": 1.5,
    "seconds_per_step": 0.3,
    "config": {"name": "distill_cf", "budget": 6},
    "history": [[0, 0.1], [1, 0.2]],
    "init_users": [1, 2, 3],
}
"""Metadata like Distill-CF's (every field ``load_support`` checks)."""


def _support_matrix(dense: bool) -> Any:
    import scipy.sparse as sp

    rng = np.random.default_rng(3)
    values = rng.random((6, 10)).astype(np.float32)
    values[values < 0.6] = 0
    return values if dense else sp.csr_matrix(values)


def _support_seed(target: str, root: Path) -> Case:
    from infrec.samplers.support_file import save_support

    path = root / "support.npz"
    save_support(path, _support_matrix(target == "support_dense"), dict(SUPPORT_META))
    return Case(target, root, path, {path: "npz"})


def _split_seed(root: Path) -> Case:
    import scipy.sparse as sp

    from infrec.data.matrix import Split

    rng = np.random.default_rng(5)
    parts = [sp.csr_matrix((rng.random((8, 12)) < p).astype(np.float32)) for p in (0.4, 0.1, 0.1)]
    path = root / "split.npz"
    Split(*parts, name="toy", key="k1").save(path, {"dataset": "toy", "seed": 0, "version": 2})
    return Case("split_cache", root, path, {path: "npz"})


def _runs_seed(root: Path) -> Case:
    from infrec.samplers.support_file import save_support

    runs = root / "runs"
    support = runs / "b" / "support.npz"
    support.parent.mkdir(parents=True)
    save_support(support, _support_matrix(False), dict(SUPPORT_META))
    files: dict[Path, Kind] = {support: "npz"}
    samplers = {
        "a": {"name": "random_user", "budget": 0.1},
        "b": {"name": "from_file", "path": str(support)},
    }
    for run, sampler in samplers.items():
        folder = runs / run
        folder.mkdir(exist_ok=True)
        metrics = {"test/hr@10": 0.5, "val/hr@10": 0.4, "support/user_share": 0.2, "seconds": 3}
        config = {
            "dataset": {"name": "toy", "path": "data/toy.csv"},
            "model": {"name": "ease", "lam": 10.0},
            "sampler": sampler,
            "seed": 0,
        }
        for name, obj in (("metrics.json", metrics), ("config.json", config)):
            (folder / name).write_text(json.dumps(obj, indent=1))
            files[folder / name] = "json"
    return Case("report_runs", root, runs, files)


def build_seed(target: str, root: Path) -> Case:
    """A valid seed for ``target`` made in the empty folder ``root``."""
    if target in ("delimited", "atomic", "movielens_dat", "movielens_100k"):
        return _text_seed(target, root)
    if target == "netflix_prize":
        return _netflix_seed(root)
    if target == "paper_split":
        return _paper_seed(root)
    if target in ("support_csr", "support_dense"):
        return _support_seed(target, root)
    if target == "split_cache":
        return _split_seed(root)
    if target == "report_runs":
        return _runs_seed(root)
    raise KeyError(target)


# ---------------------------------------------------------------- values

INT_SPECIALS = (-1, -2, -(2**31), 2**31 - 1, 2**31, 2**32 + 1, 2**62, 2**63 - 1, -(2**63))
FLOAT_SPECIALS = (math.nan, math.inf, -math.inf, 1e30, -1e30, 3.5e38, 1e300, -0.5, 1.5, 5e-324)
# fmt: off
DTYPES = ("float64", "float32", "float16", "int8", "uint8", "int16", "uint32", "uint64", "int64",
          "bool", "complex64", "U4", "S4", "datetime64[s]", "timedelta64[D]", "V8")
# fmt: on
H5_DTYPES = tuple(d for d in DTYPES if d[0] not in "UdtV")
"""NumPy dtypes an array is cast to (HDF5 cannot store the text, time and void ones)."""

# fmt: off
JSON_VALUES: tuple[Any, ...] = (
    None, True, False, 0, -1, 1.5, -1e9, 10**400, -(10**400), math.nan, math.inf, -math.inf,
    "", "x", "NaN", "../../x", "a\nb", "\x00", "\ud800", "é" * 3000, [], [1, "a"], {}, {"a": {}},
)
"""Values a JSON field is replaced with: other types, non-finite, huge, odd text."""
# fmt: on

# fmt: off
TOKENS = (
    "", " ", "nan", "NaN", "inf", "-inf", "Infinity", "1e39", "-1e39", "1e309", "3.4e38",
    "99999999999999999999", "9223372036854775807", "9223372036854775808",
    "-9223372036854775809", "-1", "0", "1.5", "-0", "+7", "0x1f", "1_000", "1e3", " 3 ", "٣",
    "３", "\u00a0", "\ufeff1", "\x00", "1\x00", '"', '"1"', "'1'", "é", "2005-13-45",
    "0000-01-01", "99999-01-01", "2005-1-1", "abc", "1,2", "1::2", "\t", "True", "None", "\\N",
    "😀", "\x1b[31m", "\u2028", "\r",
)
"""Strings a text field is replaced with."""
# fmt: on


def special_int(arr: np.ndarray, rng: random.Random) -> int:
    """An integer that breaks an index array: out of range, negative, huge."""
    top = int(arr.max()) if arr.size and arr.dtype.kind in "iu" else 0
    value = rng.choice((*INT_SPECIALS, top + 1, top + 1000, arr.size, arr.size + 1))
    return min(value, 2**64 - 1)  # what some NumPy integer type holds


def cast(arr: np.ndarray, want: str) -> tuple[np.ndarray, str]:
    """``arr`` as dtype ``want`` (values wrapped or garbled as NumPy casts them); zeros of
    that dtype when NumPy cannot cast it."""
    try:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return arr.astype(want), f"dtype {want}"
    except Exception:  # NumPy raises several types for casts it cannot do
        return np.zeros(arr.shape, want), f"dtype {want} (zeros)"


def mutate_array(
    arr: np.ndarray, rng: random.Random, dtypes: tuple[str, ...] = DTYPES
) -> tuple[np.ndarray, str]:
    """``arr`` with one of: another dtype, another shape, a special value, a broken order,
    every value scaled."""
    op = rng.choice(("dtype", "shape", "value", "value", "order", "scale"))
    arr = np.array(arr)
    if op == "scale" and arr.dtype.kind in "iuf":
        factor = rng.choice((1e6, -1, 0.5, 1e-6, 2**31))
        scaled, _ = cast(arr.astype(np.float64) * factor, str(arr.dtype))
        return scaled, f"×{factor}"
    if op == "dtype":
        return cast(arr, rng.choice(dtypes))
    if op == "shape":
        how = rng.choice(("2d", "scalar", "empty", "append", "drop", "transpose"))
        if how == "2d":
            return arr.reshape(1, -1) if arr.ndim == 1 else arr.reshape(-1), "reshaped"
        if how == "scalar":
            return (arr.reshape(-1)[:1].reshape(()) if arr.size else np.asarray(0)), "0-d"
        if how == "empty":
            return arr.reshape(-1)[:0], "emptied"
        if how == "append" and arr.ndim == 1:
            return np.append(arr, arr[-1:] if arr.size else [0]).astype(arr.dtype), "appended"
        if how == "transpose" and arr.ndim == 2:
            return arr.T.copy(), "transposed"
        return arr.reshape(-1)[:-1], "dropped one"
    if arr.size == 0 or arr.dtype.kind not in "iufb":
        return np.asarray([special_int(arr, rng)]), "replaced by one integer"
    flat = arr.reshape(-1)
    i = rng.randrange(flat.size)
    if op == "order" and flat.size > 1:
        j = rng.randrange(flat.size)
        flat[i], flat[j] = flat[j].copy(), flat[i].copy()
        how = rng.choice(("swap", "reverse", "first", "last"))
        if how == "reverse":
            flat[:] = flat[::-1].copy()
        elif how in ("first", "last") and flat.dtype.kind in "iu":
            k = 0 if how == "first" else -1
            flat[k] = np.asarray(int(flat[k]) + rng.choice((1, -1, 2))).astype(flat.dtype)
        return arr, f"order {how} at {i}/{j}"
    if arr.dtype.kind in "iu" and rng.random() < 0.7:
        value = special_int(arr, rng)
        if not np.can_cast(np.min_scalar_type(value), arr.dtype):
            arr = arr.astype(np.int64 if value < 2**63 else np.uint64)
            flat = arr.reshape(-1)
        flat[i] = value
        return arr, f"[{i}] = {value}"
    value = rng.choice(FLOAT_SPECIALS)
    if arr.dtype.kind != "f":
        arr = arr.astype(np.float64)
        flat = arr.reshape(-1)
    with np.errstate(all="ignore"):
        flat[i] = value
    return arr, f"[{i}] = {value}"


def mutate_json_text(text: str, rng: random.Random, family: str = "any") -> tuple[str, str]:
    """JSON text with (``family``) ``value``: a value of another type or range; ``structure``:
    a key removed, another top level, deep nesting, a duplicate key or broken syntax."""
    try:
        obj = json.loads(text)
    except (ValueError, RecursionError):
        obj = None
    ops = {
        "value": ("value",),
        "structure": ("delete", "top", "nest", "dup", "syntax"),
        "any": ("value", "value", "value", "delete", "top", "nest", "dup", "syntax"),
    }[family]
    op = rng.choice(ops)
    slots = _slots(obj)
    if op in ("value", "delete") and slots:
        holder, key = rng.choice(slots)
        if op == "delete" and isinstance(holder, dict):
            del holder[key]
            return json.dumps(obj), f"deleted {key!r}"
        value = rng.choice(JSON_VALUES)
        holder[key] = value
        return json.dumps(obj), f"{key!r} = {value!r:.40}"
    if op == "top":
        value = rng.choice(([], [obj], 3, "text", None, 1e999))
        return json.dumps(value), f"top level {type(value).__name__}"
    if op == "nest":
        depth = rng.choice((100, 5000, 200000))
        return "[" * depth + "]" * depth, f"nested {depth} deep"
    if op == "dup" and isinstance(obj, dict) and obj:
        key = rng.choice(list(obj))
        return text.rstrip().rstrip("}") + f', "{key}": "dup"}}', f"duplicate {key!r}"
    cut = rng.randrange(len(text) + 1)
    return text[:cut] + rng.choice(("", ",", "}", "'", "\\", '"')), f"syntax at {cut}"


def _slots(obj: Any) -> list[tuple[Any, Any]]:
    """Every (container, key) inside ``obj``, nested ones included."""
    found: list[tuple[Any, Any]] = []
    stack = [obj]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            items: Any = node.items()
        else:
            items = enumerate(node) if isinstance(node, list) else ()
        for key, value in items:
            found.append((node, key))
            stack.append(value)
    return found


# ---------------------------------------------------------------- byte mutations


def _bytes(data: bytes, rng: random.Random, op: str) -> tuple[bytes, str]:
    n = len(data)
    pos = rng.randrange(n + 1)
    if op == "bit_flip":
        out = bytearray(data)
        flips = rng.randint(1, 8)
        for _ in range(flips if n else 0):
            out[rng.randrange(n)] ^= 1 << rng.randrange(8)
        return bytes(out), f"{flips} bits"
    if op == "truncate":
        return data[:pos], f"at {pos}/{n}"
    if op == "insert_bytes":
        extra = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
        return data[:pos] + extra + data[pos:], f"{len(extra)} at {pos}"
    if op == "delete_bytes":
        end = min(n, pos + rng.randint(1, 64))
        return data[:pos] + data[end:], f"{pos}:{end}"
    if op == "duplicate_bytes":
        start = rng.randrange(n + 1)
        chunk = data[start : start + rng.randint(1, 256)]
        return data[:pos] + chunk + data[pos:], f"{len(chunk)} from {start} to {pos}"
    if op == "nul_bytes":
        count = rng.randint(1, 32)
        if rng.random() < 0.5:
            return data[:pos] + b"\0" * count + data[pos:], f"{count} inserted at {pos}"
        return data[:pos] + b"\0" * count + data[pos + count :], f"{count} written at {pos}"
    if op == "empty":
        return b"", ""
    if op == "random_bytes":
        return rng.randbytes(rng.choice((n, 1, 64, 4096))), ""
    raise KeyError(op)


def other_archive(data: bytes, name: str, rng: random.Random) -> tuple[bytes, str]:
    """The file's bytes wrapped in another archive (or only its magic number)."""
    kind = rng.choice(
        (
            "zip",
            "zip-empty",
            "gzip",
            "gzip-cut",
            "bz2",
            "xz",
            "tar",
            "tar.gz",
            "7z",
            "zstd",
            "rar",
            "pdf",
        )
    )
    if kind == "zip":
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr(name, data)
        return buf.getvalue(), kind
    if kind == "zip-empty":
        buf = io.BytesIO()
        zipfile.ZipFile(buf, "w").close()
        return buf.getvalue(), kind
    if kind in ("gzip", "gzip-cut"):
        packed = gzip.compress(data, mtime=0)
        return (packed if kind == "gzip" else packed[: max(2, len(packed) // 2)]), kind
    if kind == "bz2":
        return bz2.compress(data), kind
    if kind == "xz":
        return lzma.compress(data), kind
    if kind in ("tar", "tar.gz"):
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w:gz" if kind == "tar.gz" else "w") as t:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
        return buf.getvalue(), kind
    magic = {
        "7z": b"7z\xbc\xaf\x27\x1c\0\x04",
        "zstd": b"\x28\xb5\x2f\xfd",
        "rar": b"Rar!\x1a\x07\x00",
        "pdf": b"%PDF-1.4\n",
    }[kind]
    return magic + data[:64], kind


# ---------------------------------------------------------------- structured mutations


def _text_mutation(op: str, text: str, sep: str, rng: random.Random) -> tuple[str | bytes, str]:
    lines = text.split("\n")
    full = [i for i, ln in enumerate(lines) if ln]
    i = rng.choice(full) if full else 0
    line = lines[i] if lines else ""
    parts = line.split(sep)
    j = rng.randrange(len(parts))
    if op == "text_token":
        token = rng.choice(TOKENS)
        if line.endswith(":") and rng.random() < 0.5:  # a Netflix movie line
            lines[i] = token + ":"
        else:
            parts[j] = token
            lines[i] = sep.join(parts)
        return "\n".join(lines), f"line {i + 1} field {j}: {token!r}"
    if op == "text_quote":
        how = rng.choice(("wrap", "stray", "with-sep", "with-newline", "single"))
        quoted = {
            "wrap": f'"{parts[j]}"',
            "stray": parts[j][:1] + '"' + parts[j][1:],
            "with-sep": f'"{parts[j]}{sep}9"',
            "with-newline": f'"{parts[j]}\n9"',
            "single": f"'{parts[j]}'",
        }[how]
        parts[j] = quoted
        lines[i] = sep.join(parts)
        return "\n".join(lines), f"line {i + 1} field {j}: {how}"
    if op == "text_fields":
        how = rng.choice(("drop", "extra", "double-sep", "other-sep", "only-sep", "trailing"))
        if how == "drop":
            lines[i] = sep.join(parts[:-1])
        elif how == "extra":
            lines[i] = line + sep + "extra"
        elif how == "double-sep":
            lines[i] = line.replace(sep, sep + sep, 1)
        elif how == "other-sep":
            lines[i] = line.replace(sep, rng.choice((",", "\t", ";", " ", "::", "|")))
        elif how == "only-sep":
            lines[i] = sep * rng.randint(1, 4)
        else:
            lines[i] = line + sep
        return "\n".join(lines), f"line {i + 1}: {how}"
    if op == "text_lines":
        how = rng.choice(
            (
                "blank",
                "spaces",
                "crlf",
                "cr",
                "no-final",
                "many-final",
                "long",
                "repeat",
                "drop-first",
                "only-first",
                "comment",
                "swap",
            )
        )
        if how == "blank":
            lines.insert(i, "")
        elif how == "spaces":
            lines.insert(i, " \t ")
        elif how == "crlf":
            return "\r\n".join(lines), how
        elif how == "cr":
            lines[i] = line + "\r"
        elif how == "no-final":
            return text.rstrip("\n"), how
        elif how == "many-final":
            return text + "\n\n\n", how
        elif how == "long":
            parts[j] = "1" * rng.choice((1000, 200_000))
            lines[i] = sep.join(parts)
        elif how == "repeat":
            lines[i:i] = [line] * 2000
        elif how == "drop-first":
            lines = lines[1:]
        elif how == "only-first":
            lines = lines[:1]
        elif how == "comment":
            lines.insert(i, "# a comment")
        else:
            k = rng.choice(full) if full else 0
            if lines:
                lines[i], lines[k] = lines[k], lines[i]
        return "\n".join(lines), f"{how} at line {i + 1}"
    if op == "text_encoding":
        how = rng.choice(("bom", "utf-16", "latin-1", "invalid", "gzip", "surrogate"))
        if how == "bom":
            return "\ufeff" + text, how
        if how == "utf-16":
            return text.encode("utf-16", "surrogatepass"), how
        if how == "gzip":
            return gzip.compress(text.encode("utf-8", "surrogateescape"), mtime=0), how
        raw = text.encode("utf-8", "surrogateescape")
        bad = {
            "latin-1": "é".encode("latin-1"),
            "invalid": b"\xff\xfe\xc3",
            "surrogate": b"\xed\xa0\x80",
        }[how]
        pos = rng.randrange(len(raw) + 1)
        return raw[:pos] + bad + raw[pos:], f"{how} at byte {pos}"
    raise KeyError(op)


def _load_arrays(path: Path) -> dict[str, np.ndarray] | None:
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except Exception:
        return None
    # a zip member that is not .npy comes back as bytes: not an .npz to edit
    return arrays if all(isinstance(v, np.ndarray) for v in arrays.values()) else None


def _npy_member(raw: bytes, rng: random.Random) -> tuple[bytes, str]:
    """One ``.npy`` member's bytes with its header lying (shape, dtype, order, version), its
    magic gone, or its data cut short."""
    how = rng.choice(("shape", "descr", "order", "version", "no-magic", "cut-data"))
    if how == "no-magic" or not raw.startswith(b"\x93NUMPY"):
        return raw[8:], "no .npy magic"
    if how == "version":
        return raw[:6] + bytes([rng.choice((0, 3, 9, 255)), 0]) + raw[8:], how
    size = 2 if raw[6] == 1 else 4
    end = 8 + size + int.from_bytes(raw[8 : 8 + size], "little")
    header, data = raw[8 + size : end].decode("latin-1"), raw[end:]
    if how == "cut-data":
        return raw[: end + len(data) // 2], how
    if how == "shape":
        new = rng.choice(("(1000000000000,)", "(-1,)", "(3, 4, 5)", "()", "(0,)", f"({2**62}, 9)"))
        header = re.sub(r"'shape': \([^)]*\)", f"'shape': {new}", header)
    elif how == "descr":
        new = rng.choice(("|O", "<f8", ">i4", "|V3", "<U9", "|b1", "<M8[s]", "xyz"))
        header = re.sub(r"'descr': '[^']*'", f"'descr': '{new}'", header)
    else:
        new = "True"
        header = header.replace("'fortran_order': False", "'fortran_order': True")
    head = header.rstrip().encode("latin-1")
    head += b" " * (-(8 + size + len(head) + 1) % 64) + b"\n"
    return raw[:8] + len(head).to_bytes(size, "little") + head + data, f"{how} {new}"


def _zip_member_mutation(path: Path, rng: random.Random) -> str:
    """Rewrite one member of the zip at ``path`` (its ``.npy`` header or bytes)."""
    try:
        with zipfile.ZipFile(path) as z:
            members = [(info.filename, z.read(info)) for info in z.infolist()]
    except Exception:  # an earlier mutation broke it: fall back to bytes
        return _byte_mutation("bit_flip", path, rng)
    if not members:
        return _byte_mutation("bit_flip", path, rng)
    k = rng.randrange(len(members))
    name, raw = members[k]
    members[k] = (name, (new := _npy_member(raw, rng))[0])
    with zipfile.ZipFile(path, "w", rng.choice((zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED))) as z:
        for member, data in members:
            z.writestr(member, data)
    return f"{name}: {new[1]}"


def _npz_mutation(op: str, path: Path, rng: random.Random) -> str:
    if op == "npz_member":
        return _zip_member_mutation(path, rng)
    arrays = _load_arrays(path)
    if not arrays:  # an earlier mutation broke or emptied it
        return _byte_mutation("bit_flip", path, rng)
    texts = [k for k, v in arrays.items() if v.dtype.kind == "U"]
    numbers = [k for k in arrays if k not in texts]
    pickled: dict[str, Any] = {}
    if op == "npz_text" and texts:
        key = rng.choice(texts)
        value = str(arrays[key])
        if value[:1] in "{[":
            new, detail = mutate_json_text(value, rng)
            arrays[key] = np.asarray(new)
        else:
            how = rng.choice(("text", "number", "1-d", "bytes", "empty"))
            new_value = {
                "text": np.asarray(rng.choice(("csr", "dense", "coo", "", "x" * 100, "\x00"))),
                "number": np.asarray(rng.choice((0, 1.5, -1))),
                "1-d": np.asarray([value, value]),
                "bytes": np.asarray(value.encode()),
                "empty": np.asarray([], dtype="U1"),
            }[how]
            arrays[key], detail = new_value, f"{how}: {new_value!r:.40}"
        detail = f"{key}: {detail}"
    elif op == "npz_keys":
        key = rng.choice(list(arrays))
        how = rng.choice(("drop", "rename", "extra", "pickle"))
        if how == "drop":
            del arrays[key]
        elif how == "rename":
            arrays[key.upper()] = arrays.pop(key)
        elif how == "extra":
            arrays[rng.choice(("extra", "dense", "data", "allow_pickle"))] = np.arange(3)
        else:
            pickled[key] = np.asarray([{"a": 1}, None], dtype=object)
            del arrays[key]
        detail = f"{how} {key}"
    else:
        candidates = numbers or list(arrays)
        if op == "npz_indptr":
            candidates = [k for k in numbers if k.endswith("indptr")] or candidates
        elif op == "npz_indices":
            candidates = [k for k in numbers if k.endswith(("indices", "data"))] or candidates
        key = rng.choice(candidates)
        if op == "npz_dtype":
            arrays[key], detail = cast(arrays[key], rng.choice(DTYPES))
            detail = f"{key}: {detail}"
        else:
            arrays[key], detail = mutate_array(arrays[key], rng)
            detail = f"{key}: {detail}"
    if rng.random() < 0.3 and "sha256" in arrays:
        del arrays["sha256"]  # as a file from before the content hash: reaches later checks
        detail += " (no sha256)"
    save = np.savez_compressed if rng.random() < 0.5 else np.savez
    path.unlink()
    with path.open("wb") as f:
        save(f, **arrays, **pickled)
    return detail


def _hdf5_mutation(path: Path, rng: random.Random) -> str:
    import h5py

    try:
        with h5py.File(path, "r") as h:
            arrays = {k: h[k][()] for k in h if isinstance(h[k], h5py.Dataset)}
    except Exception:
        return _byte_mutation("bit_flip", path, rng)
    groups: list[str] = []
    key = rng.choice(list(arrays) or ["user"])
    how = rng.choice(("array", "array", "array", "drop", "group", "length", "text", "extra"))
    if how == "array" and key in arrays:
        arrays[key], detail = mutate_array(np.asarray(arrays[key]), rng, H5_DTYPES)
    elif how == "drop":
        arrays.pop(key, None)
        detail = ""
    elif how == "group":
        arrays.pop(key, None)
        groups.append(key)
        detail = ""
    elif how == "length" and key in arrays:
        arrays[key] = np.asarray(arrays[key]).reshape(-1)[: rng.choice((0, 1, -1))]
        detail = ""
    elif how == "text":
        arrays[key] = np.asarray([b"a", b"1", b""] * 5)
        detail = ""
    else:
        arrays["extra"] = np.arange(5)
        detail = ""
    with h5py.File(path, "w") as h:
        for name, arr in arrays.items():
            h[name] = arr
        for name in groups:
            h.create_group(name)
    return f"{key}: {how} {detail}".strip()


def _byte_mutation(op: str, path: Path, rng: random.Random) -> str:
    data = path.read_bytes()
    if op == "other_archive":
        new, detail = other_archive(data, path.name, rng)
    elif op == "directory":
        path.unlink()
        path.mkdir()
        return "replaced by a folder"
    elif op == "special_file":
        how = rng.choice(("fifo", "dangling-link", "link-loop", "link-to-dev-null"))
        path.unlink()
        if how == "fifo":
            os.mkfifo(path)
        else:
            target = {"dangling-link": path.with_name("absent"), "link-loop": path}
            path.symlink_to(target.get(how, Path(os.devnull)))
        return how
    else:
        new, detail = _bytes(data, rng, op)
    path.write_bytes(new)
    return detail


BYTE_OPS = (
    "bit_flip",
    "truncate",
    "insert_bytes",
    "delete_bytes",
    "duplicate_bytes",
    "nul_bytes",
    "empty",
    "random_bytes",
    "other_archive",
    "directory",
    "special_file",
)
MUTATIONS: dict[str, tuple[Kind, ...]] = {
    **{op: ("text", "npz", "hdf5", "json") for op in BYTE_OPS},
    **{
        op: ("text",)
        for op in ("text_token", "text_quote", "text_fields", "text_lines", "text_encoding")
    },
    **{
        op: ("npz",)
        for op in (
            "npz_dtype",
            "npz_shape_value",
            "npz_indptr",
            "npz_indices",
            "npz_text",
            "npz_keys",
            "npz_member",
        )
    },
    "hdf5_layout": ("hdf5",),
    "json_value": ("json",),
    "json_structure": ("json",),
}
"""Every mutation and the kinds of file it applies to."""


def mutations_for(target: str) -> list[str]:
    """The mutations that apply to some file of ``target``'s seed."""
    kinds = {
        "paper_split": {"hdf5", "npz"},
        "support_csr": {"npz"},
        "support_dense": {"npz"},
        "split_cache": {"npz"},
        "report_runs": {"json", "npz"},
    }.get(target, {"text"})
    return [name for name, applies in MUTATIONS.items() if kinds & set(applies)]


def apply(case: Case, op: str, rng: random.Random) -> str:
    """Apply mutation ``op`` to one of the case's files that it fits; its description."""
    files = [p for p, kind in sorted(case.files.items()) if kind in MUTATIONS[op]]
    files = [p for p in files if p.is_file()]
    if not files:
        return f"{op}: skipped (no file left)"
    path = rng.choice(files)
    kind = case.files[path]
    rel = path.relative_to(case.root)
    if op in BYTE_OPS:
        detail = _byte_mutation(op, path, rng)
    elif kind == "text":
        text = path.read_bytes().decode("utf-8", "surrogateescape")
        new, detail = _text_mutation(op, text, case.sep, rng)
        raw = new if isinstance(new, bytes) else new.encode("utf-8", "surrogateescape")
        path.write_bytes(raw)
    elif kind == "npz":
        detail = _npz_mutation(op, path, rng)
    elif kind == "hdf5":
        detail = _hdf5_mutation(path, rng)
    else:
        text = path.read_bytes().decode("utf-8", "surrogateescape")
        new, detail = mutate_json_text(text, rng, op.removeprefix("json_"))
        path.write_bytes(new.encode("utf-8", "surrogatepass"))
    return f"{op}({rel}: {detail})"


def make_case(target: str, root: Path, rng: random.Random, ops: list[str] | None = None) -> Case:
    """A seed for ``target`` in ``root`` with ``ops`` applied (default: 1–3 drawn from ``rng``)."""
    case = build_seed(target, root)
    if ops is None:
        ops = [rng.choice(mutations_for(target)) for _ in range(rng.choice((1, 1, 1, 2, 2, 3)))]
    for op in ops:
        case.applied.append(apply(case, op, rng))
    return case


# ---------------------------------------------------------------- the worker


class Worker:
    """A long-lived ``fuzz_target.py --worker`` subprocess, started again when it dies."""

    def __init__(self, log_dir: Path, timeout: float = 60.0) -> None:
        self.log_dir, self.timeout = Path(log_dir), timeout
        self.starts = 0
        self.proc: subprocess.Popen[str] | None = None

    def _start(self) -> subprocess.Popen[str]:
        self.starts += 1
        self.log = self.log_dir / f"worker-{self.starts}.log"
        env = {
            **os.environ,
            "OMP_NUM_THREADS": "1",
            "OPENBLAS_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1",
            "PYTHONHASHSEED": "0",
        }
        root = str(WORKER.parents[1])
        env["PYTHONPATH"] = os.pathsep.join(filter(None, (root, env.get("PYTHONPATH"))))
        with self.log.open("w") as log:
            proc = subprocess.Popen(
                [sys.executable, str(WORKER), "--worker"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
                env=env,
                cwd=self.log_dir,
            )
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], STARTUP_SECONDS)
        if not ready or not proc.stdout.readline():
            proc.kill()
            tail = self.log.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"the fuzzing worker did not start:\n{tail}")
        return proc

    def run(self, target: str, path: Path) -> dict[str, Any]:
        """The outcome of one case; a worker that died or hung gives ``crash``."""
        if self.proc is None or self.proc.poll() is not None:
            self.proc = self._start()
        proc = self.proc
        assert proc.stdin is not None and proc.stdout is not None
        ready: list[Any] = []
        try:
            proc.stdin.write(json.dumps({"target": target, "path": str(path)}) + "\n")
            proc.stdin.flush()
            ready, _, _ = select.select([proc.stdout], [], [], self.timeout)
            line = proc.stdout.readline() if ready else ""
        except BrokenPipeError:
            line = ""
        if line:
            return json.loads(line)
        hung = not ready and proc.poll() is None
        if proc.poll() is None:
            proc.kill()
        code = proc.wait()
        self.proc = None
        tail = self.log.read_text(errors="replace")[-1500:] if self.log.is_file() else ""
        return {
            "outcome": "crash",
            "type": f"hung {self.timeout:.0f} s" if hung else f"exit {code}",
            "message": tail.strip().splitlines()[-1][:300] if tail.strip() else "",
            "where": "",
            "log": tail,
        }

    def close(self) -> None:
        """Stop the worker (end of its input, then a kill if it does not end)."""
        if self.proc is not None and self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def __enter__(self) -> Worker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _copy_file(src: str, dst: str) -> None:
    """``shutil.copy2``, except that a named pipe is made anew (reading it would block)."""
    if stat.S_ISFIFO(os.lstat(src).st_mode):
        os.mkfifo(dst)
    else:
        shutil.copy2(src, dst)


def save_failure(case: Case, outcome: dict[str, Any], folder: Path, name: str) -> Path:
    """Copy a failing case to ``folder/name`` with ``case.json`` (what was done, what came out,
    the command that replays it)."""
    dest = folder / name
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(case.root, dest, symlinks=True, copy_function=_copy_file)
    old, new = str(case.root).encode(), str(dest).encode()
    for file in dest.rglob("*.json"):  # run configs name the support by absolute path
        if file.is_file():
            file.write_bytes(file.read_bytes().replace(old, new))
    path = dest / case.path.relative_to(case.root)
    record = {
        "target": case.target,
        "mutations": case.applied,
        "outcome": outcome,
        "repro": f"python tests/fuzz_target.py {case.target} {path}",
    }
    (dest / "case.json").write_text(json.dumps(record, indent=1, default=str))
    return dest


def describe(outcome: dict[str, Any]) -> str:
    """One line: outcome, exception type, where, message."""
    parts = [outcome["outcome"], outcome.get("type", ""), outcome.get("where", "")]
    parts += outcome.get("problems", [])
    return " | ".join(p for p in parts if p) + f": {outcome.get('message', '')[:240]}"
