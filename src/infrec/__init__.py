"""infrec: Infinite Recommendation Networks (∞-AE, Distill-CF), baselines, samplers, tracking.

Data flows one way — raw files → prepare → sample → fit → evaluate → track/report — and so do
imports: each layer imports only from itself and the layers above it in this list
(``tests/test_architecture.py`` enforces it), and no module does anything at import time but
define names.

1. core: ``errors``, ``paths`` (safe names, atomic writes), ``validate`` (checks of every file
   read back), ``numerics`` (dtypes), ``registry`` (configs
   → objects, type-checked), ``config`` (resolvers, schema, run names), ``progress``, ``memory``
   (the plan checked against ``runtime.memory_gb``), ``threads`` (host threads, one malloc arena);
2. ``data``: readers, download, preparation and the cached :class:`~infrec.data.matrix.Split`;
3. numerics: ``kernels`` (the NTK), ``linalg`` (Gram, Cholesky, solves), ``sparse``,
   ``sharding`` (user rows over every JAX device);
4. ``models``: fit on any support, score users from their history;
5. ``evaluate``: full-ranking metrics;
6. ``selection``: hyper-parameters chosen on validation;
7. ``distillation``: Distill-CF's estimator and optimisation loop (∞-AE inside);
8. ``samplers``: supports from the train matrix (Distill-CF and SVP-CF fit proxies);
9. ``track``: run records and W&B;
10. ``reports``: study tables and figures from folders of runs;
11. ``apps``: the entry points (``infrec-train``, …); nothing imports them.
"""

from infrec.errors import InfrecError

__all__ = ["InfrecError"]
__version__ = "0.1.0"
