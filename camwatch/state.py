"""Live state of a running camwatch, read by the web UI, MQTT and `doctor`.

Writers are the camera workers (one per camera) and the detector; readers take copies.
Nothing here holds raw video: only the latest annotated still (JPEG), results and counters.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import deque
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class CameraStatus:
    name: str
    online: bool = False
    state: str = "starting"  # starting | online | offline | stopped | finished
    input_fps: float = 0.0  # frames decoded per second
    processed_fps: float = 0.0  # frames that went through the pipeline per second
    skipped_fps: float = 0.0  # sampled frames dropped because the pipeline was busy
    skipped_total: int = 0
    reconnects: int = 0
    last_error: str | None = None
    last_frame_time: float | None = None
    frame_size: tuple[int, int] | None = None
    detector_calls: int = 0
    motion: bool = False
    objects: list[dict[str, Any]] = field(default_factory=list)  # current tracked objects
    counts: dict[str, int] = field(default_factory=dict)  # label → confirmed objects in view
    zone_counts: dict[str, dict[str, int]] = field(default_factory=dict)  # zone → label → count
    tamper: dict[str, Any] = field(default_factory=dict)  # anomaly issue fills this

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class RuntimeState:
    """Thread-safe registry of camera status, stills, detector facts and recent errors."""

    def __init__(self, cameras: list[str] | None = None) -> None:
        self._lock = threading.Lock()
        self._cameras: dict[str, CameraStatus] = {c: CameraStatus(c) for c in cameras or []}
        self._stills: dict[str, tuple[float, bytes]] = {}
        self._listeners: list[Any] = []
        self.detector: dict[str, Any] = {}
        self.started = time.time()
        self.errors: deque[dict[str, Any]] = deque(maxlen=50)
        self.mqtt: dict[str, Any] = {"enabled": False, "connected": False}
        self.notify: dict[str, dict[str, Any]] = {}  # destination → counters and last failure
        self.fleet: dict[str, Any] = {}  # node name, running model, model update state and history

    def camera(self, name: str) -> CameraStatus:
        with self._lock:
            return self._cameras.setdefault(name, CameraStatus(name))

    def update_camera(self, name: str, **changes: Any) -> None:
        with self._lock:
            status = self._cameras.setdefault(name, CameraStatus(name))
            for key, value in changes.items():
                setattr(status, key, value)
        self._notify("camera", name)

    def remove_camera(self, name: str) -> None:
        """Forget a camera that was removed from the config (its status and still)."""
        with self._lock:
            self._cameras.pop(name, None)
            self._stills.pop(name, None)

    def cameras(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            return {n: s.to_dict() for n, s in self._cameras.items()}

    def set_still(self, camera: str, jpeg: bytes, ts: float) -> None:
        with self._lock:
            self._stills[camera] = (ts, jpeg)

    def still(self, camera: str) -> tuple[float, bytes] | None:
        with self._lock:
            return self._stills.get(camera)

    def add_error(self, source: str, message: str) -> None:
        with self._lock:
            self.errors.append({"time": time.time(), "source": source, "message": message})

    def add_listener(self, callback: Any) -> None:
        """``callback(kind, name)`` after each change (kind: camera)."""
        self._listeners.append(callback)

    def _notify(self, kind: str, name: str) -> None:
        for cb in list(self._listeners):
            with contextlib.suppress(Exception):  # a listener must never break capture
                cb(kind, name)
