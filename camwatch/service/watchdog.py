"""systemd watchdog: ping ``WATCHDOG=1`` only while the application is healthy.

systemd sets ``WATCHDOG_USEC`` from ``WatchdogSec=``; without a ping within that time it kills
and restarts the service. The pinger runs on its own thread at a third of that interval and
asks ``check(stall_after)`` before each ping: ``None`` means healthy, a text names the problem
(for example a camera loop that has not come round for ``stall_after`` seconds). While a
problem lasts the pings stop, so systemd restarts a hung process; the change is logged once
and sent as ``STATUS=``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from camwatch.service.notify import Notifier

_LOGGER = logging.getLogger(__name__)

MIN_STALL_S = 5.0
MAX_STALL_S = 30.0

HealthCheck = Callable[[float], "str | None"]


def stall_limit(watchdog_s: float) -> float:
    """How long a loop may go without coming round before it counts as hung.

    Tied to the watchdog timeout (a hang is noticed within one timeout), but never under
    5 s (a camera loop may wait seconds for the shared detector) nor over 30 s.
    """
    return min(MAX_STALL_S, max(MIN_STALL_S, watchdog_s))


class WatchdogPinger:
    def __init__(self, notifier: Notifier, check: HealthCheck, interval: float | None = None) -> None:
        self.notifier = notifier
        self.check = check
        self.interval = notifier.watchdog_interval() if interval is None else interval
        self.stall_after = stall_limit(self.interval) if self.interval else MAX_STALL_S
        self.pings = 0
        self.problem: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def active(self) -> bool:
        return self.notifier.enabled and bool(self.interval)

    def start(self) -> None:
        """Start pinging when systemd asked for a watchdog; otherwise do nothing."""
        if not self.active or self._thread is not None:
            return
        _LOGGER.info("systemd watchdog every %.1f s; a loop stalled for %.0f s stops the pings",
                     self.interval, self.stall_after)
        self._thread = threading.Thread(target=self._run, name="watchdog", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5.0)
            self._thread = None

    def beat(self) -> bool:
        """One round: ping when healthy. True when a ping was sent."""
        try:
            problem = self.check(self.stall_after)
        except Exception as exc:  # a broken check must not look healthy
            problem = f"health check failed: {exc}"
        if problem != self.problem:
            if problem is None:
                _LOGGER.info("healthy again; watchdog pings resumed")
                self.notifier.status("healthy again")
            else:
                _LOGGER.error("%s; watchdog pings stopped (systemd will restart camwatch)", problem)
                self.notifier.status(problem)
            self.problem = problem
        if problem is not None:
            return False
        if self.notifier.watchdog():
            self.pings += 1
            return True
        return False

    def _run(self) -> None:
        period = max(0.05, (self.interval or 1.0) / 3)
        while True:
            self.beat()
            if self._stop.wait(period):
                return
