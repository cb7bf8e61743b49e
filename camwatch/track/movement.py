"""Evidence that a tracked object really moves: travel from where it was first seen, on moving pixels.

A walking person travels a good share of their own height within a second or two, and the
pixels under their box change. Travel is measured between smoothed boxes (the first few
detections against a running average), so the jitter of a detector's boxes around one
place does not add up to travel. Scenery that the detector takes for a person (a mannequin,
a tree trunk, a parked motorcycle) does neither: its boxes jitter around one place and the
motion detector sees nothing there. The tracker confirms a moving object at a lower score
than a still one, so this is what keeps scenery out of events.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from camwatch.config.camera import ObjectFilter
from camwatch.config.tracking import TrackingConfig
from camwatch.detectors.base import Box
from camwatch.track.model import TrackedObject

#: Share of a box whose pixels changed in the last sample (None: no information), e.g.
#: ``MotionDetector.moving_share``; the tracker takes it to tell moving objects from scenery.
MotionShare = Callable[[Box], "float | None"]
MOVING_PIXELS = 0.1  # share of changed pixels under a detection for it to lie on motion
# Detections on moving pixels that make an object moving even without travel: someone walking
# towards the camera or shifting at a fence travels little, and four looks (0.8 s at 5 fps) on
# changing pixels are evidence enough; what sways (a bush, balloons) still needs a person's score.
RESTLESS_LOOKS = 4
SMOOTHING = 0.5  # EMA weight of each new box in an object's smoothed box


def smooth(previous: Box | None, box: Box) -> Box:
    if previous is None:
        return box
    a = SMOOTHING
    return tuple(a * n + (1 - a) * o for n, o in zip(box, previous, strict=True))  # type: ignore[return-value]


def travel(origin: Box, box: Box) -> float:
    """How far ``box`` is from ``origin``, in object heights: the larger of the centre's shift
    and the change of size (someone walking towards the camera grows more than they shift)."""
    oh, h = max(1.0, origin[3] - origin[1]), max(1.0, box[3] - box[1])
    ocx, ocy = (origin[0] + origin[2]) / 2, (origin[1] + origin[3]) / 2
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    shift = math.hypot(cx - ocx, cy - ocy) / ((oh + h) / 2)
    growth = abs(math.log(h / oh))  # 0.41 for 1.5x taller or shorter
    return max(shift, growth)


def note_motion(obj: TrackedObject, share: float | None) -> None:
    """Count whether the detection just matched to ``obj`` lay on moving pixels."""
    if share is None:
        return
    obj.motion_checks += 1
    if share >= MOVING_PIXELS:
        obj.motion_hits += 1


def never_moved(obj: TrackedObject) -> bool:
    """Seen a few times, never on moving pixels: scenery until shown otherwise."""
    return obj.motion_checks >= 2 and obj.motion_hits == 0


def is_moving(obj: TrackedObject, cfg: TrackingConfig) -> bool:
    """On moving pixels (``motion_support`` of its detections), and it has travelled
    ``moving_distance`` or kept changing the pixels under it for ``RESTLESS_LOOKS`` detections
    (someone standing at a fence, shifting). Without motion information travel alone decides."""
    if obj.motion_checks == 0:
        return obj.travel >= cfg.moving_distance
    if obj.motion_hits < cfg.motion_support * obj.motion_checks:
        return False
    return obj.travel >= cfg.moving_distance or obj.motion_hits >= RESTLESS_LOOKS


def confirmable(obj: TrackedObject, flt: ObjectFilter, cfg: TrackingConfig, offset: float = 0.0) -> bool:
    """Enough evidence (``min_hits`` is checked by the caller): a median score at the label's
    ``threshold`` and some movement ever seen under it, or the lower ``moving_threshold`` (less
    ``offset`` on greyscale frames) for an object that really moves. Something that never moved
    never qualifies."""
    median = obj.median_score
    if median >= flt.moving_threshold - offset and is_moving(obj, cfg):
        return True
    return median >= flt.threshold and (obj.motion_checks == 0 or obj.motion_hits > 0)


def may_continue(obj: TrackedObject, flt: ObjectFilter, cfg: TrackingConfig, offset: float = 0.0) -> bool:
    """Enough for a new object to continue a lost confirmed one (``track.reid``): two detections
    at the moving threshold, on moving pixels (``motion_support`` of them). The travel a new
    object needs to be confirmed on its own is not asked: the lost one already showed it was
    a person who moves, and a returning person may stop. Scenery that sways (balloons, a
    bush) still needs a person's score."""
    if obj.hits < 2 or obj.median_score < flt.moving_threshold - offset:
        return False
    if obj.motion_checks == 0:
        return True
    return obj.motion_hits > 0 and obj.motion_hits >= cfg.motion_support * obj.motion_checks
