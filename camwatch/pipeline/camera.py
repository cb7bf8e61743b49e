"""The per-frame work for one camera, independent of threads (shared by `run` and `replay`).

source frame → motion boxes → detector regions → tracker → zones → event engine → bus.
Nothing moving and nothing tracked means no detector call; a periodic full-frame check
catches objects that appeared without motion.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from camwatch.config.camera import CameraConfig
from camwatch.const import TOPIC_COUNTS, TOPIC_EVENT, TOPIC_MOTION
from camwatch.control import ControlState
from camwatch.detectors.base import Detection, Detector
from camwatch.events.bus import EventBus
from camwatch.events.engine import EventEngine
from camwatch.events.model import EventMessage
from camwatch.events.snapshots import SnapshotWriter
from camwatch.motion.detector import MotionDetector
from camwatch.sources.base import Frame
from camwatch.state import RuntimeState
from camwatch.track.lighting import stretch_dim
from camwatch.track.model import TrackedObject
from camwatch.track.regions import detect_regions, limit_regions, plan_regions, tile_regions
from camwatch.track.tracker import ObjectTracker
from camwatch.zones import ZoneTracker

_LOGGER = logging.getLogger(__name__)
STILL_INTERVAL = 1.0  # seconds between annotated stills for the UI



@dataclass
class FrameResult:
    motion_boxes: list[tuple[int, int, int, int]] = field(default_factory=list)
    regions: list[tuple[int, int, int, int]] = field(default_factory=list)
    detections: list[Detection] = field(default_factory=list)
    objects: list[TrackedObject] = field(default_factory=list)
    messages: list[EventMessage] = field(default_factory=list)


class CameraPipeline:
    def __init__(
        self,
        name: str,
        config: CameraConfig,
        detector: Detector,
        bus: EventBus,
        state: RuntimeState,
        control: ControlState,
        snapshots: SnapshotWriter | None,
    ) -> None:
        self.name = name
        self.config = config
        self.detector = detector
        self.bus = bus
        self.state = state
        self.control = control
        self.snapshots = snapshots
        self.stages: list[Any] = []  # faces, tamper, loitering, unusual activity (pipeline.hooks)
        self.alert_policy: Any = None  # armed/disarmed and schedules (pipeline.hooks.AlertPolicy)
        self.frame_size: tuple[int, int] | None = None
        self.motion: MotionDetector | None = None
        self.zones: ZoneTracker | None = None
        self.tracker = ObjectTracker(name, config.objects, config.tracking)
        self.engine = EventEngine(
            name, config, snapshots if config.snapshots.enabled else None,
            snapshots_enabled=lambda: self.control.get(self.name, "snapshots"),
        )
        self.detector_calls = 0
        self.frames = 0
        self._last_full_frame = -1e18
        self._motion_active = False
        self._last_counts: Any = None
        self._last_still = -1e18
        self._min_score = min([config.objects.filter_for(lb).min_score for lb in config.objects.track] or [0.5])
        self._min_score = min(self._min_score, config.tracking.keep_score)  # weak detections keep tracks

    # ------------------------------------------------------------------ setup
    def _setup(self, image: np.ndarray) -> None:
        h, w = image.shape[:2]
        self.frame_size = (w, h)
        self.motion = MotionDetector(self.config.motion, self.frame_size)
        self.zones = ZoneTracker(
            self.config.zones, self.frame_size, is_enabled=lambda zone: self.control.zone_enabled(self.name, zone)
        )
        self.state.update_camera(self.name, frame_size=self.frame_size)

    def reload(self, config: CameraConfig) -> None:
        """Apply new zones and masks without a restart."""
        self.config = config
        if self.frame_size is not None:
            self.motion = MotionDetector(config.motion, self.frame_size)
            self.zones = ZoneTracker(
                config.zones, self.frame_size, is_enabled=lambda zone: self.control.zone_enabled(self.name, zone)
            )
        self.tracker.objects_config = config.objects
        _LOGGER.info("camera %s: zones and masks reloaded", self.name)

    # -------------------------------------------------------------- per frame
    def process(self, frame: Frame) -> FrameResult:
        image, ts = frame.image, frame.ts
        if self.frame_size is None or (image.shape[1], image.shape[0]) != self.frame_size:
            if self.frame_size is not None:
                _LOGGER.warning("camera %s: frame size changed to %dx%d", self.name, image.shape[1], image.shape[0])
            self._setup(image)
        assert self.motion is not None and self.zones is not None
        result = FrameResult()
        self.frames += 1
        motion_on = self.config.motion.enabled and self.control.get(self.name, "motion")
        detect_on = self.config.detect.enabled and self.control.get(self.name, "detect")
        if motion_on:
            result.motion_boxes = self.motion.detect(image)
        self._publish_motion(bool(result.motion_boxes), ts)

        if detect_on:
            result.regions = self._regions(result.motion_boxes, ts, motion_on)
            looked = stretch_dim(image) if result.regions and self.config.detect.brighten_dim else image
            result.detections = detect_regions(self.detector, looked, result.regions, self._min_score)
            self.detector_calls += len(result.regions)
        update = self.tracker.update(
            result.detections, ts, self.frame_size, result.regions, image, self.motion.moving_share if motion_on else None
        )
        result.objects = update.active
        self.zones.update(update.active, ts)
        messages = self.engine.update(update.active, image, ts)
        messages += self.engine.end(update.ended, ts)
        for stage in self.stages:
            messages += stage.on_frame(self, frame, update.active, messages)
        result.messages = messages
        self._publish(messages)
        self._publish_counts(update.active, ts)
        self._update_state(image, update.active, ts)
        return result

    def _regions(self, motion_boxes, ts: float, motion_on: bool) -> list[tuple[int, int, int, int]]:
        """Where the detector looks this frame.

        New motion (not explained by a confirmed object) and unconfirmed objects are looked
        at every frame; a confirmed object is re-detected every ``tracked_interval`` seconds
        (the tracker predicts it in between), a stationary one every ``stationary_recheck``.
        """
        w, h = self.frame_size  # type: ignore[misc]
        detect = self.config.detect
        interval = detect.full_frame_interval
        if not motion_on:
            return [(0, 0, w, h)]
        if interval > 0 and ts - self._last_full_frame >= interval:
            self._last_full_frame = ts
            if detect.full_frame_tiles:
                return tile_regions(self.frame_size, self.detector.input_size[0])
            return [(0, 0, w, h)]
        every = self.config.detect.tracked_interval
        tracked: list[tuple[int, int, int, int]] = []
        settled: list[tuple[float, float, float, float]] = []  # confirmed, recently seen: explain motion
        for obj in self.tracker.active_objects():
            due = not obj.confirmed or ts - self.tracker.last_looked(obj) >= every
            if self.tracker.still_scenery(obj):
                due = False
            elif obj.stationary:
                due = self.tracker.stationary_recheck_due(obj, ts)
            if due:
                tracked.append(tuple(int(v) for v in obj.box))
            elif obj.confirmed:
                settled.append(_grow(obj.box, 0.4))
        fresh = [m for m in motion_boxes if not any(_covered(m, s) for s in settled)]
        if not fresh and not tracked:
            return []
        model = self.detector.input_size[0]
        regions = plan_regions(
            self.frame_size, fresh, tracked, model_size=math.ceil(model / detect.max_upscale),
            margin=detect.region_context - 1.0, merge_overlap=0.25,
        )
        if len(regions) > detect.max_regions:  # a busy scene: larger squares first, then turns
            regions = plan_regions(self.frame_size, fresh, tracked, model_size=model, merge_overlap=0.25)
        return limit_regions(regions, tracked, detect.max_regions, self.frames)

    def idle(self, ts: float) -> list[EventMessage]:
        """No frame arrived for a while (the camera may be offline)."""
        messages: list[EventMessage] = []
        for stage in self.stages:
            messages += stage.on_idle(self, ts)
        self._publish(messages)
        return messages

    def finish(self, ts: float, reason: str) -> list[EventMessage]:
        """End every open event (shutdown, end of file)."""
        messages = self.engine.end_all(ts, reason)
        for stage in self.stages:
            messages += stage.on_finish(self, ts)
        self._publish(messages)
        self._publish_motion(False, ts)
        return messages

    def _publish(self, messages: list[EventMessage]) -> None:
        if self.alert_policy is not None:
            self.alert_policy.apply(messages)
        for message in messages:
            self.bus.publish(TOPIC_EVENT, message)

    # ----------------------------------------------------------- publishing
    def _publish_motion(self, active: bool, ts: float) -> None:
        if active != self._motion_active:
            self._motion_active = active
            self.state.update_camera(self.name, motion=active)
            self.bus.publish(TOPIC_MOTION, {"camera": self.name, "active": active, "time": ts})

    def _publish_counts(self, objects: list[TrackedObject], ts: float) -> None:
        counts: dict[str, int] = {}
        for obj in objects:
            if obj.confirmed:
                counts[obj.label] = counts.get(obj.label, 0) + 1
        zones = self.zones.counts(objects) if self.zones else {}
        key = (sorted(counts.items()), sorted((z, sorted(c.items())) for z, c in zones.items()))
        if key != self._last_counts:
            self._last_counts = key
            self.state.update_camera(self.name, counts=counts, zone_counts=zones)
            self.bus.publish(TOPIC_COUNTS, {"camera": self.name, "counts": counts, "zones": zones, "time": ts})

    def _update_state(self, image: np.ndarray, objects: list[TrackedObject], ts: float) -> None:
        now = time.monotonic()
        confirmed = [o for o in objects if o.confirmed]
        self.state.update_camera(
            self.name,
            detector_calls=self.detector_calls,
            last_frame_time=ts,
            objects=[
                {"id": o.id, "label": o.label, "score": round(o.score, 3), "box": [round(v) for v in o.box],
                 "stationary": o.stationary, "zones": list(o.current_zones)}
                for o in confirmed
            ],
        )
        if now - self._last_still >= STILL_INTERVAL:
            self._last_still = now
            ok, jpeg = cv2.imencode(".jpg", self.annotate(image, confirmed), [cv2.IMWRITE_JPEG_QUALITY, 80])
            if ok:
                self.state.set_still(self.name, jpeg.tobytes(), ts)

    def annotate(self, image: np.ndarray, objects: list[TrackedObject]) -> np.ndarray:
        out = image.copy()
        w, h = self.frame_size or (image.shape[1], image.shape[0])
        for zone_name, zone in self.config.zones.items():
            pts = np.array(
                [(x * w, y * h) if all(v <= 1 for p in zone.coordinates for v in p) else (x, y) for x, y in zone.coordinates],
                dtype=np.int32,
            )
            cv2.polylines(out, [pts], True, (255, 160, 0), 2)
            cv2.putText(out, zone_name, tuple(int(v) for v in pts[0]), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 160, 0), 1)
        for obj in objects:
            x1, y1, x2, y2 = (int(v) for v in obj.box)
            cv2.rectangle(out, (x1, y1), (x2, y2), (0, 220, 0), 2)
            cv2.putText(out, f"{obj.label} {obj.score:.0%}", (x1, max(12, y1 - 4)), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 220, 0), 1)
        return out


def _grow(box, margin: float) -> tuple[float, float, float, float]:
    x1, y1, x2, y2 = box
    dx, dy = (x2 - x1) * margin, (y2 - y1) * margin
    return (x1 - dx, y1 - dy, x2 + dx, y2 + dy)


def _covered(inner, outer, share: float = 0.7) -> bool:
    """At least ``share`` of ``inner``'s area lies inside ``outer``."""
    ix1, iy1 = max(inner[0], outer[0]), max(inner[1], outer[1])
    ix2, iy2 = min(inner[2], outer[2]), min(inner[3], outer[3])
    inter = max(0.0, ix2 - ix1) * max(0.0, iy2 - iy1)
    area = max(1e-6, (inner[2] - inner[0]) * (inner[3] - inner[1]))
    return inter / area >= share
