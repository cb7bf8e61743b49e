"""Detector regions: square crops around motion and tracked objects, and merging their detections.

The SSD sees 300x300 pixels. Shrinking a whole 1080p frame to that makes a distant person
a few pixels tall; a square crop of the full-resolution frame around where something moves
keeps them large enough. Boxes that fit together in one square share it; overlapping
squares are merged so a scene costs few detector calls.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence

from camwatch.detectors.base import Detection, Detector
from camwatch.geometry import intersection
from camwatch.geometry import iou as box_iou

_LOGGER = logging.getLogger(__name__)

Region = tuple[int, int, int, int]


def _square(cx: float, cy: float, side: int, frame_size: tuple[int, int]) -> Region:
    """A square of ``side`` centred near (cx, cy), shifted to lie inside the frame."""
    width, height = frame_size
    side = min(side, width, height)
    x1 = int(round(cx - side / 2))
    y1 = int(round(cy - side / 2))
    x1 = min(max(0, x1), width - side)
    y1 = min(max(0, y1), height - side)
    return (x1, y1, x1 + side, y1 + side)


def _needed_side(box: Sequence[float], model_size: int, margin: float) -> int:
    w, h = box[2] - box[0], box[3] - box[1]
    return max(model_size, int(math.ceil(max(w, h) * (1.0 + margin))))


def _cover(box: Sequence[float], model_size: int, margin: float, frame_size: tuple[int, int]) -> list[Region]:
    """Square regions covering ``box``: one when it fits in the largest square, else a row/column of them."""
    width, height = frame_size
    largest = min(width, height)
    side = min(_needed_side(box, model_size, margin), largest)
    bw, bh = box[2] - box[0], box[3] - box[1]
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    if bw <= side and bh <= side:
        return [_square(cx, cy, side, frame_size)]
    # A box wider (or taller) than the frame's short side: overlapping squares along it.
    n_x = max(1, math.ceil(bw / side))
    n_y = max(1, math.ceil(bh / side))
    regions = []
    for i in range(n_x):
        x = box[0] + side / 2 + (bw - side) * (i / (n_x - 1) if n_x > 1 else 0.5)
        for j in range(n_y):
            y = box[1] + side / 2 + (bh - side) * (j / (n_y - 1) if n_y > 1 else 0.5)
            regions.append(_square(x, y, side, frame_size))
    return regions


def _union(a: Sequence[float], b: Sequence[float]) -> tuple[float, float, float, float]:
    return (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))


def plan_regions(
    frame_size: tuple[int, int],
    motion_boxes: Sequence[Sequence[float]],
    tracked_boxes: Sequence[Sequence[float]],
    model_size: int = 300,
    *,
    margin: float = 0.2,
    min_motion_area: float = 0.0,
    merge_overlap: float = 0.5,
) -> list[Region]:
    """Square detector regions covering the motion and tracked boxes (x1, y1, x2, y2, frame pixels).

    Each region is at least ``model_size`` wide (unless the frame is smaller), lies inside the
    frame and covers its boxes with ``margin`` (a share of the box size) around them. Boxes are
    grouped while the group still fits the square its largest member needs; regions that then
    overlap by more than ``merge_overlap`` of the smaller one are merged into one square.
    """
    width, height = frame_size
    boxes = [tuple(float(v) for v in b) for b in motion_boxes if (b[2] - b[0]) * (b[3] - b[1]) >= min_motion_area]
    boxes += [tuple(float(v) for v in b) for b in tracked_boxes]
    boxes = [
        (max(0.0, b[0]), max(0.0, b[1]), min(float(width), b[2]), min(float(height), b[3]))
        for b in boxes
        if b[2] > b[0] and b[3] > b[1]
    ]
    if not boxes:
        return []
    # Largest first, so small boxes join the group of a big neighbour.
    boxes.sort(key=lambda b: (b[2] - b[0]) * (b[3] - b[1]), reverse=True)
    largest = min(width, height)
    groups: list[tuple[tuple[float, float, float, float], int]] = []  # (bounding box, side it may use)
    for box in boxes:
        need = min(_needed_side(box, model_size, margin), largest)
        for k, (gbox, gside) in enumerate(groups):
            merged = _union(gbox, box)
            side = max(gside, need)
            span = max(merged[2] - merged[0], merged[3] - merged[1])
            if span <= largest and min(span * (1.0 + margin), largest) <= side:
                groups[k] = (merged, side)
                break
        else:
            groups.append((box, need))
    regions: list[Region] = []
    for gbox, _ in groups:
        regions.extend(_cover(gbox, model_size, margin, frame_size))
    return _merge_regions(regions, frame_size, merge_overlap)


def tile_regions(frame_size: tuple[int, int], model_size: int = 300, overlap: float = 0.2) -> list[Region]:
    """The whole frame as overlapping squares, for a frame at least twice the model input on
    its short side (else one region, the frame). Two rows or columns along the short side,
    ``overlap`` of a tile shared with its neighbour, as many as needed along the long side:
    a person far away keeps more pixels than in the frame squashed to the model input."""
    width, height = frame_size
    short, long_ = min(width, height), max(width, height)
    if short < 2 * model_size:
        return [(0, 0, width, height)]
    side = min(short, math.ceil(short / (2.0 - overlap)))
    steps = max(1, math.ceil((long_ - side) / (side * (1.0 - overlap)))) + 1

    def starts(length: int, n: int) -> list[int]:
        return [round((length - side) * k / (n - 1)) for k in range(n)] if n > 1 else [0]

    across, along = starts(short, 2), starts(long_, steps)
    if width >= height:
        return [(x, y, x + side, y + side) for y in across for x in along]
    return [(x, y, x + side, y + side) for x in across for y in along]


def limit_regions(regions: Sequence[Region], keep_first: Sequence[Sequence[float]], budget: int, turn: int) -> list[Region]:
    """At most ``budget`` regions: those holding a box of ``keep_first`` (tracked objects due a
    look) first, the others in a rotation that ``turn`` (a frame counter) advances, so every
    region gets its look within a few frames in a busy scene."""
    if budget <= 0 or len(regions) <= budget:
        return list(regions)

    def holds(region: Sequence[float]) -> bool:
        return any(intersection(region, b) >= 0.5 * max(1e-6, (b[2] - b[0]) * (b[3] - b[1])) for b in keep_first)

    first = [r for r in regions if holds(r)]
    rest = [r for r in regions if not holds(r)]
    if rest:
        k = turn % len(rest)
        rest = rest[k:] + rest[:k]
    return (first + rest)[:budget]


def _merge_regions(regions: list[Region], frame_size: tuple[int, int], overlap: float) -> list[Region]:
    largest = min(frame_size)
    regions = list(dict.fromkeys(regions))
    merged = True
    while merged and len(regions) > 1:
        merged = False
        for i in range(len(regions)):
            for j in range(i + 1, len(regions)):
                a, b = regions[i], regions[j]
                smaller = min((a[2] - a[0]) ** 2, (b[2] - b[0]) ** 2)
                if intersection(a, b) < overlap * smaller:
                    continue
                u = _union(a, b)
                side = int(max(u[2] - u[0], u[3] - u[1]))
                if side > largest:
                    continue
                regions[i] = _square((u[0] + u[2]) / 2, (u[1] + u[3]) / 2, side, frame_size)
                del regions[j]
                merged = True
                break
            if merged:
                break
    return regions


def _cut_by_region(box: Sequence[float], region: Sequence[float], frame_size: tuple[int, int] | None) -> bool:
    """The box touches an edge of its region that is not also an edge of the frame."""
    tol = 2.0
    width, height = frame_size if frame_size else (math.inf, math.inf)
    return (
        (box[0] <= region[0] + tol and region[0] > 0)
        or (box[1] <= region[1] + tol and region[1] > 0)
        or (box[2] >= region[2] - tol and region[2] < width)
        or (box[3] >= region[3] - tol and region[3] < height)
    )


def merge_detections(
    dets: Sequence[Detection],
    iou: float = 0.5,
    *,
    regions: Sequence[Region] | None = None,
    frame_size: tuple[int, int] | None = None,
    contain: float = 0.8,
) -> list[Detection]:
    """Class-aware NMS over detections from several regions.

    ``regions[i]`` (optional) is the region detection ``i`` came from: a detection cut by
    its region's edge loses to an uncut one of the same object. Two boxes of one label are
    the same object when their IoU reaches ``iou`` or when ``contain`` of the smaller lies
    inside the larger (a cut half inside the whole).
    """
    if regions is not None and len(regions) != len(dets):
        raise ValueError("regions must give one region per detection")
    order = sorted(
        range(len(dets)),
        key=lambda i: (
            regions is not None and _cut_by_region(dets[i].box, regions[i], frame_size),
            -dets[i].score,
        ),
    )
    kept: list[int] = []
    for i in order:
        det = dets[i]
        duplicate = False
        for k in kept:
            other = dets[k]
            if other.label != det.label:
                continue
            inter = intersection(det.box, other.box)
            smaller = min(det.area, other.area)
            if box_iou(det.box, other.box) >= iou or (smaller > 0 and inter / smaller >= contain):
                duplicate = True
                break
        if not duplicate:
            kept.append(i)
    if regions is None:
        return [dets[i] for i in kept]
    return _join_cut_parts([dets[i] for i in kept], [regions[i] for i in kept], frame_size)


def _join_cut_parts(
    dets: list[Detection], regions: list[Region], frame_size: tuple[int, int] | None
) -> list[Detection]:
    """Two parts of one object cut by the edges of two regions become one box (their union).

    A tall person seen by two stacked regions comes back as an upper and a lower part;
    without this they would be tracked as two people.
    """
    items = list(zip(dets, regions, strict=True))
    joined = True
    while joined:
        joined = False
        for a in range(len(items)):
            for b in range(a + 1, len(items)):
                (da, ra), (db, rb) = items[a], items[b]
                if da.label != db.label or intersection(da.box, db.box) <= 0:
                    continue
                if not (_cut_by_region(da.box, ra, frame_size) or _cut_by_region(db.box, rb, frame_size)):
                    continue
                overlap_x = min(da.box[2], db.box[2]) - max(da.box[0], db.box[0])
                overlap_y = min(da.box[3], db.box[3]) - max(da.box[1], db.box[1])
                narrow = min(da.box[2] - da.box[0], db.box[2] - db.box[0])
                short = min(da.box[3] - da.box[1], db.box[3] - db.box[1])
                if overlap_x < 0.6 * narrow and overlap_y < 0.6 * short:
                    continue
                box = _union(da.box, db.box)
                items[a] = (Detection(da.label, max(da.score, db.score), box), _union(ra, rb))
                del items[b]
                joined = True
                break
            if joined:
                break
    return [d for d, _ in items]


def detect_regions(
    detector: Detector,
    frame_bgr,
    regions: Sequence[Region],
    threshold: float | None = None,
    iou: float = 0.5,
) -> list[Detection]:
    """Run the detector on each region and merge the results (edge-cut detections lose)."""
    height, width = frame_bgr.shape[:2]
    found: list[Detection] = []
    origin: list[Region] = []
    for region in regions:
        dets = detector.detect_region(frame_bgr, region, threshold)
        found.extend(dets)
        origin.extend([region] * len(dets))
    return merge_detections(found, iou, regions=origin, frame_size=(width, height))
