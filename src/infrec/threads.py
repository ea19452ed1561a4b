"""Host threads for NumPy/SciPy work that releases the GIL (sparse products, partitions, sorts),
and the malloc setting that keeps them from growing the process."""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os

log = logging.getLogger(__name__)

M_ARENA_MAX = -8
"""glibc's ``mallopt`` parameter for the number of malloc arenas (``malloc.h``)."""


def host_threads() -> int:
    """The cores this process may run on: the thread count for GIL-free host work (EASE's sparse
    item Gram blocks, the evaluation's ranking chunks)."""
    return len(os.sched_getaffinity(0))


def one_malloc_arena() -> bool:
    """Ask glibc for a single malloc arena (``M_ARENA_MAX = 1``); True when it was set.

    glibc gives each new thread an arena of its own, which keeps what the thread freed: the
    evaluation's ranking threads left ~160 MB of freed ranking temporaries in theirs and raised
    the ∞-AE paper job's peak RSS from 1,099 to 1,260 MiB (same run; with one arena 1,085 MiB,
    docs/performance.md). The few allocations those threads make then share the main arena's
    lock, which costs nothing measurable. The entry points call this before any thread starts;
    a ``MALLOC_ARENA_MAX`` in the environment is the user's choice and is left as it is, and
    outside glibc nothing is done.
    """
    if "MALLOC_ARENA_MAX" in os.environ:
        return False
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
        mallopt = libc.mallopt if libc is not None else None
    except (OSError, AttributeError):
        mallopt = None
    if mallopt is None:
        return False
    ok = bool(mallopt(M_ARENA_MAX, 1))
    log.debug("malloc arenas: %s", "one" if ok else "unchanged (mallopt refused)")
    return ok
