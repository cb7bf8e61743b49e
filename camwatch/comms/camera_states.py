"""The retained MQTT states of each camera: online status, motion, object counts, tamper and
the latest snapshot.

Each is published retained through the :class:`RetainedStore`, so a (re)connect or a Home
Assistant restart gets them again. Motion turns OFF only after ``motion_off_delay``; counts
go back to 0 for every label a zone has shown; a camera's snapshot is sent once per new
best snapshot of an event. ``seed`` gives states before the first real ones, ``stopped``
what a stopped camwatch leaves behind (no objects, no motion, no tamper, offline).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from camwatch.comms.discovery import ALL_LABELS
from camwatch.comms.motion_off import MotionOffDelay
from camwatch.comms.retained import RetainedStore
from camwatch.comms.snapshot import cropped_snapshot
from camwatch.comms.state_payloads import count_messages, json_bytes, seed_messages
from camwatch.comms.topics import OFF, OFFLINE, ON, ONLINE, Topics
from camwatch.config.camera import CameraConfig
from camwatch.const import EVENT_END
from camwatch.events.model import EventMessage
from camwatch.events.snapshots import snapshot_path
from camwatch.paths import snapshots_dir


class CameraStates:
    def __init__(
        self, topics: Topics, retained: RetainedStore, cameras: dict[str, CameraConfig], data_dir: Path,
        motion_off_delay: float,
    ) -> None:  # fmt: skip
        self.topics = topics
        self.retained = retained
        self.cameras = cameras
        self.data_dir = data_dir
        self._motion_off = MotionOffDelay(motion_off_delay)
        self._tamper: dict[str, set[str]] = {c: set() for c in cameras}
        self._snapshot_times: dict[str, float | None] = {}

    def set_cameras(self, cameras: dict[str, CameraConfig]) -> None:
        """Follow a config change: a removed camera's retained topics are cleared."""
        for camera in set(self.cameras) - set(cameras):
            self.retained.forget_under(f"{self.topics.base}/{camera}/")
            self._tamper.pop(camera, None)
        self.cameras = cameras

    # ------------------------------------------------------------ bus messages
    def event(self, message: EventMessage) -> None:
        """The event's snapshot, where its camera publishes one."""
        event = message.event
        cam = self.cameras.get(event.camera)
        if cam is not None and cam.mqtt.snapshot:
            self._snapshot(message, cam.mqtt.snapshot_height)
        if message.type == EVENT_END:
            self._snapshot_times.pop(event.id, None)

    def _snapshot(self, message: EventMessage, height: int) -> None:
        event = message.event
        if not event.has_snapshot or self._snapshot_times.get(event.id, -1.0) == event.snapshot_time:
            return
        path = snapshot_path(snapshots_dir(self.data_dir), event.id, "clean")
        jpeg = cropped_snapshot(path, event.box, height)
        if jpeg is None:
            return  # not written yet: the next update or the end tries again
        self._snapshot_times[event.id] = event.snapshot_time
        self.retained.set(self.topics.snapshot(event.camera, event.label), jpeg)
        self.retained.set(self.topics.snapshot(event.camera), jpeg)

    def status(self, status: dict[str, Any]) -> None:
        name = status.get("name")
        if name in self.cameras:
            self.retained.set(self.topics.camera_status(name), (ONLINE if status.get("online") else OFFLINE).encode())

    def motion(self, camera: str, active: bool) -> None:
        if camera in self.cameras and self._motion_off.change(camera, active):
            self.retained.set(self.topics.motion(camera), (ON if active else OFF).encode())

    def motion_timers(self, flush: bool = False) -> None:
        """Publish the delayed OFFs that are due (``flush``: all of them, on shutdown)."""
        for camera in self._motion_off.flush() if flush else self._motion_off.due():
            self.retained.set(self.topics.motion(camera), OFF.encode())

    def counts(self, payload: dict[str, Any]) -> None:
        camera = str(payload.get("camera"))
        cam = self.cameras.get(camera)
        if cam is None:
            return
        counts, zones = payload.get("counts") or {}, payload.get("zones") or {}
        for topic, message in count_messages(
            self.topics, camera, cam, counts, zones, lambda zone: self._zone_labels(camera, zone)
        ):
            self.retained.set(topic, message)

    def _zone_labels(self, camera: str, zone: str) -> set[str]:
        cam = self.cameras[camera]
        zcfg = cam.zones.get(zone)
        labels = set(zcfg.objects) if zcfg is not None and zcfg.objects else set(cam.objects.track)
        labels |= self.retained.suffixes(self.topics.zone_count(camera, zone, ""))  # seen earlier: back to 0
        labels.discard(ALL_LABELS)
        return labels

    def tamper(self, change: dict[str, Any]) -> None:
        camera = str(change.get("camera"))
        if camera not in self.cameras:
            return
        active = self._tamper.setdefault(camera, set())
        state = str(change.get("state"))
        if change.get("active"):
            active.add(state)
        else:
            active.discard(state)
        payload = {"active": bool(active), "states": sorted(active), "last": state, "time": change.get("time")}
        self.retained.set(self.topics.tamper(camera), json_bytes(payload))

    # ------------------------------------------------------- before and after
    def seed(self, online: dict[str, Any], switches: dict[str, Any], keep: bool = False) -> None:
        """Retained states before the first real ones (``online``: the runtime state of each
        camera, ``switches``: its control switches); ``keep``: only where none is known yet."""
        for name in self.cameras:
            is_online = bool(online.get(name, {}).get("online"))
            seeds = seed_messages(self.topics, name, is_online, switches.get(name) or {})
            stored = [self.retained.remember(topic, payload, keep) for topic, payload in seeds]
            if stored[0]:  # the camera's status (first) was not known: nor were its counts
                self.counts({"camera": name, "counts": {}, "zones": {}})

    def stopped(self) -> None:
        """What a stopped camwatch leaves: no objects, no motion, no tamper, cameras offline."""
        for name in self.cameras:
            self.counts({"camera": name, "counts": {}, "zones": {}})
            self.retained.set(self.topics.motion(name), OFF.encode())
            self._tamper[name] = set()
            self.retained.set(self.topics.tamper(name), json_bytes({"active": False, "states": []}))
            self.retained.set(self.topics.camera_status(name), OFFLINE.encode())
