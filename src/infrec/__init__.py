"""infrec: Infinite Recommendation Networks (∞-AE, Distill-CF), baselines, samplers, tracking.

Data flows one way: ``data/`` (raw) → :mod:`infrec.data` (prepare) → :mod:`infrec.samplers`
(sample) → :mod:`infrec.models` (fit) → :mod:`infrec.evaluate` → :mod:`infrec.track`.
"""

from infrec.errors import InfrecError

__all__ = ["InfrecError"]
__version__ = "0.1.0"
