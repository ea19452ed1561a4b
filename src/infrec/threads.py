"""Host threads for NumPy/SciPy work that releases the GIL (sparse products, partitions, sorts),
and the malloc setting that keeps them from growing the process."""

from __future__ import annotations

import ctypes
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
    lock, which costs nothing measurable. The entry points call this first, before those threads
    start; a ``MALLOC_ARENA_MAX`` in the environment is the user's choice and is left as it is, and
    outside glibc nothing is done.
    """
    if "MALLOC_ARENA_MAX" in os.environ:
        return False
    try:  # the process's own symbols: libc's, without find_library's ldconfig subprocess
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # no libc with mallopt (not glibc)
        return False
    ok = bool(mallopt(M_ARENA_MAX, 1))
    log.debug("malloc arenas: %s", "one" if ok else "unchanged (mallopt refused)")
    return ok
