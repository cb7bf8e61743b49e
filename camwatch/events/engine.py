"""The event engine: turns the tracker's objects into new / update / end events.

One engine per camera, called by the camera worker on every processed frame. An event is
announced (``new``) when its object is first confirmed; ``update`` is sent only when
something significant changes (zones entered, current zones, stationary, a better
snapshot, a face or a sub label), never per frame; ``end`` when the tracker ends the
object (or at shutdown). Messages carry a private copy of the event, so sinks on other
threads never see it change under them.

Snapshot candidates are scored by :func:`snapshot_quality` (detection score, size, not cut
by the frame edge); a clearly better candidate replaces the saved snapshot, at most once
per object per ``snapshot_interval`` seconds.
"""

from __future__ import annotations

import copy
import logging
import math
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from camwatch.config.camera import CameraConfig
from camwatch.const import EVENT_END, EVENT_NEW, EVENT_UPDATE
from camwatch.events.model import Event, EventMessage
from camwatch.events.snapshots import SnapshotWriter, ZonePolygons
from camwatch.geometry import polygon_to_pixels
from camwatch.track.model import TrackedObject

_LOGGER = logging.getLogger(__name__)

SNAPSHOT_INTERVAL = 1.0  # seconds between two saves for one object
SNAPSHOT_MIN_GAIN = 0.02  # a candidate must beat the saved quality by this much
EDGE_PENALTY = 0.6  # quality factor for a box cut by the frame edge
AREA_WEIGHT = 0.5  # weight of sqrt(area fraction) in the quality


def touches_edge(box: Sequence[float], frame_size: Sequence[int], margin: float = 0.005) -> bool:
    """True when the box reaches within ``margin`` (fraction, at least 2 px) of a frame border."""
    width, height = frame_size
    mx, my = max(2.0, margin * width), max(2.0, margin * height)
    x1, y1, x2, y2 = box
    return x1 <= mx or y1 <= my or x2 >= width - mx or y2 >= height - my


def snapshot_quality(score: float, box: Sequence[float], frame_size: Sequence[int]) -> float:
    """``(score + 0.5·sqrt(area fraction)) × (0.6 if the box touches the frame edge)``."""
    width, height = frame_size
    x1, y1, x2, y2 = box
    area = max(0.0, x2 - x1) * max(0.0, y2 - y1)
    fraction = min(1.0, area / max(1.0, float(width * height)))
    quality = score + AREA_WEIGHT * math.sqrt(fraction)
    return quality * EDGE_PENALTY if touches_edge(box, frame_size) else quality


@dataclass
class _Active:
    event: Event
    snapshot_quality: float = -1.0
    last_save: float = -math.inf


