"""Progress of long loops: a bar on a terminal, a log line every so often otherwise.

Distill-CF steps, training epochs and evaluation over many user blocks report through
:class:`Progress`; in a batch job, CI or a DVC stage (no terminal) it writes one log line every
``every`` updates, and on a terminal a tqdm bar on stderr.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import Any

log = logging.getLogger(__name__)


class Progress:
    """``with Progress(total, "Distill-CF", every=10) as p: p.update(loss=0.3)``.

    Off a terminal, a line at ``level`` every ``every`` updates; on one, a bar when ``total`` is
    at least ``bar_from`` (short loops stay quiet)."""

    def __init__(
        self,
        total: int,
        desc: str,
        every: int = 10,
        logger: logging.Logger | None = None,
        level: int = logging.INFO,
        bar_from: int = 2,
    ):
        self.total, self.desc, self.every = int(total), desc, max(int(every), 1)
        self.log, self.level = logger or log, level
        self.done, self.start = 0, time.perf_counter()
        self._bar = None
        if sys.stderr.isatty() and self.total >= bar_from:
            from tqdm import tqdm

            self._bar = tqdm(total=self.total, desc=desc, leave=False, dynamic_ncols=True)

    def update(self, n: int = 1, **status: Any) -> None:
        """``n`` more units done; ``status`` (loss, …) is shown beside the count."""
        self.done += n
        text = ", ".join(
            f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in status.items()
        )
        if self._bar is not None:
            self._bar.update(n)
            if text:
                self._bar.set_postfix_str(text, refresh=False)
        elif self.done % self.every == 0 or self.done == self.total:
            rate = (time.perf_counter() - self.start) / max(self.done, 1)
            self.log.log(
                self.level,
                "%s %d/%d%s (%.2f s each)",
                self.desc,
                self.done,
                self.total,
                f": {text}" if text else "",
                rate,
            )

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
