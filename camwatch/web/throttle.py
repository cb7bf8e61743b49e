"""Login throttling with capped backoff, counted atomically.

Each attempt is checked and counted in one step under a lock (``attempt``), *before* the
password is hashed: parallel guesses cannot slip past the limit while others are still
being evaluated. A right password clears the count (``success``).

Attempts are counted against keys chosen by the caller (camwatch.web.auth): a browser that
logged in before carries a signed device cookie and is counted on its own; any other
client is counted per address and, all together, per account. After ``max_failures``
failures within ``window`` a key waits ``backoff`` seconds, doubled by each further
failure, never more than ``cap``. So a guesser behind the owner's NAT slows down the owner's
new devices for at most ``cap`` and never the browsers the owner already uses.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Sequence

_LOGGER = logging.getLogger(__name__)
_MAX_KEYS = 10000


class LoginThrottle:
    def __init__(self, max_failures: int, window: float, cap: float, backoff: float = 2.0) -> None:
        self.max_failures = max_failures
        self.window = window
        self.cap = cap
        self.backoff = min(backoff, cap)
        self._lock = threading.Lock()
        self._failures: dict[str, deque[float]] = {}

    def _wait(self, key: str, limit: int, now: float) -> float:
        times = self._failures.get(key)
        if not times:
            return 0.0
        while times and now - times[0] > self.window:
            times.popleft()
        excess = len(times) - limit
        if excess < 0:
            return 0.0
        delay = min(self.cap, self.backoff * (2.0 ** min(excess, 32)))
        return max(0.0, times[-1] + delay - now)

    def retry_after(self, keys: Sequence[str], now: float | None = None, limits: Sequence[int] | None = None) -> float:
        """Seconds until an attempt on ``keys`` may be made; 0 when it may be made now."""
        now = time.monotonic() if now is None else now
        limits = limits or [self.max_failures] * len(keys)
        with self._lock:
            return max((self._wait(k, n, now) for k, n in zip(keys, limits, strict=True)), default=0.0)

    def attempt(self, keys: Sequence[str], now: float | None = None, limits: Sequence[int] | None = None) -> float:
        """Check and count one attempt at once: returns the wait (nothing counted) or 0 (the
        attempt is counted as a failure until ``success`` clears it)."""
        now = time.monotonic() if now is None else now
        limits = limits or [self.max_failures] * len(keys)
        with self._lock:
            wait = max((self._wait(k, n, now) for k, n in zip(keys, limits, strict=True)), default=0.0)
            if wait > 0:
                return wait
            if len(self._failures) >= _MAX_KEYS:
                self._forget_old(now)
            locked = []
            for key, limit in zip(keys, limits, strict=True):
                times = self._failures.setdefault(key, deque())
                times.append(now)
                if len(times) == limit:
                    locked.append(key)
        for key in locked:
            _LOGGER.warning("too many failed logins (%s): further tries wait, up to %.0f s", key, self.cap)
        return 0.0

    def success(self, keys: Sequence[str]) -> None:
        with self._lock:
            for key in keys:
                self._failures.pop(key, None)

    def _forget_old(self, now: float) -> None:
        for key in [k for k, t in self._failures.items() if not t or now - t[-1] > self.window]:
            del self._failures[key]
        if len(self._failures) >= _MAX_KEYS:  # still full: drop the oldest entries
            for key in list(self._failures)[: _MAX_KEYS // 10]:
                del self._failures[key]
