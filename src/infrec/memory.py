"""Memory known before heavy work: what a fit and its evaluation will hold, against a budget.

``runtime.memory_gb`` (default: the machine's physical memory, or the accelerator's when JAX runs
on one and it has less — the dense arrays of a fit live there) is the budget for a run's peak
RSS. Before fitting, the model lists the arrays it will hold (:meth:`Model.memory`, sizes from
the support's shape alone) and the evaluation adds one block of scores; with what the process
already holds (the split, the support), a total above the budget stops the run with one line
naming the largest array, its shape and size, and what to change — not an out-of-memory kill
twenty minutes in.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from infrec.errors import InfrecError

GB = 1024**3


FIT, SCORE = "fit", "score"
"""Phases of a run whose arrays never coexist: the fit's working arrays (those a model frees
before it is scored) and the scoring's (evaluation blocks). A :class:`Need` of neither phase is
held throughout; :func:`total_gb` counts the larger phase only."""


@dataclass(frozen=True)
class Need:
    """One array a computation will hold: a name users recognise, its shape and item size, and
    the phase it lives in (``""``: the whole run; :data:`FIT` or :data:`SCORE`: that phase)."""

    name: str
    shape: tuple[int, ...]
    itemsize: int = 4
    phase: str = ""

    @property
    def bytes(self) -> int:
        return math.prod(self.shape) * self.itemsize

    def describe(self) -> str:
        dims = " × ".join(f"{d:,}" for d in self.shape)
        return f"{self.name} ({dims} × {self.itemsize} B = {gb(self.bytes / GB)} GB)"


def machine_gb() -> float:
    """Physical memory of this machine, in GiB."""
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / GB


def resident_gb() -> float:
    """This process's resident memory now, in GiB."""
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / GB


def device_gb() -> float | None:
    """Memory of JAX's default device in GiB when it is an accelerator (a GPU's ``bytes_limit``:
    what XLA's allocator may take), None on the CPU or when the device does not say."""
    import jax

    if jax.default_backend() == "cpu":
        return None
    stats = jax.devices()[0].memory_stats() or {}
    limit = stats.get("bytes_limit")
    return float(limit) / GB if limit else None


def budget_gb(memory_gb: float | None) -> float:
    """``runtime.memory_gb``, or when it is null the machine's memory — the accelerator's where
    JAX runs on one with less (kernels, factors and solutions are device arrays there)."""
    if memory_gb is None:
        device = device_gb()
        return machine_gb() if device is None else min(machine_gb(), device)
    if not float(memory_gb) > 0:
        raise InfrecError(f"runtime.memory_gb={memory_gb}: give a size in GB > 0, or null")
    return float(memory_gb)


def evaluation_needs(block_users: int, n_users: int, n_items: int, context_nnz: int) -> list[Need]:
    """One evaluation block (the scores, their ranking work and target flags), the two
    evaluation tasks' per-user arrays — 50 negatives (int32 + a flag) and the PSP ideal at up to
    100 cut-offs (float64), 1,050 B per user and task, for at most every user — and the sparse
    matrices evaluation builds (``context_nnz`` entries at 8 B: float32 value + int32 index)."""
    return [
        Need(
            "evaluation block (scores, eval.block_users × items)", (block_users, n_items), 14, SCORE
        ),
        Need("validation and test negatives and PSP ideals (users × 2 tasks)", (n_users, 2100), 1),
        Need("known items and test context (CSR: train + validation + test)", (context_nnz,), 8),
    ]


BLOCK_USERS = (256, 8192)
"""The range of evaluation block sizes :func:`choose_block_users` picks from (powers of two)."""


def choose_block_users(plan: Callable[[int], list[Need]], memory_gb: float | None) -> int:
    """``eval.block_users`` when it is null: the largest power of two in ``BLOCK_USERS`` whose
    block-sized arrays (``plan(block)`` minus ``plan(smallest)``: the score block, the scorer's
    kernel block) take at most a quarter of what the budget leaves beyond everything else.

    Bigger blocks mean fewer, larger products (faster); the metrics do not depend on the size
    (:data:`infrec.evaluate.NEGATIVE_CHUNK`). A budget too small even for the smallest block is
    left to :func:`check` to report.
    """
    smallest, largest = BLOCK_USERS
    base = resident_gb() + total_gb(plan(smallest))
    spare = max(budget_gb(memory_gb) - base, 0.0) / 4
    block = largest
    while block > smallest and total_gb(plan(block)) - total_gb(plan(smallest)) > spare:
        block //= 2
    return block


def total_gb(needs: list[Need]) -> float:
    """The peak of ``needs``: what is held throughout plus the larger of the fit's and the
    scoring's own arrays."""
    held = sum(n.bytes for n in needs if n.phase not in (FIT, SCORE))
    phases = [sum(n.bytes for n in needs if n.phase == phase) for phase in (FIT, SCORE)]
    return (held + max(phases)) / GB


def check(needs: list[Need], memory_gb: float | None, what: str, advice: str) -> float:
    """Raise when what is resident plus ``needs`` exceeds the budget; return the planned GB."""
    budget, held = budget_gb(memory_gb), resident_gb()
    planned = held + total_gb(needs)
    if planned > budget and needs:
        largest = max(needs, key=lambda n: n.bytes)
        source = "runtime.memory_gb" if memory_gb is not None else _default_source()
        raise InfrecError(
            f"{what} needs ~{gb(planned)} GB ({gb(held)} GB held now, {gb(planned - held)} GB "
            f"to allocate), above {source} ({gb(budget)} GB); the largest array is the "
            f"{largest.describe()}; {advice}"
        )
    return planned


def _default_source() -> str:
    """What a null ``runtime.memory_gb`` stands for, in an error message."""
    device = device_gb()
    if device is not None and device < machine_gb():
        return "the accelerator's memory"
    return "this machine's memory"


def gb(x: float) -> str:
    """GB with three significant figures' worth of decimals (0.043, 2.41, 37.3)."""
    return f"{x:.1f}" if x >= 10 else f"{x:.2f}" if x >= 0.1 else f"{x:.3f}"


def itemsize(dtype) -> int:
    return int(np.dtype(dtype).itemsize)
