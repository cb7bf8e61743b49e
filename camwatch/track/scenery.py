"""Per-camera memory of scenery the detector takes for an object (a mannequin, a tree trunk).

Such detections come back at one place, frame after frame, and nothing moves under them.
Once a place has been seen like that a few times it is *scenery*: a detection there, with
nothing moving under it, is not allowed to carry on a tracked person who walked past it (the
event would stay on the mannequin after the person left) and starts no object of its own.
A detection at that place *with* motion under it is not scenery (someone standing in front
of it, or the thing itself moving), and a place not seen for ``forget_after`` seconds is
forgotten, so scenery that really moves away is let go.
"""

from __future__ import annotations

from dataclasses import dataclass

from camwatch.detectors.base import Box, Detection
from camwatch.geometry import iou as box_iou

SAME_PLACE_IOU = 0.5  # a detection overlapping a remembered place this much is at that place
LEARN_SIGHTINGS = 3  # still sightings (in different frames) before a place counts as scenery
FORGET_AFTER = 600.0  # seconds without a sighting before a place is forgotten
MAX_PLACES = 200  # per camera; the least recently seen are dropped first


@dataclass
class Place:
    label: str
    box: Box
    sightings: int
    last_seen: float


class SceneryMemory:
    """Places where still detections keep coming back, per label."""

    def __init__(self, learn_sightings: int = LEARN_SIGHTINGS, forget_after: float = FORGET_AFTER) -> None:
        self.learn_sightings = learn_sightings
        self.forget_after = forget_after
        self.places: list[Place] = []
        self._last_ts: float | None = None

    def _find(self, det: Detection) -> Place | None:
        best, best_iou = None, SAME_PLACE_IOU
        for place in self.places:
            if place.label != det.label:
                continue
            overlap = box_iou(place.box, det.box)
            if overlap >= best_iou:
                best, best_iou = place, overlap
        return best

    def is_scenery(self, det: Detection) -> bool:
        """Whether ``det`` lies at a learned scenery place (call only for still detections)."""
        place = self._find(det)
        return place is not None and place.sightings >= self.learn_sightings

    def observe(self, det: Detection, ts: float) -> None:
        """A detection with nothing moving under it that no tracked object took."""
        place = self._find(det)
        if place is None:
            self.places.append(Place(det.label, det.box, 1, ts))
            if len(self.places) > MAX_PLACES:
                self.places.sort(key=lambda p: p.last_seen, reverse=True)
                del self.places[MAX_PLACES:]
            return
        if ts > place.last_seen:  # one sighting per frame
            place.sightings += 1
            place.last_seen = ts
            # drift with the detections (the box of a still thing jitters)
            place.box = tuple(0.8 * o + 0.2 * n for o, n in zip(place.box, det.box, strict=True))  # type: ignore[assignment]

    def forget_old(self, ts: float) -> None:
        self.places = [p for p in self.places if ts - p.last_seen <= self.forget_after]
