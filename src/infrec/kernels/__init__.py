"""Closed-form kernels of infinitely wide networks."""

from infrec.kernels.ntk import ntk, ntk_nngp

__all__ = ["ntk", "ntk_nngp"]
