"""Manifests refused before anything was fetched, counted per source.

Any broker client can publish on the desired-model topics, so nothing it sends there may
become the node's update result: the model state keeps the real last result, and refusals
are a counter beside it (``refused``). Per source (the node's topic, the fleet's topic,
other nodes' copies) at most one log line and one publish per :data:`REFUSAL_QUIET`
seconds, whatever the reasons: a flood of differently broken manifests costs a few lines,
and the next line says how many were refused in between.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

REFUSAL_QUIET = 60.0
SOURCES = {"node": "this node's topic", "fleet": "the fleet topic", "copy": "another node's copy"}


@dataclass
class _Source:
    count: int = 0
    since_logged: int = 0
    logged_at: float | None = None


class RefusalLog:
    def __init__(self, quiet: float = REFUSAL_QUIET) -> None:
        self.quiet = quiet
        self._lock = threading.Lock()
        self._sources: dict[str, _Source] = {}
        self.last: dict[str, Any] | None = None

    def add(self, source: str, reason: str) -> str | None:
        """Count one refusal; the text to log and publish now, or None while this source is quiet."""
        now = time.monotonic()
        with self._lock:
            entry = self._sources.setdefault(source, _Source())
            entry.count += 1
            entry.since_logged += 1
            where = SOURCES.get(source, source)
            self.last = {"count": self.total(), "source": where, "reason": reason[:300], "time": round(time.time(), 3)}
            if entry.logged_at is not None and now - entry.logged_at < self.quiet:
                return None
            more = entry.since_logged - 1
            entry.logged_at, entry.since_logged = now, 0
        extra = f" ({more} more refused there since the last line)" if more else ""
        return f"refused a manifest on {where}: {reason}{extra}"

    def total(self) -> int:
        return sum(entry.count for entry in self._sources.values())
