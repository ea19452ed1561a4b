"""User rows split over every JAX device of every process (``jax.sharding``), results gathered.

One mesh axis, ``users``, over ``jax.devices()``: an array sharded by rows puts a slice of the
users on each device, and XLA partitions a jitted computation to follow it — each device computes
its users' kernel rows, scores or loss terms, and products that sum over users (Nyström's
``K_nmᵀK_nm``, the Distill-CF loss) are all-reduced. With one device nothing here is used (the host
BLAS path of :mod:`infrec.linalg` stays).

Several processes (hosts, or one per GPU) join one mesh with :func:`initialize`
(``jax.distributed``). Every process runs the same program on the same data (each loads the
prepared split); arrays are built from that host copy with ``jax.make_array_from_callback`` (each
process places only its own devices' shards) and brought back with :func:`to_host` (a replica, or
an all-gather), so every process sees every result; only the lead process writes records
(:func:`is_lead`).

Rows are padded with zero rows to a multiple of the device count; callers mask what the padding
would add (:func:`row_mask`) and trim results to the real rows.
"""

from __future__ import annotations

import functools
import logging

import jax
import numpy as np
from jax.experimental import multihost_utils
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from infrec.errors import InfrecError

log = logging.getLogger(__name__)

AXIS = "users"


def initialize(
    distributed: bool, coordinator: str | None, processes: int | None, process_id: int | None
) -> None:
    """Join the processes of one run into one JAX mesh (``runtime.distributed=true``).

    Under SLURM or Open MPI ``jax.distributed.initialize`` finds the coordinator, the process
    count and this process's index itself; elsewhere give all three (``runtime.coordinator=
    host:port runtime.processes=N runtime.process_id=i``). Call before any JAX computation.
    """
    given = (coordinator, processes, process_id)
    if not distributed:
        if any(v is not None for v in given):
            raise InfrecError(
                "runtime.coordinator/processes/process_id are set but runtime.distributed is "
                "false; add runtime.distributed=true"
            )
        return
    if jax.distributed.is_initialized():
        return
    if any(v is None for v in given) and not all(v is None for v in given):
        raise InfrecError(
            "runtime.distributed=true: give runtime.coordinator, runtime.processes and "
            "runtime.process_id together, or none of them under SLURM / Open MPI"
        )
    jax.distributed.initialize(coordinator, processes, process_id)
    log.info(
        "process %d of %d: %d local of %d JAX devices",
        jax.process_index(),
        jax.process_count(),
        jax.local_device_count(),
        jax.device_count(),
    )


def start(runtime) -> bool:
    """:func:`initialize` from the ``runtime`` config group; True in the lead process."""
    initialize(
        bool(runtime.get("distributed", False)),
        runtime.get("coordinator"),
        runtime.get("processes"),
        runtime.get("process_id"),
    )
    return is_lead()


def is_lead() -> bool:
    """True in the process that writes run records (process 0; the only one without
    ``jax.distributed``)."""
    return jax.process_index() == 0


def multi_device() -> bool:
    """True when more than one JAX device is visible (then the sharded paths are taken)."""
    return jax.device_count() > 1


@functools.cache
def mesh() -> Mesh:
    return Mesh(np.asarray(jax.devices()), (AXIS,))


def padded(n: int) -> int:
    """``n`` rounded up to a multiple of the device count."""
    d = jax.device_count()
    return -(-n // d) * d


def _place(x: np.ndarray, spec: P) -> jax.Array:
    """A global array from this process's full host copy: each process fills its own devices."""
    return jax.make_array_from_callback(x.shape, NamedSharding(mesh(), spec), lambda i: x[i])


def shard_rows(x: np.ndarray | jax.Array) -> jax.Array:
    """``x`` split by rows over the devices, zero rows appended to a multiple of their count."""
    x = to_host(x)
    n = x.shape[0]
    pad = padded(n) - n
    if pad:
        x = np.concatenate([x, np.zeros((pad, *x.shape[1:]), x.dtype)])
    return _place(x, P(AXIS))


def replicate(x: np.ndarray | jax.Array) -> jax.Array:
    """``x`` whole on every device."""
    return _place(to_host(x), P())


def to_host(x: np.ndarray | jax.Array) -> np.ndarray:
    """``x`` as a host array in every process: as is when this process holds all of it, a local
    replica when it is replicated, else gathered from every process's shards."""
    if not isinstance(x, jax.Array) or x.is_fully_addressable:
        return np.asarray(x)
    if x.is_fully_replicated:
        return np.asarray(x.addressable_data(0))
    return np.asarray(multihost_utils.process_allgather(x, tiled=True))


def row_mask(n: int, dtype) -> jax.Array:
    """1 for the ``n`` real rows, 0 for the padding, sharded like :func:`shard_rows`."""
    return shard_rows(np.ones(n, dtype))
