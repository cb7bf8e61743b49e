"""Rate limit for Home Assistant's ``online`` announcements on ``homeassistant/status``.

Each ``online`` makes camwatch republish every discovery config and retained state (a few
hundred messages). Any broker client can publish ``online``, so a storm of them must not
turn into a storm of republishes: the first one republishes at once, the ones that follow
within ``interval`` seconds are coalesced into one more republish when it ends.
"""

from __future__ import annotations

import threading

#: Seconds between two republishes of discovery and state caused by ``online``.
HA_RESYNC_INTERVAL = 10.0


class ResyncLimiter:
    def __init__(self, interval: float = HA_RESYNC_INTERVAL) -> None:
        self.interval = interval
        self._lock = threading.Lock()
        self._last: float | None = None
        self._pending = 0

    def announce(self, now: float) -> bool:
        """An ``online`` arrived: True to republish now, False when it waits (coalesced)."""
        with self._lock:
            if self._pending == 0 and (self._last is None or now - self._last >= self.interval):
                self._last = now
                return True
            self._pending += 1
            return False

    def due(self, now: float) -> int:
        """How many coalesced announcements are due now (republish once when > 0)."""
        with self._lock:
            if self._pending and self._last is not None and now - self._last >= self.interval:
                count, self._pending, self._last = self._pending, 0, now
                return count
            return 0
