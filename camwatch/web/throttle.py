"""Login throttling: an address with too many recent failures is locked out for a while."""

from __future__ import annotations

import logging
import threading
import time
from collections import deque

_LOGGER = logging.getLogger(__name__)
_MAX_ADDRESSES = 10000


class LoginThrottle:
    def __init__(self, max_failures: int, window: float, lockout: float) -> None:
        self.max_failures = max_failures
        self.window = window
        self.lockout = lockout
        self._lock = threading.Lock()
        self._failures: dict[str, deque[float]] = {}
        self._locked_until: dict[str, float] = {}

    def retry_after(self, address: str, now: float | None = None) -> float:
        """Seconds until ``address`` may try again; 0 when it may try now."""
        now = time.monotonic() if now is None else now
        with self._lock:
            until = self._locked_until.get(address, 0.0)
            if until <= now:
                self._locked_until.pop(address, None)
                return 0.0
            return until - now

    def failure(self, address: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        with self._lock:
            if len(self._failures) >= _MAX_ADDRESSES and address not in self._failures:
                self._forget_old(now)
            times = self._failures.setdefault(address, deque())
            times.append(now)
            while times and now - times[0] > self.window:
                times.popleft()
            if len(times) >= self.max_failures:
                self._locked_until[address] = now + self.lockout
                times.clear()
                locked = True
            else:
                locked = False
        if locked:
            _LOGGER.warning("too many failed logins from %s: locked out for %.0f s", address, self.lockout)

    def success(self, address: str) -> None:
        with self._lock:
            self._failures.pop(address, None)
            self._locked_until.pop(address, None)

    def _forget_old(self, now: float) -> None:
        for address in [a for a, t in self._failures.items() if not t or now - t[-1] > self.window]:
            del self._failures[address]
        if len(self._failures) >= _MAX_ADDRESSES:  # still full: drop the oldest entries
            for address in list(self._failures)[: _MAX_ADDRESSES // 10]:
                del self._failures[address]
