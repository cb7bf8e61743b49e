"""The one path from a camera's pipeline to the live state and the bus.

Events go to the bus (store, MQTT, web UI stream); a status (motion, counts, tamper) goes
to both the live state (web UI, ``doctor``) and the bus (MQTT) through :meth:`emit`, so the
two never disagree; per-frame figures and the annotated still go to the live state only.
Motion and counts are sent when they change, not on every frame. One report lives as long
as its camera: a rebuild for a new config keeps it, so nothing is sent twice.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from camwatch.const import TOPIC_COUNTS, TOPIC_EVENT, TOPIC_MOTION
from camwatch.events.bus import EventBus
from camwatch.events.model import EventMessage
from camwatch.events.sequence import EventSequence
from camwatch.events.stage import Status
from camwatch.state import RuntimeState

STILL_INTERVAL = 1.0  # seconds between annotated stills for the UI


class CameraReport:
    def __init__(self, camera: str, state: RuntimeState, bus: EventBus) -> None:
        self.camera = camera
        self.state = state
        self.bus = bus
        self._motion_active = False
        self._last_counts: Any = None
        self._last_still = -1e18
        self.sequence = EventSequence()  # numbers each event's messages (Event.seq)

    def emit(self, status: Status) -> None:
        if status.state:
            self.state.update_camera(self.camera, **status.state)
        self.bus.publish(status.topic, status.payload)

    def events(self, messages: Iterable[EventMessage]) -> None:
        for message in messages:
            self.sequence.stamp(message)
            self.bus.publish(TOPIC_EVENT, message)

    def motion(self, active: bool, ts: float) -> None:
        if active != self._motion_active:
            self._motion_active = active
            self.emit(Status(TOPIC_MOTION, {"camera": self.camera, "active": active, "time": ts}, {"motion": active}))

    def counts(self, counts: dict[str, int], zones: dict[str, dict[str, int]], ts: float) -> None:
        key = (sorted(counts.items()), sorted((z, sorted(c.items())) for z, c in zones.items()))
        if key != self._last_counts:
            self._last_counts = key
            payload = {"camera": self.camera, "counts": counts, "zones": zones, "time": ts}
            self.emit(Status(TOPIC_COUNTS, payload, {"counts": counts, "zone_counts": zones}))

    def frame(self, **fields: Any) -> None:
        """Per-frame figures (detector calls, last frame time, objects, frame size)."""
        self.state.update_camera(self.camera, **fields)

    def still_due(self) -> bool:
        """Whether the UI's annotated still should be renewed now (once per STILL_INTERVAL)."""
        now = time.monotonic()
        if now - self._last_still < STILL_INTERVAL:
            return False
        self._last_still = now
        return True

    def still(self, jpeg: bytes, ts: float) -> None:
        self.state.set_still(self.camera, jpeg, ts)

    @property
    def offline(self) -> bool:
        """The camera's source reports it offline."""
        return self.state.camera(self.camera).state == "offline"
