"""Early stopping: the best score so far, and when patience has run out.

Shared by the trained baselines (:mod:`infrec.models.training`, counting validations) and
Distill-CF (:mod:`infrec.distillation.loop`, counting optimiser steps).
"""

from __future__ import annotations

import math
from typing import Any


class EarlyStopping:
    """The best score so far and when it came: stop after ``patience`` units without a better one.

    Units are whatever the caller counts: validations for the trained baselines, optimiser steps
    for Distill-CF. Before any improvement, waiting counts from ``origin``.
    """

    def __init__(self, patience: int, origin: int = 0):
        self.patience, self.origin = int(patience), int(origin)
        self.best_score, self.best_at, self.best = -math.inf, None, None

    def update(self, score: float, at: int, best: Any = None) -> bool:
        """Record ``score`` at ``at``; keep ``best`` (the model or sample) when it improved."""
        if score > self.best_score:
            self.best_score, self.best_at, self.best = score, at, best
            return True
        return False

    def should_stop(self, at: int) -> bool:
        since = self.origin if self.best_at is None else self.best_at
        return at - since >= self.patience
