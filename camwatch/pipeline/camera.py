"""The per-frame work for one camera, independent of threads (shared by `run` and `replay`).

source frame → motion boxes → detector regions → tracker → zones → event engine → stages
(faces, tamper, loitering, unusual activity, alerting) → report (live state and bus).
Nothing moving and nothing tracked means no detector call; a periodic full-frame check
catches objects that appeared without motion.

The parts are made by :func:`camwatch.pipeline.build.build_camera`. A config change builds a
new pipeline from the previous one (``previous``): the tracked objects, open events,
counters, motion background and zone presence carry over; stages that were not carried
over are finished, and their last messages go out with the next pass.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import cv2
import numpy as np

from camwatch.config.camera import CameraConfig
from camwatch.control import ControlState
from camwatch.detectors.base import Detection, Detector
from camwatch.events.engine import EventEngine
from camwatch.events.model import EventMessage
from camwatch.events.overlay import draw_label
from camwatch.events.snapshots import SnapshotWriter
from camwatch.events.stage import FrameContext, Stage, TickContext
from camwatch.geometry import covered_share, grow, polygon_to_pixels
from camwatch.motion.detector import MotionDetector
from camwatch.pipeline.report import CameraReport
from camwatch.sources.base import Frame
from camwatch.track.lighting import stretch_dim
from camwatch.track.model import TrackedObject
from camwatch.track.regions import detect_regions, limit_regions, plan_regions, tile_regions
from camwatch.track.tracker import ObjectTracker
from camwatch.track.zones import ZoneTracker

_LOGGER = logging.getLogger(__name__)


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
        *,
        detector: Detector,
        control: ControlState,
        tracker: ObjectTracker,
        engine: EventEngine,
        report: CameraReport,
        snapshots: SnapshotWriter | None = None,
        stages: Sequence[Stage] = (),
        previous: CameraPipeline | None = None,
    ) -> None:
        self.name = name
        self.config = config
        self.detector = detector
        self.control = control
        self.tracker = tracker
        self.engine = engine
        self.report = report
        self.snapshots = snapshots
        self.stages = list(stages)  # in order; the alerting stage is the last
        self.frame_size: tuple[int, int] | None = None
        self.motion: MotionDetector | None = None
        self.zones: ZoneTracker | None = None
        self.detector_calls = 0
        self.frames = 0
        self.last_ts: float | None = None
        self._last_full_frame = -1e18
        self._shown: set[str] = set()  # ids of the boxes on the last live still
        self._pending: list[EventMessage] = []  # finished stages' last messages, sent with the next pass
        self._min_score = min([config.objects.filter_for(lb).min_score for lb in config.objects.track] or [0.5])
        self._min_score = min(self._min_score, config.tracking.keep_score)  # weak detections keep tracks
        if previous is not None:
            self._take_over(previous)

    # ------------------------------------------------------------------ setup
    def _take_over(self, previous: CameraPipeline) -> None:
        self.detector_calls, self.frames = previous.detector_calls, previous.frames
        self.last_ts, self._last_full_frame = previous.last_ts, previous._last_full_frame
        self._pending = previous._pending
        if previous.frame_size is not None:
            self._setup(previous.frame_size, previous)
        ts = previous.last_ts if previous.last_ts is not None else time.time()
        for stage in previous.stages:
            if not any(stage is kept for kept in self.stages):
                self._pending += stage.on_finish(self._tick(ts, self._pending))

    def _setup(self, frame_size: tuple[int, int], previous: CameraPipeline | None = None) -> None:
        self.frame_size = frame_size
        same_motion = previous is not None and previous.motion is not None and previous.config.motion == self.config.motion
        self.motion = previous.motion if same_motion and previous else MotionDetector(self.config.motion, frame_size)
        self.zones = ZoneTracker(
            self.config.zones, frame_size, is_enabled=lambda zone: self.control.zone_enabled(self.name, zone),
            carry=previous.zones if previous is not None else None,
        )
        self.report.frame(frame_size=frame_size)

    # -------------------------------------------------------------- per frame
    def process(self, frame: Frame) -> FrameResult:
        image, ts = frame.image, frame.ts
        if self.frame_size is None or (image.shape[1], image.shape[0]) != self.frame_size:
            if self.frame_size is not None:
                _LOGGER.warning("camera %s: frame size changed to %dx%d", self.name, image.shape[1], image.shape[0])
            self._setup((image.shape[1], image.shape[0]))
        assert self.motion is not None and self.zones is not None
        result = FrameResult()
        self.frames += 1
        self.last_ts = ts
        motion_on = self.config.motion.enabled and self.control.get(self.name, "motion")
        detect_on = self.config.detect.enabled and self.control.get(self.name, "detect")
        if motion_on:
            result.motion_boxes = self.motion.detect(image)
        self.report.motion(bool(result.motion_boxes), ts)

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
        messages = self._take_pending()
        messages += self.engine.update(update.active, image, ts)  # a lost object's event stays open
        messages += self.engine.end(update.ended, ts)
        in_view = [o for o in update.active if not o.lost]  # the stages never see an object out of sight
        result.messages = self._run_stages(self._frame_context(frame, in_view), messages)
        self.report.events(result.messages)
        present = [o for o in update.active if o.present]
        self._publish_counts(present, ts)
        self._update_state(image, present, ts)
        return result

    def _regions(self, motion_boxes, ts: float, motion_on: bool) -> list[tuple[int, int, int, int]]:
        """Where the detector looks this frame.

        New motion (not explained by a present object) and unconfirmed objects are looked
        at every frame; a confirmed object is re-detected every ``tracked_interval`` seconds
        (the tracker predicts it in between), a stationary one every ``stationary_recheck``,
        and right away once it was missed, so that a person who left stops being shown within
        a frame or two instead of a second look ``tracked_interval`` later. A lost object is
        not looked for: the motion of someone coming back is.
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
            if obj.lost:
                continue
            due = not obj.confirmed or obj.misses > 0 or ts - self.tracker.last_looked(obj) >= every
            if self.tracker.still_scenery(obj):
                due = False
            elif obj.stationary:
                due = self.tracker.stationary_recheck_due(obj, ts)
            if due:
                tracked.append(tuple(int(v) for v in obj.box))
            elif obj.confirmed:
                settled.append(grow(obj.box, 0.4))
        fresh = [m for m in motion_boxes if not any(covered_share(m, s) >= 0.7 for s in settled)]
        if not fresh and not tracked:
            return []
        model = self.detector.input_size[0]
        upscale = detect.max_upscale or self.detector.max_upscale  # unset: what suits the model
        context = detect.region_context or self.detector.region_context
        regions = plan_regions(
            self.frame_size, fresh, tracked, model_size=math.ceil(model / upscale),
            margin=context - 1.0, merge_overlap=0.25,
        )
        if len(regions) > detect.max_regions:  # a busy scene: larger squares first, then turns
            regions = plan_regions(self.frame_size, fresh, tracked, model_size=model, merge_overlap=0.25)
        return limit_regions(regions, tracked, detect.max_regions, self.frames)

    def idle(self, ts: float) -> list[EventMessage]:
        """No frame arrived for a while (the camera may be offline)."""
        messages = self._take_pending()
        for stage in self.stages:
            messages += stage.on_idle(self._tick(ts, messages, offline=self.report.offline))
        self.report.events(messages)
        return messages

    def finish(self, ts: float, reason: str) -> list[EventMessage]:
        """End every open event (shutdown, end of file, camera removed)."""
        messages = self._take_pending()
        # A person already lost (kept only in case they come back) had left before the stop.
        messages += self.engine.end([obj for obj in self.tracker.active_objects() if obj.lost], ts)
        messages += self.engine.end_all(ts, reason)
        for stage in self.stages:
            messages += stage.on_finish(replace(self._tick(ts, messages), reason=reason))
        self.report.events(messages)
        self.report.motion(False, ts)
        return messages

    # ------------------------------------------------------------- stages
    def _run_stages(self, ctx: FrameContext, messages: list[EventMessage]) -> list[EventMessage]:
        for stage in self.stages:
            messages += stage.on_frame(replace(ctx, messages=tuple(messages)))
        return messages

    def _frame_context(self, frame: Frame, objects: list[TrackedObject]) -> FrameContext:
        snapshots_on = self.config.snapshots.enabled and self.control.get(self.name, "snapshots")
        return FrameContext(
            camera=self.name, frame=frame, objects=tuple(objects), messages=(),
            snapshots=self.snapshots if snapshots_on else None, emit=self.report.emit,
        )

    def _tick(self, ts: float, messages: list[EventMessage], offline: bool = False) -> TickContext:
        return TickContext(camera=self.name, ts=ts, messages=tuple(messages), emit=self.report.emit, offline=offline)

    def _take_pending(self) -> list[EventMessage]:
        pending, self._pending = self._pending, []
        return pending

    # ----------------------------------------------------------- publishing
    def _publish_counts(self, present: list[TrackedObject], ts: float) -> None:
        """Objects in view per label and per zone: MQTT counts and Home Assistant occupancy."""
        counts: dict[str, int] = {}
        for obj in present:
            counts[obj.label] = counts.get(obj.label, 0) + 1
        zones = self.zones.counts(present) if self.zones else {}
        self.report.counts(counts, zones, ts)

    def _update_state(self, image: np.ndarray, present: list[TrackedObject], ts: float) -> None:
        """What "In view now" and the live picture show: the present objects only."""
        self.report.frame(
            detector_calls=self.detector_calls,
            last_frame_time=ts,
            objects=[
                {"id": o.id, "label": o.label, "score": round(o.score, 3), "box": [round(v) for v in o.box],
                 "stationary": o.stationary, "zones": list(o.current_zones)}
                for o in present
            ],
        )
        shown = {o.id for o in present}
        if shown != self._shown or self.report.still_due():  # a box that goes goes at once
            self._shown = shown
            ok, jpeg = cv2.imencode(".jpg", self.annotate(image, present), [cv2.IMWRITE_JPEG_QUALITY, 80])
            if ok:
                self.report.still(jpeg.tobytes(), ts)

    def annotate(self, image: np.ndarray, objects: list[TrackedObject]) -> np.ndarray:
        out = image.copy()
        frame_size = self.frame_size or (image.shape[1], image.shape[0])
        for zone_name, zone in self.config.zones.items():
            pts = polygon_to_pixels(zone.coordinates, frame_size).astype(np.int32)
            cv2.polylines(out, [pts], True, (255, 160, 0), 2)
            draw_label(out, zone_name, pts[0], (255, 160, 0))
        for obj in objects:
            x1, y1, x2, y2 = (int(v) for v in obj.box)
            cv2.rectangle(out, (x1, y1), (x2, y2), (0, 220, 0), 2)
            draw_label(out, f"{obj.label} {obj.score:.0%}", (x1, y1), (0, 220, 0))
        return out
