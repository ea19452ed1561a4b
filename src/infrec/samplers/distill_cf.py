"""Distill-CF as a sampler: μ = budget synthetic users, learned once and cached.

The optimisation lives in :mod:`infrec.distillation` (estimator and loss, the loop); this module
resolves the budget, meets full data at 100% (the real train matrix) and caches supports under
``support_dir``, keyed by the split and every setting, so ``infrec-train sampler=distill_cf`` and
``infrec-distill`` with the same settings reuse one distillation.

A cached support is checked as ``sampler=from_file`` checks a file (structure, values, metadata,
content hash, the dataset it fits) and must hold the key it was made for — the split's hash and
every setting — so a damaged, edited or swapped entry is rebuilt with one line saying why, never
used silently.

A summary is μ real-valued rows (values in [0, 1], each row's mass ≈ γ). ``export``
(``sampler.export``) turns it into what the models fit on, after the cache: it is not part of the
key, so one distillation serves every export; the run's config and support metadata record it.

- ``values``: the rows as they are (∞-AE, EASE and Mult-VAE use the values; MF, NeuMF and
  LightGCN binarise each row to its round(mass) largest entries,
  :func:`infrec.models.negatives.binary_support`, unless ``model.support_weights=true``).
- ``degree``: each row binarised to a degree drawn (seeded) from the real train users' degrees,
  keeping its largest entries.
- ``sample``: the same degrees, the items drawn without replacement with the row's values as
  probabilities (Gumbel top-k: the largest ``log x + Gumbel`` keys, Efraimidis–Spirakis).

Degrees are capped by the row's nonzero entries (and so by the item count); ``degree`` and
``sample`` draw the same degrees for the same seed.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from infrec.data.matrix import Split, top_per_row
from infrec.distillation.loop import DistillSettings, distill
from infrec.errors import InfrecError
from infrec.models.base import Record, no_record
from infrec.paths import check_writable
from infrec.samplers.base import Sampler, Support, describe_support, resolve_budget
from infrec.samplers.support_file import check_fits, load_support, save_support
from infrec.sharding import is_lead

log = logging.getLogger(__name__)

EXPORTS = ("values", "degree", "sample")
"""``sampler.export``: the values, top entries to a real degree, or items sampled to one."""

STREAM = 23
"""Mixed into the run's seed for the export's draws (independent of the distillation's)."""


def check_export(export: str) -> str:
    """``export`` when it is one of :data:`EXPORTS`; else a one-line error naming them."""
    if export not in EXPORTS:
        raise InfrecError(f"sampler.export={export!r}: choose one of {', '.join(EXPORTS)}")
    return export


def real_degrees(train: sp.csr_matrix, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` degrees drawn with replacement from the train users who have any interaction."""
    degrees = np.diff(sp.csr_matrix(train).indptr)
    degrees = degrees[degrees > 0]
    if not degrees.size:
        raise InfrecError("sampler.export: the train matrix has no users' degrees to draw from")
    return rng.choice(degrees, size=n)


def export_summary(
    matrix: sp.spmatrix | np.ndarray, train: sp.csr_matrix, export: str, seed: int
) -> sp.spmatrix | np.ndarray:
    """The summary as ``export`` hands it to the models (``values``: ``matrix`` itself)."""
    if check_export(export) == "values":
        return matrix
    dense = matrix.toarray() if sp.issparse(matrix) else np.asarray(matrix, np.float64)
    rng = np.random.default_rng((int(seed), STREAM))
    counts = np.minimum(real_degrees(train, dense.shape[0], rng), (dense > 0).sum(1))
    if export == "degree":
        return top_per_row(dense, counts)
    with np.errstate(divide="ignore"):
        keys = np.log(np.clip(dense, 0, None)) + rng.gumbel(size=dense.shape)
    return top_per_row(keys, counts)


class DistillCFSampler(Sampler):
    """The support is the best-validating synthetic sample of a Distill-CF run."""

    name = "distill_cf"

    def __init__(
        self,
        budget: int | float | None,
        seed: int,
        gamma: int,
        tau: float,
        card_reg: float,
        lr: float,
        steps: int,
        patience: int,
        depth: int,
        lambdas: list[float],
        pool_factor: float | None,
        target_batch: int | None,
        val_users: float | None,
        log_every: int,
        reuse_lambda: bool,
        export: str,
        support_dir: str | None,
        inner: str,
    ):
        self.budget = budget
        self.export = check_export(export)
        self.reuse_lambda = bool(reuse_lambda)
        self.settings = DistillSettings(
            gamma=int(gamma),
            tau=float(tau),
            card_reg=float(card_reg),
            lr=float(lr),
            steps=int(steps),
            patience=int(patience),
            depth=int(depth),
            lambdas=tuple(float(x) for x in lambdas),
            pool_factor=None if pool_factor is None else float(pool_factor),
            target_batch=None if target_batch is None else int(target_batch),
            val_users=val_users,
            log_every=int(log_every),
            seed=int(seed),
            inner=str(inner),
        )
        self.support_dir = Path(support_dir) if support_dir else None

    def config(self) -> dict[str, Any]:
        """What makes a distilled support: the cache key and the support file's provenance
        (not ``export``, applied to the support afterwards; ``inner`` only when it is not the
        published ∞-AE, so that summaries cached before the option existed keep their key)."""
        settings = self.settings.as_dict()
        settings.pop("log_every")
        if settings["inner"] == "infinite_ae":
            settings.pop("inner")
        return {"name": self.name, "budget": self.budget, **settings}

    def artifact_path(self, split: Split, mu: int) -> Path | None:
        if self.support_dir is None:
            return None
        blob = json.dumps({"split": split.key, **self.config()}, sort_keys=True, default=str)
        digest = hashlib.sha256(blob.encode()).hexdigest()[:12]
        seed = self.settings.seed
        return self.support_dir / f"{split.name}-distill_cf-{mu}-seed{seed}-{digest}.npz"

    def sample(self, split: Split, record: Record = no_record) -> Support:
        mu = resolve_budget(self.budget, split.n_users)
        if mu == split.n_users:
            # a summary as large as the data is the data: every sampler meets full data at 100%
            log.info("Distill-CF budget covers all %d users; using the real train matrix", mu)
            return Support(split.train, describe_support(split.train, split.train, 0.0))
        return self._exported(self._summary(split, mu, record), split)

    def _summary(self, split: Split, mu: int, record: Record) -> Support:
        """The distilled summary of ``mu`` users: from the cache, or distilled (and cached)."""
        path = self.artifact_path(split, mu)
        if path is not None and path.is_file():
            cached = self._from_cache(path, split, mu)
            if cached is not None:
                return cached
        if path is not None and is_lead():  # before the distillation, not after it
            check_writable(path.parent, "paths.support_dir")
        matrix, meta = distill(split, mu, self.settings, record)
        if path is not None and is_lead():  # one writer when several processes distil together
            save_support(
                path,
                matrix,
                {**meta, "dataset": split.name, "split_key": split.key, "config": self.config()},
            )
            log.info("saved Distill-CF support to %s", path)
        info = describe_support(matrix, split.train, meta["seconds"])
        return Support(matrix, {**info, **_numeric(meta)}, self._hints(meta))

    def _exported(self, summary: Support, split: Split) -> Support:
        """``summary`` as ``export`` hands it to the models; the metadata keeps the distilled
        numbers and the summary's own mass (``distilled_interactions``)."""
        if self.export == "values":
            return summary
        matrix = export_summary(summary.matrix, split.train, self.export, self.settings.seed)
        info = describe_support(matrix, split.train, summary.meta["seconds"])
        mass = {"distilled_interactions": summary.meta["interactions"]}
        return Support(matrix, {**summary.meta, **info, **mass}, summary.hints)

    def _from_cache(self, path: Path, split: Split, mu: int) -> Support | None:
        """The cached support at ``path`` when it is whole and was made for exactly this split
        and these settings (the key stored in it, not only its name); else ``None`` and one line
        saying why it is rebuilt."""
        try:
            matrix, meta = load_support(path)
            check_fits(path, matrix, meta, split)
        except InfrecError as e:
            log.warning(
                "cache %s is damaged (%s); rebuilding", path, str(e).removeprefix(f"{path}: ")
            )
            return None
        want = {"split_key": split.key, "config": _plain(self.config()), "users": mu}
        made = {
            "split_key": meta.get("split_key"),
            "config": meta.get("config"),
            "users": matrix.shape[0],
        }
        if made != want:
            differs = ", ".join(
                f"{k}={json.dumps(made[k], default=str)}" for k in want if made[k] != want[k]
            )
            log.warning("cache %s was made for %s; rebuilding", path, differs)
            return None
        log.info("Distill-CF support from %s (best step %s)", path, meta.get("best_step"))
        info = describe_support(matrix, split.train, 0.0)
        seconds = meta.get("seconds", 0.0)
        return Support(matrix, {**info, **_numeric(meta), "seconds": seconds}, self._hints(meta))

    def _hints(self, meta: dict[str, Any]) -> dict[str, dict[str, Any]]:
        """For the inner model (``reuse_lambda``): the λ validated on the kept sample, and ∞-AE's
        depth."""
        lam = meta.get("best_lambda")
        if not self.reuse_lambda or lam is None:  # None: a support file from before λ was kept
            return {}
        if self.settings.inner == "ease":
            return {"ease": {"lambda": float(lam)}}
        return {"infinite_ae": {"depth": self.settings.depth, "lambda": float(lam)}}


def _plain(obj: Any) -> Any:
    """``obj`` as its JSON round trip (tuples become lists), as metadata stores it."""
    return json.loads(json.dumps(obj, default=str))


def _numeric(meta: dict[str, Any]) -> dict[str, float]:
    return {k: float(v) for k, v in meta.items() if isinstance(v, int | float) and k != "seconds"}
