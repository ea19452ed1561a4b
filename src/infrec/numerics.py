"""Floating-point precision: float32 by default, float64 on request (enables JAX x64)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from infrec.errors import InfrecError

DTYPES = {"float32": np.float32, "float64": np.float64}


def resolve_dtype(name: str) -> type[np.floating]:
    """NumPy dtype for ``name``; turning on float64 also enables JAX's 64-bit mode."""
    if name not in DTYPES:
        raise InfrecError(f"dtype={name!r}: choose float32 or float64")
    if name == "float64" and not jax.config.jax_enable_x64:
        jax.config.update("jax_enable_x64", True)
    return DTYPES[name]


def to_device(x: np.ndarray, dtype: type[np.floating]) -> jax.Array:
    return jnp.asarray(np.asarray(x, dtype=dtype))
