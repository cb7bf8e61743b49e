"""Motion OFF only after ``motion_off_delay`` seconds without motion (no flapping entity)."""

from __future__ import annotations

import threading
import time


class MotionOffDelay:
    def __init__(self, delay: float) -> None:
        self.delay = delay
        self._lock = threading.Lock()
        self._due: dict[str, float] = {}  # camera → monotonic deadline of its OFF

    def change(self, camera: str, active: bool) -> bool:
        """Motion started or stopped; True when the new state is to be published now."""
        with self._lock:
            if active:
                self._due.pop(camera, None)
                return True
            if self.delay > 0:
                self._due[camera] = time.monotonic() + self.delay
                return False
            return True

    def due(self) -> list[str]:
        """Cameras whose OFF is due now (forgotten here: publish them)."""
        now = time.monotonic()
        with self._lock:
            ready = [camera for camera, deadline in self._due.items() if deadline <= now]
            for camera in ready:
                del self._due[camera]
        return ready

    def flush(self) -> list[str]:
        """Every pending OFF, due or not (shutdown)."""
        with self._lock:
            pending = list(self._due)
            self._due.clear()
        return pending
