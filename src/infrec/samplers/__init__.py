"""Samplers turn the train matrix and a budget into a support matrix any model can fit on."""

from infrec.samplers.base import Sampler, Support, build_sampler

__all__ = ["Sampler", "Support", "build_sampler"]
