"""Which detection is which tracked object: predicted boxes, match candidates, looked-at tests.

Pure functions of the objects, the detections and the time, so the tracker keeps only the
bookkeeping (who owns what, when an object is confirmed, lost or ended).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from camwatch.config.tracking import TrackingConfig
from camwatch.detectors.base import Box, Detection
from camwatch.geometry import intersection, shift
from camwatch.geometry import iou as box_iou
from camwatch.track.model import TrackedObject

LOOKED_SHARE = 0.5  # share of an object's box inside a region for it to count as looked at
MAX_PREDICT_SECONDS = 2.0
MAX_SIZE_RATIO = 2.0  # a detection this much taller, shorter, wider or narrower than an object's usual box is another
WEAK_MATCH_IOU = 0.5  # overlap a low-scored detection needs with a tracked object's predicted box
FALLBACK_SECONDS = 1.5  # an object missed and unseen longer is matched by overlap with its last box only
SITTING_IOU = 0.6  # overlap of a scenery detection with the last box of an object sitting there


def centre(box: Sequence[float]) -> tuple[float, float]:
    return ((box[0] + box[2]) / 2.0, (box[1] + box[3]) / 2.0)


def similar_size(a: Sequence[float], b: Sequence[float]) -> bool:
    """Neither height nor width more than ``MAX_SIZE_RATIO`` apart."""
    for lo, hi in ((1, 3), (0, 2)):
        ratio = max(1.0, b[hi] - b[lo]) / max(1.0, a[hi] - a[lo])
        if not 1 / MAX_SIZE_RATIO <= ratio <= MAX_SIZE_RATIO:
            return False
    return True


def predicted(obj: TrackedObject, ts: float) -> Box:
    """Where the object's box is at ``ts`` at its velocity (carried on at most 2 s)."""
    dt = min(max(0.0, ts - obj.last_seen), MAX_PREDICT_SECONDS)
    return shift(obj.box, obj.velocity[0] * dt, obj.velocity[1] * dt)


def pair_scores(
    objects: Mapping[str, TrackedObject], detections: Sequence[Detection], ts: float, mode: str, cfg: TrackingConfig
) -> list[tuple[float, str, int]]:
    """Candidate (score, object id, detection index) pairs; a higher score is a better pair.

    ``strong``: by overlap with the predicted box, else by centre distance (always scored
    below any overlap match); ``weak`` (low-scored): only by a clear overlap with the
    predicted box of an object not seen in this pass; ``sitting`` (scenery): only an object
    whose last box is right there. An object lost longer than ``max_disappeared`` pairs
    with nothing.
    """
    pairs: list[tuple[float, str, int]] = []
    for tid, obj in objects.items():
        if mode != "strong" and obj.seen_this_frame:
            continue
        if obj.lost and ts - obj.last_seen > cfg.max_disappeared:
            continue
        pred = predicted(obj, ts)
        diag = max(1.0, ((pred[2] - pred[0]) ** 2 + (pred[3] - pred[1]) ** 2) ** 0.5)
        pc = centre(pred)
        for i, det in enumerate(detections):
            if det.label != obj.label or not similar_size(obj.smoothed or obj.box, det.box):
                continue  # far larger or smaller: another object (or a box around half the scene)
            if mode == "sitting":
                overlap = box_iou(obj.box, det.box)
                if overlap >= SITTING_IOU:
                    pairs.append((overlap, tid, i))
                continue
            # the last box too: a prediction from a jumpy velocity can overshoot, and one made
            # long after the detector last found the object where it looked is a guess (it
            # points where others walk in); an object nobody looked for (still, re-checked
            # now and then) is not lost
            fresh = obj.misses == 0 or ts - obj.last_seen <= FALLBACK_SECONDS
            overlap = max(box_iou(pred, det.box) if fresh else 0.0, box_iou(obj.box, det.box))
            if mode == "weak":
                if overlap >= WEAK_MATCH_IOU:
                    pairs.append((overlap, tid, i))
                continue
            if overlap >= cfg.match_iou and overlap > 0:
                pairs.append((1.0 + overlap, tid, i))
                continue
            if not fresh:
                continue  # its prediction is stale: only an overlap identifies it now
            dc = centre(det.box)
            dist = ((dc[0] - pc[0]) ** 2 + (dc[1] - pc[1]) ** 2) ** 0.5 / diag
            if dist <= cfg.match_distance:
                pairs.append((1.0 - dist / cfg.match_distance, tid, i))
    return pairs


def looked_at(
    obj: TrackedObject, ts: float, regions: Sequence[Sequence[float]], frame_size: tuple[int, int] | None
) -> bool:
    """Whether a detector pass over ``regions`` looked where the object is (or was); an
    object predicted to have left the frame needs no look."""
    pred = predicted(obj, ts)
    if frame_size is not None:
        frame = (0.0, 0.0, float(frame_size[0]), float(frame_size[1]))
        pred_area = max(1e-6, (pred[2] - pred[0]) * (pred[3] - pred[1]))
        if intersection(pred, frame) < LOOKED_SHARE * pred_area:
            return True
    if not regions:
        return False
    for box in (pred, obj.box):
        area = max(1e-6, (box[2] - box[0]) * (box[3] - box[1]))
        if any(intersection(box, r) >= LOOKED_SHARE * area for r in regions):
            return True
    return False
