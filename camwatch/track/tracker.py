"""The object tracker: detections → objects with stable ids.

Choice: greedy IoU matching against a constant-velocity prediction, per label, with a
centre-distance fallback. At the 2–5 fps a camera is sampled at, with detections only
where the detector looked, an object moves little between samples and the SSD's boxes
are stable enough that overlap with the predicted box identifies it; the fallback (centre
within ``match_distance`` box diagonals) keeps fast or small objects whose boxes stop
overlapping. A Kalman filter or appearance features (DeepSORT) would cost CPU on a
Raspberry Pi for little gain at these rates.

Life of an object: created on an unmatched detection; *confirmed* once it has
``min_hits`` detections and the median of its score history reaches the label's
``threshold`` (a one-frame false positive never qualifies); *ended* after it has been
unseen for ``max_disappeared`` seconds **and** missed by ``min_misses`` detector passes
that looked where it was. Objects outside every looked region accrue no misses.
An object whose box stays on its resting box for ``stationary_seconds`` is
*stationary*; moving off it makes it active again.

Short absences: a confirmed object that leaves the view (or is hidden) and comes back
within ``reentry_seconds`` looking the same (a colour histogram of its box, compared by
correlation) keeps its id, so a person stepping out of view for a moment is one event,
not two. Different people entering one after the other do not look the same.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np

from camwatch.config.camera import ObjectsConfig
from camwatch.config.tracking import TrackingConfig
from camwatch.detectors.base import Box, Detection
from camwatch.geometry import intersection
from camwatch.geometry import iou as box_iou
from camwatch.ids import new_event_id
from camwatch.track.filters import DetectionFilter
from camwatch.track.model import TrackedObject

_LOGGER = logging.getLogger(__name__)
_LOOKED_SHARE = 0.5  # share of an object's box inside a region for it to count as looked at
_VELOCITY_SMOOTHING = 0.5
_MAX_PREDICT_SECONDS = 2.0


@dataclass
class TrackUpdate:
    active: list[TrackedObject] = field(default_factory=list)  # every live object, confirmed or not
    ended: list[TrackedObject] = field(default_factory=list)  # objects that ended in this update


@dataclass
class _Track:
    obj: TrackedObject
    rest_box: Box  # where it has been resting since ``rest_since``
    rest_since: float
    last_looked: float
    appearance: np.ndarray | None = None  # colour histogram of the box, for re-identification


def _shift(box: Box, dx: float, dy: float) -> Box:
    return (box[0] + dx, box[1] + dy, box[2] + dx, box[3] + dy)


def _centre(box: Sequence[float]) -> tuple[float, float]:
    return ((box[0] + box[2]) / 2.0, (box[1] + box[3]) / 2.0)


class ObjectTracker:
    def __init__(self, camera: str, objects: ObjectsConfig, tracking: TrackingConfig | None = None) -> None:
        self.camera = camera
        self.objects_config = objects
        self.tracking = tracking or TrackingConfig()
        self._tracks: dict[str, _Track] = {}
        self._filter: DetectionFilter | None = None
        self._frame: np.ndarray | None = None

    # ---------------------------------------------------------------- queries
    def active_objects(self) -> list[TrackedObject]:
        return [t.obj for t in self._tracks.values()]

    def last_looked(self, obj: TrackedObject) -> float:
        """When the detector last looked where the object is (hit or miss)."""
        track = self._tracks.get(obj.id)
        return track.last_looked if track is not None else obj.last_seen

    def stationary_recheck_due(self, obj: TrackedObject, ts: float) -> bool:
        """Whether the detector should look at a stationary object's region in this frame."""
        track = self._tracks.get(obj.id)
        if track is None or not obj.stationary:
            return True
        return obj.misses > 0 or ts - track.last_looked >= self.tracking.stationary_recheck

    # ----------------------------------------------------------------- update
    def update(
        self,
        detections: list[Detection],
        ts: float,
        frame_size: tuple[int, int] | None,
        looked_regions: Sequence[Sequence[float]],
        frame: np.ndarray | None = None,
    ) -> TrackUpdate:
        """Match one detector pass; ``looked_regions`` are the regions the detector ran on.

        With ``frame`` (BGR), objects remember what they look like, so one that was out of
        sight for a moment is recognised when it returns.
        """
        if frame_size is not None:
            if self._filter is None or self._filter.frame_size != frame_size or (
                self._filter.objects is not self.objects_config
            ):
                self._filter = DetectionFilter(self.objects_config, frame_size)
            detections = self._filter.apply(detections)
        for track in self._tracks.values():
            track.obj.seen_this_frame = False

        self._frame = frame
        unmatched = self._match(detections, ts)
        if frame is not None and self.tracking.reentry_seconds > 0:
            unmatched = self._reidentify(unmatched, ts)
        for det in unmatched:
            self._create(det, ts, frame_size)
        ended = self._age(ts, looked_regions, frame_size)
        return TrackUpdate(active=self.active_objects(), ended=ended)

    def _predicted(self, obj: TrackedObject, ts: float) -> Box:
        dt = min(max(0.0, ts - obj.last_seen), _MAX_PREDICT_SECONDS)
        return _shift(obj.box, obj.velocity[0] * dt, obj.velocity[1] * dt)

    def _match(self, detections: list[Detection], ts: float) -> list[Detection]:
        cfg = self.tracking
        pairs: list[tuple[float, str, int]] = []
        for tid, track in self._tracks.items():
            obj = track.obj
            pred = self._predicted(obj, ts)
            diag = max(1.0, ((pred[2] - pred[0]) ** 2 + (pred[3] - pred[1]) ** 2) ** 0.5)
            pc = _centre(pred)
            for i, det in enumerate(detections):
                if det.label != obj.label:
                    continue
                overlap = box_iou(pred, det.box)
                if overlap >= cfg.match_iou and overlap > 0:
                    pairs.append((1.0 + overlap, tid, i))
                    continue
                dc = _centre(det.box)
                dist = ((dc[0] - pc[0]) ** 2 + (dc[1] - pc[1]) ** 2) ** 0.5 / diag
                if dist <= cfg.match_distance:
                    pairs.append((1.0 - dist / cfg.match_distance, tid, i))  # always below any IoU match
        pairs.sort(reverse=True)
        used_tracks: set[str] = set()
        used_dets: set[int] = set()
        for _, tid, i in pairs:
            if tid in used_tracks or i in used_dets:
                continue
            used_tracks.add(tid)
            used_dets.add(i)
            self._hit(self._tracks[tid], detections[i], ts)
        return [d for i, d in enumerate(detections) if i not in used_dets]

    def _reidentify(self, detections: list[Detection], ts: float) -> list[Detection]:
        """Give returning objects their old id: same label, unseen for a while, same look."""
        cfg = self.tracking
        away = [
            t for t in self._tracks.values()
            if t.obj.confirmed and not t.obj.seen_this_frame and t.appearance is not None
            and 0.3 <= ts - t.obj.last_seen <= cfg.reentry_seconds
        ]
        if not away:
            return detections
        left: list[Detection] = []
        for det in detections:
            look = self._appearance(det.box)
            best, best_sim = None, cfg.reentry_similarity
            for track in away:
                if track.obj.label != det.label or track.obj.seen_this_frame or look is None:
                    continue
                sim = float(cv2.compareHist(track.appearance, look, cv2.HISTCMP_CORREL))
                if sim >= best_sim:
                    best, best_sim = track, sim
            if best is None:
                left.append(det)
                continue
            _LOGGER.debug("%s %s back in view (similarity %.2f)", best.obj.label, best.obj.id, best_sim)
            best.obj.velocity = (0.0, 0.0)
            best.obj.last_seen = ts  # no velocity from the jump
            self._hit(best, det, ts, look)
        return left

    def _appearance(self, box: Sequence[float]) -> np.ndarray | None:
        frame = self._frame
        if frame is None or self.tracking.reentry_seconds <= 0:  # only re-identification uses it
            return None
        h, w = frame.shape[:2]
        x1, y1 = max(0, int(box[0])), max(0, int(box[1]))
        x2, y2 = min(w, int(box[2])), min(h, int(box[3]))
        if x2 - x1 < 4 or y2 - y1 < 4:
            return None
        # the middle of the box: less background, and the clothes rather than the floor
        mx, my = (x2 - x1) // 6, (y2 - y1) // 8
        crop = frame[y1 + my : y2 - my, x1 + mx : x2 - mx]
        hsv = cv2.cvtColor(crop, cv2.COLOR_BGR2HSV)
        hist = cv2.calcHist([hsv], [0, 1, 2], None, [12, 6, 6], [0, 180, 0, 256, 0, 256])
        return cv2.normalize(hist, hist).flatten()

    def _create(self, det: Detection, ts: float, frame_size: tuple[int, int] | None) -> None:
        obj = TrackedObject(
            id=new_event_id(ts),
            camera=self.camera,
            label=det.label,
            box=det.box,
            score=det.score,
            first_seen=ts,
            last_seen=ts,
            frame_size=frame_size or (0, 0),
        )
        obj.scores.append(det.score)
        obj.top_score = det.score
        obj.hits = 1
        obj.seen_this_frame = True
        self._tracks[obj.id] = _Track(obj, det.box, ts, ts, self._appearance(det.box))
        self._maybe_confirm(obj)

    def _hit(self, track: _Track, det: Detection, ts: float, look: np.ndarray | None = None) -> None:
        obj = track.obj
        dt = ts - obj.last_seen
        if dt > 0:
            (ox, oy), (nx, ny) = _centre(obj.box), _centre(det.box)
            vx, vy = (nx - ox) / dt, (ny - oy) / dt
            a = _VELOCITY_SMOOTHING
            obj.velocity = (a * vx + (1 - a) * obj.velocity[0], a * vy + (1 - a) * obj.velocity[1])
        obj.box = det.box
        if look is None:
            look = self._appearance(det.box)
        if look is not None:
            track.appearance = look if track.appearance is None else 0.7 * track.appearance + 0.3 * look
        obj.score = det.score
        obj.scores.append(det.score)
        obj.top_score = max(obj.top_score, det.score)
        obj.hits += 1
        obj.misses = 0
        obj.last_seen = ts
        obj.seen_this_frame = True
        track.last_looked = ts
        self._update_stationary(track, ts)
        self._maybe_confirm(obj)

    def _maybe_confirm(self, obj: TrackedObject) -> None:
        if obj.confirmed or obj.hits < self.tracking.min_hits:
            return
        if obj.median_score >= self.objects_config.filter_for(obj.label).threshold:
            obj.confirmed = True
            _LOGGER.debug("%s %s confirmed on %s (median %.2f)", obj.label, obj.id, self.camera, obj.median_score)

    def _update_stationary(self, track: _Track, ts: float) -> None:
        obj = track.obj
        cfg = self.tracking
        if box_iou(obj.box, track.rest_box) >= cfg.stationary_iou:
            obj.motionless_count += 1
            if not obj.stationary and ts - track.rest_since >= cfg.stationary_seconds:
                obj.stationary = True
                obj.velocity = (0.0, 0.0)
                _LOGGER.debug("%s %s is stationary", obj.label, obj.id)
            return
        track.rest_box = obj.box
        track.rest_since = ts
        obj.motionless_count = 0
        if obj.stationary:
            obj.stationary = False
            _LOGGER.debug("%s %s moves again", obj.label, obj.id)

    def _looked_at(
        self, obj: TrackedObject, ts: float, regions: Sequence[Sequence[float]], frame_size: tuple[int, int] | None
    ) -> bool:
        """Whether this pass looked where the object is (or was): else it accrues no miss."""
        if not regions:
            return False
        pred = self._predicted(obj, ts)
        if frame_size is not None:
            frame = (0.0, 0.0, float(frame_size[0]), float(frame_size[1]))
            pred_area = max(1e-6, (pred[2] - pred[0]) * (pred[3] - pred[1]))
            if intersection(pred, frame) < _LOOKED_SHARE * pred_area:
                return True  # predicted to have left the frame
        for box in (pred, obj.box):
            area = max(1e-6, (box[2] - box[0]) * (box[3] - box[1]))
            if any(intersection(box, r) >= _LOOKED_SHARE * area for r in regions):
                return True
        return False

    def _age(
        self, ts: float, regions: Sequence[Sequence[float]], frame_size: tuple[int, int] | None
    ) -> list[TrackedObject]:
        cfg = self.tracking
        ended: list[TrackedObject] = []
        for tid, track in list(self._tracks.items()):
            obj = track.obj
            if not obj.seen_this_frame and self._looked_at(obj, ts, regions, frame_size):
                obj.misses += 1
                track.last_looked = ts
            unseen = ts - obj.last_seen
            wait = max(cfg.max_disappeared, cfg.reentry_seconds) if obj.confirmed and track.appearance is not None \
                else cfg.max_disappeared
            gone = unseen >= wait and obj.misses >= cfg.min_misses
            if gone or ts - track.last_looked >= cfg.lost_timeout:
                obj.ended = True
                del self._tracks[tid]
                ended.append(obj)
                if obj.confirmed:
                    _LOGGER.debug("%s %s ended on %s (unseen %.1fs)", obj.label, obj.id, self.camera, unseen)
        return ended
