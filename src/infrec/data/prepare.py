"""Raw interactions → a :class:`~infrec.data.matrix.Split`, cached under ``outputs/prepared``.

Preparation follows the paper's published code: every interaction is a positive (an optional
``rating_threshold`` keeps only ratings ≥ it), duplicate (user, item) pairs collapse to their first
occurrence, users with fewer than ``min_user_interactions`` are dropped, users and items are
re-indexed in sorted order, and each user's history is shuffled and cut at ``int(0.8 n)`` (train)
and ``int(0.9 n)`` (validation); the rest is test, and the first shuffled position is always test.

The shuffle is vectorised (one random key per interaction, one lexsort), so a seed gives a
reproducible split but not the authors' exact bits; their published splits load with
``format: paper_split`` and are used as-is.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Any

import numpy as np

from infrec.data.derive import derive
from infrec.data.download import sha256_file
from infrec.data.matrix import Split, csr_from_pairs, group_ranks
from infrec.data.readers import FOLDER_FORMATS, Interactions, get_reader
from infrec.data.synthetic import OPTIONS as SYNTHETIC_OPTIONS
from infrec.data.synthetic import generate
from infrec.errors import InfrecError
from infrec.paths import check_writable, inside, safe_name

log = logging.getLogger(__name__)

TRAIN, VAL, TEST, DROPPED = 0, 1, 2, -1
PREPARATION = ("rating_threshold", "min_user_interactions", "train_frac", "val_frac", "seed")
"""The options of ``conf/prepare/`` that decide a split (part of every cache key)."""


def resolve_source(cfg: Any) -> Path:
    """The file (or, for ``paper_split``, folder) a dataset config points at."""
    if not cfg.get("path"):
        raise InfrecError(f"dataset.path is not set for dataset '{cfg.name}'; give the raw file")
    path = Path(str(cfg.path)).expanduser()
    if cfg.format not in FOLDER_FORMATS and path.is_dir():
        if not cfg.get("filename"):
            raise InfrecError(f"dataset.path={path} is a folder; set dataset.filename")
        path = inside(path, cfg.filename, "dataset.filename")
    return path


def split_labels(
    users: np.ndarray, rng: np.random.Generator, train_frac: float, val_frac: float
) -> np.ndarray:
    """Per-user random train/val/test labels for interactions grouped by dense user index."""
    rank = group_ranks(users, rng.random(len(users)))
    n_u = np.bincount(users)[users].astype(np.float64)
    first = np.floor(train_frac * n_u)
    second = np.floor((train_frac + val_frac) * n_u)
    labels = np.where(rank < first, TRAIN, np.where(rank < second, VAL, TEST))
    labels[rank == 0] = TEST
    return labels


def dense_index(ids: np.ndarray) -> tuple[np.ndarray, int]:
    """(each id's position among the sorted distinct ids, how many there are): ``np.unique``'s
    inverse, computed through a presence table for non-negative integer ids below 2²⁶ or 4× the
    row count (no sort: 12 M Netflix-shaped rows re-indexed in a fraction of a second)."""
    if ids.dtype.kind in "iu" and len(ids):
        low, high = int(ids.min()), int(ids.max())
        if low >= 0 and high < max(4 * len(ids), 1 << 26):
            present = np.zeros(high + 1, bool)
            present[ids] = True
            return np.cumsum(present)[ids] - 1, int(present.sum())
    distinct, inverse = np.unique(ids, return_inverse=True)
    return inverse.ravel(), len(distinct)


def first_occurrences(keys: np.ndarray) -> np.ndarray:
    """Positions of each distinct key's first occurrence, ascending (all of them when the keys
    are distinct, told by one sort instead of ``np.unique``'s argsort)."""
    ordered = np.sort(keys)
    if not np.any(ordered[1:] == ordered[:-1]):
        return np.arange(len(keys))
    _, first = np.unique(keys, return_index=True)
    return np.sort(first)


def _reindex(users: np.ndarray, items: np.ndarray) -> tuple[np.ndarray, np.ndarray, int, int]:
    u, n_users = dense_index(users)
    i, n_items = dense_index(items)
    return u, i, n_users, n_items


def build_split(inter: Interactions, cfg: Any, name: str = "", key: str = "") -> Split:
    """Filter, de-duplicate, re-index and split raw interactions (or apply a published split)."""
    users, items, labels = inter.users, inter.items, inter.split
    if labels is not None:
        keep = labels != DROPPED
        users, items, labels = users[keep], items[keep], labels[keep]
    else:
        keep = np.ones(len(users), bool)
        threshold = cfg.get("rating_threshold")
        if threshold is not None:
            if inter.ratings is None:
                raise InfrecError(
                    f"dataset.rating_threshold={threshold} but {inter.source} has no rating column"
                )
            keep &= inter.ratings >= float(threshold)
        users, items = users[keep], items[keep]
        u, i, _, _ = _reindex(users, items)
        pair = u.astype(np.int64) * (int(i.max(initial=0)) + 1) + i
        first = first_occurrences(pair)
        users, items = users[first], items[first]
        min_n = int(cfg.get("min_user_interactions", 3))
        u, _, _, _ = _reindex(users, items)
        enough = np.bincount(u)[u] >= min_n
        users, items = users[enough], items[enough]
    if len(inter) == 0:
        raise InfrecError(f"{inter.source}: no interactions (an empty file?) for dataset '{name}'")
    if len(users) == 0:
        raise InfrecError(
            f"dataset '{name}' ({inter.source}) is empty after filtering "
            f"(rating_threshold={cfg.get('rating_threshold')}, "
            f"min_user_interactions={cfg.get('min_user_interactions', 3)}); relax the filters"
        )
    u, i, n_users, n_items = _reindex(users, items)
    if labels is None:
        rng = np.random.default_rng(int(cfg.get("seed", 42)))
        labels = split_labels(
            u, rng, float(cfg.get("train_frac", 0.8)), float(cfg.get("val_frac", 0.1))
        )
    parts = {
        part: csr_from_pairs(u[labels == code], i[labels == code], (n_users, n_items))
        for part, code in (("train", TRAIN), ("val", VAL), ("test", TEST))
    }
    return Split(**parts, name=name, key=key)


CACHE_FORMAT = 2
"""Version of the prepared-split file (2: the key it was made for and a content hash inside)."""


def cache_inputs(cfg: Any, source: Path) -> dict[str, Any]:
    """Everything that decides a prepared split: the options and the raw bytes' hashes.

    Content-addressed (sha256 of every raw file), so a fresh checkout or a copy elsewhere reuses
    the cache and any edit to the data invalidates it.
    """
    stats = [
        (p.name, sha256_file(p))
        for p in (sorted(source.iterdir()) if source.is_dir() else [source])
        if p.is_file()
    ]
    fields = {
        k: cfg.get(k)
        for k in ("format", "sep", "columns", "header", "string_ids", "derive", *PREPARATION)
    }
    return {"files": stats, "fields": _plain(fields)}


def key_of(inputs: dict[str, Any]) -> str:
    """The 16-hex-digit cache key of :func:`cache_inputs` / :func:`synthetic_inputs`."""
    blob = json.dumps(inputs, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def cache_key(cfg: Any, source: Path) -> str:
    """The cache key of a dataset read from ``source`` (part of the cache file's name)."""
    return key_of(cache_inputs(cfg, source))


def load_cached(path: Path, made_for: dict[str, Any], key: str) -> Split | None:
    """The split cached at ``path`` when it is whole and was made for exactly ``made_for``;
    else ``None`` after one line saying why it is rebuilt."""
    try:
        split, stored = Split.load(path)
    except InfrecError as e:
        log.warning("cache %s is damaged (%s); rebuilding", path, str(e).removeprefix(f"{path}: "))
        return None
    want = json.loads(json.dumps({**made_for, "format": CACHE_FORMAT}, default=str))
    if stored != want or split.key != key:
        log.warning("cache %s was made for %s; rebuilding", path, _differences(stored, want))
        return None
    return split


def _differences(made: dict[str, Any], want: dict[str, Any]) -> str:
    """The entries of ``made`` that differ from ``want``, as ``key=value (here: value)``."""
    flat_made, flat_want = _flat(made), _flat(want)
    keys = sorted(k for k in {*flat_made, *flat_want} if flat_made.get(k) != flat_want.get(k))
    shown = [
        f"{k}={flat_made.get(k, '(absent)')} (this run: {flat_want.get(k, '(absent)')})"
        for k in keys[:4]
    ]
    return ", ".join(shown) + (f" and {len(keys) - 4} more" if len(keys) > 4 else "") or "?"


def _flat(obj: Any, prefix: str = "") -> dict[str, str]:
    if isinstance(obj, dict) and obj:
        out: dict[str, str] = {}
        for k, v in obj.items():
            out.update(_flat(v, f"{prefix}{k}."))
        return out
    return {prefix.rstrip(".") or "value": json.dumps(obj, default=str)}


def _plain(x: Any) -> Any:
    try:
        from omegaconf import OmegaConf

        if OmegaConf.is_config(x):
            return OmegaConf.to_container(x, resolve=True)
    except ImportError:  # pragma: no cover - omegaconf is a dependency
        pass
    if isinstance(x, dict):
        return {k: _plain(v) for k, v in x.items()}
    return x


def read_interactions(cfg: Any, source: Path) -> Interactions:
    reader = get_reader(str(cfg.format))
    options = {
        k: _plain(cfg.get(k))
        for k in ("sep", "columns", "header", "string_ids")
        if cfg.get(k) is not None
    }
    return reader(source, **options)


def prepare(cfg: Any, cache_dir: str | Path | None = None) -> Split:
    """Load the prepared split for a dataset config, building and caching it on first use.

    ``format: synthetic`` datasets are generated (:mod:`infrec.data.synthetic`) instead of read,
    and cached by their generator options; a ``derive`` block cuts the rows read to another
    dataset's shape first (:mod:`infrec.data.derive`, part of the cache key).
    """
    name = safe_name(cfg.name, "dataset.name")
    if str(cfg.format) == "synthetic":
        made_for = synthetic_inputs(cfg)
        source = None
    else:
        source = resolve_source(cfg)
        if not source.exists():
            raise InfrecError(
                f"{source}: not found for dataset '{name}'; "
                + (
                    f"run `infrec-fetch dataset={name}` or set dataset.path"
                    if cfg.get("files")
                    else "set dataset.path to a local copy"
                )
            )
        get_reader(str(cfg.format))
        made_for = cache_inputs(cfg, source)
    key = key_of(made_for)
    cached = Path(cache_dir) / f"{name}-{key}.npz" if cache_dir else None
    if cached is not None:
        check_writable(cached.parent, "paths.cache_dir")
        if cached.is_file():
            split = load_cached(cached, made_for, key)
            if split is not None:
                log.info("prepared split from cache %s", cached)
                return split
    inter = generate(cfg) if source is None else read_interactions(cfg, source)
    if cfg.get("derive") is not None:
        inter = derive(inter, cfg.derive)
    split = build_split(inter, cfg, name=name, key=key)
    if cached is not None:
        split.save(cached, {**made_for, "format": CACHE_FORMAT})
    # the callers print the split's summary once; this line says only where it was cached
    log.info("prepared split%s", f", cached as {cached}" if cached is not None else "")
    return split


def synthetic_inputs(cfg: Any) -> dict[str, Any]:
    """What decides a synthetic dataset: its generator and preparation options."""
    fields = {k: cfg.get(k) for k in (*SYNTHETIC_OPTIONS, *PREPARATION)}
    return {"synthetic": _plain(fields)}


def synthetic_key(cfg: Any) -> str:
    """The cache key of a synthetic dataset."""
    return key_of(synthetic_inputs(cfg))
