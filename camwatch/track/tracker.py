"""The object tracker: detections → objects with stable ids.

Choice: greedy IoU matching against a constant-velocity prediction, per label, with a
centre-distance fallback. At the 2–5 fps a camera is sampled at, with detections only
where the detector looked, an object moves little between samples and the SSD's boxes
are stable enough that overlap with the predicted box identifies it; the fallback (centre
within ``match_distance`` box diagonals) keeps fast or small objects whose boxes stop
overlapping. A Kalman filter or appearance features (DeepSORT) would cost CPU on a
Raspberry Pi for little gain at these rates.

Life of an object: created on an unmatched detection that is no duplicate of an object
matched in the same pass; *confirmed* once it has ``min_hits`` detections and enough
evidence (``track.movement``): a median score at the label's ``threshold``, or the lower
``moving_threshold`` when it really moves (travels on moving pixels); something that never
moved never qualifies. *Lost* (no longer present: not shown, not counted) once ``min_misses``
detector passes looked where it was and missed it; objects outside every looked region
accrue no misses, nor does a confirmed object where pixels still move (up to 2.5 s: a dim
person the detector misses for a moment). A lost confirmed object is kept for
``reentry_seconds``: a new object that can only be it back in view (out of the dark, from
behind a car, through the edge it left by: ``track.reid``) continues it, and so its event.
*Ended* after that (``max_disappeared`` for unconfirmed objects); its event ends at its
last sighting. An object whose box stays on its resting box for ``stationary_seconds`` is
*stationary*; moving off it makes it active again.

Matching never joins boxes of very different sizes (a person and a box around half the
scene). Detections scoring between ``keep_score`` and the label's ``min_score`` only keep an
object they clearly overlap. Still detections at places learned as scenery
(``track.scenery``) hold only an object sitting right there, so a person's object does not
jump onto the mannequin they walked past.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from camwatch.config.camera import ObjectsConfig
from camwatch.config.tracking import TrackingConfig
from camwatch.detectors.base import Box, Detection
from camwatch.geometry import intersection
from camwatch.geometry import iou as box_iou
from camwatch.ids import new_event_id
from camwatch.track.appearance import appearance, blend
from camwatch.track.association import centre, looked_at, pair_scores, predicted
from camwatch.track.filters import DetectionFilter
from camwatch.track.lighting import is_greyscale
from camwatch.track.model import TrackedObject
from camwatch.track.movement import (
    MOVING_PIXELS,
    MotionShare,
    confirmable,
    may_continue,
    never_moved,
    note_motion,
    smooth,
    travel,
)
from camwatch.track.reid import Lost, Returning, absorb, pair_up
from camwatch.track.scenery import SceneryMemory

_LOGGER = logging.getLogger(__name__)
_VELOCITY_SMOOTHING = 0.5
_DUPLICATE_IOU = 0.4  # an unmatched detection overlapping a matched object this much is a duplicate
_DUPLICATE_SHARE = 0.7  # ... or lying this much inside it (or it inside the detection)
_MOTION_KEEP_SECONDS = 2.5  # longest a confirmed object is kept by motion where it is, without a detection


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
    appearance: np.ndarray | None = None  # grey-level look of the box, for re-identification
    confirmed_at: float | None = None  # when it was confirmed (announced after that update)


class ObjectTracker:
    def __init__(self, camera: str, objects: ObjectsConfig, tracking: TrackingConfig | None = None) -> None:
        self.camera = camera
        self.objects_config = objects
        self.tracking = tracking or TrackingConfig()
        self._tracks: dict[str, _Track] = {}
        self._filter: DetectionFilter | None = None
        self._frame: np.ndarray | None = None
        self._motion: MotionShare | None = None
        self.scenery = SceneryMemory()
        self._offset = 0.0  # score offset of the current frame (greyscale frames, see TrackingConfig)
        self._owners: dict[int, TrackedObject] = {}

    # ---------------------------------------------------------------- queries
    def active_objects(self) -> list[TrackedObject]:
        return [t.obj for t in self._tracks.values()]

    def last_looked(self, obj: TrackedObject) -> float:
        """When the detector last looked where the object is (hit or miss)."""
        track = self._tracks.get(obj.id)
        return track.last_looked if track is not None else obj.last_seen

    def still_scenery(self, obj: TrackedObject) -> bool:
        """An unconfirmed object that has been seen on no moving pixel yet: not worth a detector
        call of its own (it is looked at again when something moves there)."""
        return not obj.confirmed and never_moved(obj)

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
        motion: MotionShare | None = None,
    ) -> TrackUpdate:
        """Match one detector pass; ``looked_regions`` are the regions the detector ran on.

        With ``frame`` (BGR), objects remember what they look like, so one that was out of
        sight for a moment is recognised when it returns. ``motion`` (None when motion
        detection is off) tells which detections lie on moving pixels.

        Detections scoring at least ``keep_score`` but below their label's ``min_score`` only
        keep an object already tracked there (they overlap its predicted box); they never
        start one and do not count towards its confirmation.
        """
        if frame_size is not None:
            if self._filter is None or self._filter.frame_size != frame_size or (
                self._filter.objects is not self.objects_config
            ):
                self._filter = DetectionFilter(self.objects_config, frame_size)
            # an infrared view; the offset only weighs detections, so a frame without any is not judged
            greyscale = bool(detections) and frame is not None and is_greyscale(frame)
            self._offset = self.tracking.greyscale_offset if greyscale else 0.0
            weak = [d for d in detections if self._filter.reason(d, self._offset) == "score below min_score"
                    and d.score >= self.tracking.keep_score]
            detections = self._filter.apply(detections, self._offset)
        else:
            weak = []
        for track in self._tracks.values():
            track.obj.seen_this_frame = False

        self._frame = frame
        self._motion = motion
        still = {id(d) for d in (*detections, *weak) if self._still(d)}
        # Scenery (a still detection at a learned place) only holds an object sitting right there.
        scenery = [d for d in detections if id(d) in still and self.scenery.is_scenery(d)]
        strong = [d for d in detections if not (id(d) in still and self.scenery.is_scenery(d))]
        self._owners: dict[int, TrackedObject] = {}  # id(detection) -> the object it went to
        unmatched = self._match(strong, ts)
        self._match(scenery, ts, mode="sitting")
        self._match(weak, ts, mode="weak")
        for det in unmatched:
            if not self._duplicate(det):
                self._create(det, ts, frame_size)
        self._count_misses(ts, looked_regions, frame_size)
        if self.tracking.reentry_seconds > 0 and frame_size is not None:
            self._rejoin(ts, frame_size)  # after the misses: a lost object this pass looked for is gone
        for det in (*detections, *weak):  # still detections not on a person: learn the place
            owner = self._owners.get(id(det))
            if id(det) in still and (owner is None or (not owner.confirmed and never_moved(owner))):
                self.scenery.observe(det, ts)
        self.scenery.forget_old(ts)
        return TrackUpdate(active=self.active_objects(), ended=self._end(ts))

    def _still(self, det: Detection) -> bool:
        """Nothing moves under the detection (False when motion is unknown)."""
        share = self._motion(det.box) if self._motion is not None else None
        return share is not None and share < MOVING_PIXELS

    def _duplicate(self, det: Detection) -> bool:
        """A second box on an object matched in this pass (a part of it, or the same object
        seen by two regions) starts no object of its own."""
        for track in self._tracks.values():
            obj = track.obj
            if obj.label != det.label or not obj.seen_this_frame:
                continue
            smaller = min(det.area, obj.area)
            inter = intersection(det.box, obj.box)
            if box_iou(det.box, obj.box) >= _DUPLICATE_IOU or (smaller > 0 and inter / smaller >= _DUPLICATE_SHARE):
                return True
        return False

    def _match(self, detections: list[Detection], ts: float, mode: str = "strong") -> list[Detection]:
        """Greedy matching, best pairs first (``association.pair_scores``); returns the
        detections left over. An object lost longer than ``max_disappeared`` is matched by
        none of the modes: whoever stands where it was seen by then is recognised as it only
        by ``_rejoin``.
        """
        pairs = pair_scores({tid: t.obj for tid, t in self._tracks.items()}, detections, ts, mode, self.tracking)
        pairs.sort(reverse=True)
        used_tracks: set[str] = set()
        used_dets: set[int] = set()
        for _, tid, i in pairs:
            if tid in used_tracks or i in used_dets:
                continue
            used_tracks.add(tid)
            used_dets.add(i)
            self._owners[id(detections[i])] = self._tracks[tid].obj
            self._hit(self._tracks[tid], detections[i], ts, weak=mode == "weak")
        return [d for i, d in enumerate(detections) if i not in used_dets]

    def _rejoin(self, ts: float, frame_size: tuple[int, int]) -> None:
        """New objects that are a lost one back in view take its id (``track.reid``).

        A candidate is a new object seen now, not announced before this pass, with two
        detections at the moving threshold on moving pixels (``movement.may_continue``).
        """
        cfg = self.tracking
        lost = [Lost(t.obj, t.obj.lost, t.appearance) for t in self._tracks.values()
                if t.obj.confirmed and not t.obj.seen_this_frame and ts - t.obj.last_seen <= cfg.reentry_seconds]
        if not lost:
            return
        new = [Returning(t.obj, t.appearance) for t in self._tracks.values()
               if not (t.obj.confirmed and t.confirmed_at is not None and t.confirmed_at < ts) and t.obj.seen_this_frame
               and may_continue(t.obj, self.objects_config.filter_for(t.obj.label), cfg, self._offset)]
        for came, match in pair_up(lost, new, frame_size, cfg.reentry_seconds, cfg.reentry_similarity):
            old, dropped = self._tracks[match.lost.id], self._tracks.pop(came.id)
            _LOGGER.debug("%s %s back in view on %s after %.1fs (%s)", came.label, match.lost.id, self.camera,
                          came.first_seen - match.lost.last_seen, match.reason)
            absorb(old.obj, came)
            old.rest_box, old.rest_since, old.last_looked = dropped.rest_box, dropped.rest_since, dropped.last_looked
            old.appearance = blend(old.appearance, dropped.appearance, 0.5)
            self._owners = {d: old.obj if owner is came else owner for d, owner in self._owners.items()}

    def _appearance(self, box: Sequence[float]) -> np.ndarray | None:
        if self._frame is None or self.tracking.reentry_seconds <= 0:  # only re-identification uses it
            return None
        return appearance(self._frame, box)

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
        obj.origin = obj.smoothed = det.box
        self._note_motion(obj, det.box)
        obj.seen_this_frame = True
        track = self._tracks[obj.id] = _Track(obj, det.box, ts, ts, self._appearance(det.box))
        self._maybe_confirm(obj)
        if obj.confirmed:
            track.confirmed_at = ts

    def _hit(self, track: _Track, det: Detection, ts: float, weak: bool = False) -> None:
        obj = track.obj
        dt = ts - obj.last_seen
        if dt > 0:
            (ox, oy), (nx, ny) = centre(obj.box), centre(det.box)
            vx, vy = (nx - ox) / dt, (ny - oy) / dt
            a = _VELOCITY_SMOOTHING
            obj.velocity = (a * vx + (1 - a) * obj.velocity[0], a * vy + (1 - a) * obj.velocity[1])
        obj.box = det.box
        track.appearance = blend(track.appearance, self._appearance(det.box))
        obj.score = det.score
        if not weak:  # a weak detection keeps the object, it does not vouch for it
            obj.scores.append(det.score)
            obj.top_score = max(obj.top_score, det.score)
            obj.hits += 1
        obj.misses = 0
        obj.lost = False
        obj.smoothed = smooth(obj.smoothed, det.box)
        if obj.origin is not None:
            obj.travel = max(obj.travel, travel(obj.origin, obj.smoothed))
        self._note_motion(obj, det.box)
        obj.last_seen = ts
        obj.seen_this_frame = True
        track.last_looked = ts
        self._update_stationary(track, ts)
        self._maybe_confirm(obj)
        if obj.confirmed and track.confirmed_at is None:
            track.confirmed_at = ts

    def _note_motion(self, obj: TrackedObject, box: Box) -> None:
        note_motion(obj, self._motion(box) if self._motion is not None else None)

    def _maybe_confirm(self, obj: TrackedObject) -> None:
        if obj.confirmed or obj.hits < self.tracking.min_hits:
            return
        if confirmable(obj, self.objects_config.filter_for(obj.label), self.tracking, self._offset):
            obj.confirmed = True
            _LOGGER.debug("%s %s confirmed on %s (median %.2f, travel %.2f, on motion %d/%d)", obj.label, obj.id,
                          self.camera, obj.median_score, obj.travel, obj.motion_hits, obj.motion_checks)

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

    def _moving_there(self, obj: TrackedObject, ts: float) -> bool:
        """Pixels still change where the object is: a missed detection there is no sign it left."""
        share = self._motion(predicted(obj, ts)) if self._motion is not None else None
        return share is not None and share >= MOVING_PIXELS

    def _count_misses(
        self, ts: float, regions: Sequence[Sequence[float]], frame_size: tuple[int, int] | None
    ) -> None:
        """A miss for each object this pass looked at and did not find; lost after ``min_misses``."""
        for track in self._tracks.values():
            obj = track.obj
            unseen = ts - obj.last_seen
            if not obj.seen_this_frame and looked_at(obj, ts, regions, frame_size):
                track.last_looked = ts
                if not (obj.confirmed and unseen < _MOTION_KEEP_SECONDS and self._moving_there(obj, ts)):
                    obj.misses += 1
            if obj.confirmed and not obj.lost and obj.misses >= self.tracking.min_misses:
                obj.lost = True  # not shown nor counted from now on; kept to be recognised
                _LOGGER.debug("%s %s lost from view on %s (unseen %.1fs)", obj.label, obj.id, self.camera, unseen)

    def _end(self, ts: float) -> list[TrackedObject]:
        cfg = self.tracking
        ended: list[TrackedObject] = []
        for tid, track in list(self._tracks.items()):
            obj = track.obj
            unseen = ts - obj.last_seen
            wait = max(cfg.max_disappeared, cfg.reentry_seconds) if obj.confirmed else cfg.max_disappeared
            gone = unseen >= wait and obj.misses >= cfg.min_misses
            if gone or ts - track.last_looked >= cfg.lost_timeout:
                obj.ended = True
                del self._tracks[tid]
                ended.append(obj)
                if obj.confirmed:
                    _LOGGER.debug("%s %s ended on %s (unseen %.1fs)", obj.label, obj.id, self.camera, unseen)
        return ended
