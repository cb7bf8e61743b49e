"""One log line per kind and minute: a flood of the same bad input cannot fill the log."""

from __future__ import annotations

import time
from collections.abc import Hashable


class LogLimit:
    """Says whether a line of kind ``key`` may be logged now: at most one per ``quiet``
    seconds each. Past ``max_keys`` kinds all are forgotten, so a flood of distinct ones
    cannot grow the memory either."""

    def __init__(self, quiet: float, max_keys: int = 1000) -> None:
        self.quiet = quiet
        self.max_keys = max_keys
        self._last: dict[Hashable, float] = {}

    def due(self, key: Hashable) -> bool:
        now = time.monotonic()
        if now - self._last.get(key, -self.quiet) < self.quiet:
            return False
        if len(self._last) > self.max_keys:
            self._last.clear()
        self._last[key] = now
        return True
