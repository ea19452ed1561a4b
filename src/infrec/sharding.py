"""User rows split over every visible JAX device (``jax.sharding``), results gathered.

One mesh axis, ``users``, over ``jax.devices()``: an array sharded by rows puts a slice of the
users on each device, and XLA partitions a jitted computation to follow it — each device computes
its users' kernel rows, scores or loss terms, and products that sum over users (Nyström's
``K_nmᵀK_nm``, the Distill-CF loss) are all-reduced. With one device nothing here is used (the host
BLAS path of :mod:`infrec.linalg` stays). One process only: arrays are placed with
``jax.device_put``, which needs every device addressable from this process, so several hosts
(``jax.distributed``) are not supported yet (README, "Scale").

Rows are padded with zero rows to a multiple of the device count; callers mask what the padding
would add (:func:`row_mask`) and trim results to the real rows.
"""

from __future__ import annotations

import functools

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

AXIS = "users"


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


def shard_rows(x: np.ndarray | jax.Array) -> jax.Array:
    """``x`` split by rows over the devices, zero rows appended to a multiple of their count."""
    n = x.shape[0]
    pad = padded(n) - n
    if pad:
        x = np.concatenate([np.asarray(x), np.zeros((pad, *x.shape[1:]), np.asarray(x).dtype)])
    return jax.device_put(x, NamedSharding(mesh(), P(AXIS)))


def replicate(x: np.ndarray | jax.Array) -> jax.Array:
    """``x`` whole on every device."""
    return jax.device_put(x, NamedSharding(mesh(), P()))


def row_mask(n: int, dtype) -> jax.Array:
    """1 for the ``n`` real rows, 0 for the padding, sharded like :func:`shard_rows`."""
    return shard_rows(np.ones(n, dtype))
