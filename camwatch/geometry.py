"""Boxes and polygons in frame pixels, and the one rule for relative coordinates.

A box is ``(x1, y1, x2, y2)`` in pixels, top-left to bottom-right. A polygon is a list of
``(x, y)`` corners.

Relative coordinates: a polygon (zone, motion mask, object mask) is relative to the frame
when *every* value lies in [0, 1]; it is then scaled by the frame's width and height.
Otherwise every value is read as pixels. The zone editor always saves relative values, so
a hand-written polygon with one value outside [0, 1] (even a negative one) is pixels.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

Point = tuple[float, float]
BoxLike = Sequence[float]


# ------------------------------------------------------------------ boxes
def area(box: BoxLike) -> float:
    """Area of ``box``; 0 for an empty or inverted box."""
    return max(0.0, box[2] - box[0]) * max(0.0, box[3] - box[1])


def intersection(a: BoxLike, b: BoxLike) -> float:
    """Area the two boxes share."""
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    return max(0.0, w) * max(0.0, h)


def iou(a: BoxLike, b: BoxLike) -> float:
    """Intersection over union (0 when the union is empty)."""
    inter = intersection(a, b)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def covered_share(inner: BoxLike, outer: BoxLike) -> float:
    """Share of ``inner``'s area that lies inside ``outer`` (0..1; 0 for an empty ``inner``)."""
    inner_area = area(inner)
    return intersection(inner, outer) / inner_area if inner_area > 0 else 0.0


def grow(box: BoxLike, margin: float) -> tuple[float, float, float, float]:
    """``box`` grown by ``margin`` of its width (height) on the left and right (top and bottom)."""
    x1, y1, x2, y2 = box
    dx, dy = (x2 - x1) * margin, (y2 - y1) * margin
    return (x1 - dx, y1 - dy, x2 + dx, y2 + dy)


def shift(box: BoxLike, dx: float, dy: float) -> tuple[float, float, float, float]:
    """``box`` moved by (dx, dy)."""
    return (box[0] + dx, box[1] + dy, box[2] + dx, box[3] + dy)


# --------------------------------------------------------------- polygons
def is_relative(points: Sequence[Sequence[float]]) -> bool:
    """True when every value lies in [0, 1]: the polygon is a share of the frame."""
    return all(0.0 <= float(v) <= 1.0 for p in points for v in p)


def polygon_to_pixels(points: Sequence[Sequence[float]], frame_size: tuple[int, int]) -> np.ndarray:
    """Polygon corners in frame pixels (float32, shape (n, 2)); relative input is scaled."""
    arr = np.asarray(points, dtype=np.float32).reshape(-1, 2)
    if is_relative(points):
        arr = arr * np.array(frame_size, dtype=np.float32)
    return arr


def point_in_polygon(point: Point, polygon: np.ndarray | Sequence[Point]) -> bool:
    """Even-odd test (points on an edge may fall either way)."""
    x, y = point
    inside = False
    n = len(polygon)
    j = n - 1
    for i in range(n):
        xi, yi = polygon[i]
        xj, yj = polygon[j]
        if (yi > y) != (yj > y) and x < (xj - xi) * (y - yi) / (yj - yi) + xi:
            inside = not inside
        j = i
    return inside