class EventEngine:
    """Events of one camera. Not shared between cameras; the methods are thread-safe."""

    def __init__(
        self,
        camera: str,
        config: CameraConfig,
        snapshots: SnapshotWriter | None,
        snapshots_enabled: Callable[[], bool] | None = None,
        snapshot_interval: float = SNAPSHOT_INTERVAL,
        carry: EventEngine | None = None,
    ) -> None:
        """``carry``: the engine this one replaces (new config): its open events continue here."""
        self.camera = camera
        self.config = config
        self.snapshots = snapshots
        self.snapshots_enabled = snapshots_enabled
        self.snapshot_interval = snapshot_interval
        self._active: dict[str, _Active] = {}
        self._lock = threading.RLock()
        self._zone_cache: tuple[tuple[int, int], ZonePolygons] | None = None
        if carry is not None:
            with carry._lock:
                self._active, carry._active = carry._active, {}

    # ------------------------------------------------------------------ public API
    def update(self, objects: list[TrackedObject], frame_bgr: np.ndarray, ts: float) -> list[EventMessage]:
        """Feed the tracker's active objects of one processed frame; returns the messages to publish."""
        messages: list[EventMessage] = []
        with self._lock:
            for obj in objects:
                if obj.ended or not obj.confirmed:
                    continue
                active = self._active.get(obj.id)
                if active is None:
                    active = _Active(self._new_event(obj))
                    self._active[obj.id] = active
                    self._maybe_snapshot(active, obj, frame_bgr, ts)
                    _LOGGER.debug("event %s started: %s on %s", obj.id, obj.label, self.camera)
                    messages.append(self._message(EVENT_NEW, active))
                    continue
                changed = self._apply(active.event, obj)
                changed = self._maybe_snapshot(active, obj, frame_bgr, ts) or changed
                if changed:
                    messages.append(self._message(EVENT_UPDATE, active))
        return messages

    def end(self, objects: list[TrackedObject], ts: float, reason: str = "gone") -> list[EventMessage]:
        """Close the events of objects the tracker ended (objects that never had a ``new`` are ignored)."""
        messages: list[EventMessage] = []
        with self._lock:
            for obj in objects:
                active = self._active.pop(obj.id, None)
                if active is None:
                    continue
                self._apply(active.event, obj)
                end_time = obj.last_seen if obj.last_seen else ts
                messages.append(self._close(active, min(end_time, ts), reason))
        return messages

    def end_all(self, ts: float, reason: str = "shutdown") -> list[EventMessage]:
        """Close every open event (shutdown, camera stopped)."""
        with self._lock:
            actives = list(self._active.values())
            self._active.clear()
            return [self._close(a, min(a.event.last_seen or ts, ts), reason) for a in actives]

    def set_face(
        self,
        object_id: str,
        face_score: float,
        crop_bgr: np.ndarray | None = None,
        sub_label: str | None = None,
        sub_label_score: float | None = None,
    ) -> list[EventMessage]:
        """Record a face seen on an active event's object; an ``update`` when the event improved.

        The face crop is saved only when it beats the event's best face score so far.
        ``sub_label`` is the recognised name (or ``"unknown"``).
        """
        with self._lock:
            active = self._active.get(object_id)
            if active is None:
                return []
            event = active.event
            changed = False
            if not event.has_face or face_score > (event.face_score or 0.0):
                saved = True
                if crop_bgr is not None and self.snapshots is not None and self._snapshots_on():
                    saved = self.snapshots.save_face(event.id, crop_bgr)
                if saved:
                    event.has_face, event.face_score = True, round(float(face_score), 4)
                    changed = True
            if sub_label is not None and (
                sub_label != event.sub_label or (sub_label_score or 0.0) > (event.sub_label_score or 0.0) + 0.05
            ):
                event.sub_label = sub_label
                event.sub_label_score = None if sub_label_score is None else round(float(sub_label_score), 4)
                changed = True
            return [self._message(EVENT_UPDATE, active)] if changed else []

    def active_events(self) -> list[Event]:
        """Copies of the open events."""
        with self._lock:
            return [copy.deepcopy(a.event) for a in self._active.values()]

    # ------------------------------------------------------------------ internals
    def _new_event(self, obj: TrackedObject) -> Event:
        event = Event(id=obj.id, camera=self.camera, label=obj.label, start_time=obj.first_seen)
        self._apply(event, obj)
        return event

    def _apply(self, event: Event, obj: TrackedObject) -> bool:
        """Copy the object's state into the event; True when a significant field changed."""
        significant = (
            list(event.zones_entered),
            list(event.current_zones),
            event.stationary,
            event.sub_label,
        )
        event.score = round(float(obj.score), 4)
        event.top_score = round(float(max(obj.top_score, event.top_score, obj.score)), 4)
        event.box = [round(float(v), 1) for v in obj.box]
        event.frame_size = [int(v) for v in obj.frame_size]
        event.last_seen = obj.last_seen
        for zone in obj.zones_entered:
            if zone not in event.zones_entered:
                event.zones_entered.append(zone)
        event.current_zones = list(obj.current_zones)
        if obj.zone_dwell:  # seconds spent in each zone so far (not a significant change)
            event.attributes["zone_dwell"] = {zone: round(float(s), 1) for zone, s in obj.zone_dwell.items()}
        event.stationary = bool(obj.stationary)
        sub_label = getattr(obj, "sub_label", None)  # set by the faces issue, when the tracker carries it
        if sub_label and sub_label != event.sub_label:
            event.sub_label = sub_label
        now = (list(event.zones_entered), list(event.current_zones), event.stationary, event.sub_label)
        return now != significant

    def _snapshots_on(self) -> bool:
        if not self.config.snapshots.enabled:
            return False
        return self.snapshots_enabled() if self.snapshots_enabled is not None else True

    def _maybe_snapshot(self, active: _Active, obj: TrackedObject, frame_bgr: np.ndarray, ts: float) -> bool:
        """Save a better snapshot when allowed; True when one was saved."""
        if self.snapshots is None or frame_bgr is None or not self._snapshots_on():
            return False
        fresh = obj.seen_this_frame or abs(obj.last_seen - ts) < 1e-6
        if not fresh or ts - active.last_save < self.snapshot_interval:
            return False
        height, width = frame_bgr.shape[:2]
        quality = snapshot_quality(obj.score, obj.box, (width, height))
        if quality < active.snapshot_quality + SNAPSHOT_MIN_GAIN:
            return False
        active.last_save = ts  # also after a failure: do not retry a failing disk every frame
        saved = self.snapshots.save(
            obj.id, frame_bgr, obj.box, obj.label, obj.score, self._zone_polygons((width, height))
        )
        if not saved:
            return False
        active.snapshot_quality = quality
        active.event.has_snapshot = True
        active.event.snapshot_time = ts
        active.event.attributes["snapshot_score"] = round(float(obj.score), 4)
        active.event.attributes["snapshot_box"] = [round(float(v), 1) for v in obj.box]
        return True

    def _zone_polygons(self, frame_size: tuple[int, int]) -> ZonePolygons:
        if self._zone_cache is None or self._zone_cache[0] != frame_size:
            polys = [
                (name, [(float(x), float(y)) for x, y in polygon_to_pixels(zone.coordinates, frame_size)])
                for name, zone in self.config.zones.items()
            ]
            self._zone_cache = (frame_size, polys)
        return self._zone_cache[1]

    def _close(self, active: _Active, end_time: float, reason: str) -> EventMessage:
        active.event.end_time = max(end_time, active.event.start_time)
        active.event.end_reason = reason
        active.event.current_zones = []
        return self._message(EVENT_END, active)

    @staticmethod
    def _message(kind: str, active: _Active) -> EventMessage:
        return EventMessage(kind, copy.deepcopy(active.event))
