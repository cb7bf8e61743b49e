"""Where a person's face should be, and which person a face belongs to.

A person box from the detector is read by its shape and position:

* a standing person seen whole (box at least ``FULL_BODY_ASPECT`` times taller than wide, not
  cut by the frame bottom) has the head at the top: the upper part is searched;
* any other box — cut by the frame bottom (someone close to the camera, a doorbell), head and
  shoulders, sitting, two people merged — is searched whole: the face can be anywhere in it.

Either way the region reaches a little beyond the box (heads often stick out of the box's top
or side). A face belongs to the person whose expected head it fits best, one face per person:
near the box's centre line, near the top for a standing person, and near the face this person
showed last when there is one (a box that briefly spans two people does not move the head).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from camwatch.detectors.base import Box
from camwatch.geometry import shift

#: A box this much taller than wide, not cut by the frame bottom, is a standing person.
FULL_BODY_ASPECT = 1.8
#: A box edge this close (share of the frame side, at least 2 px) to the frame edge is cut.
EDGE = 0.01
#: The search region reaches beyond the box: sides (share of the box width), top (share of
#: the box's smaller side).
SIDE_MARGIN = 0.15
TOP_MARGIN = 0.15
#: A remembered face still tells where the head is for this long (s).
MEMORY_SECONDS = 3.0
#: A face farther from the remembered one than this many remembered face widths (plus the
#: distance the person could have moved) is someone else's.
MEMORY_REACH = 1.5
#: Added to the fit of a person the detector did not see in this frame (only remembered).
UNSEEN_PENALTY = 0.5
#: A person the detector did not see in this frame is looked for where their last box, carried
#: on at their speed, puts them — for this long after they were seen (s). A walker's face is
#: often in view for a second only, between two re-detections.
PREDICT_SECONDS = 1.0


@dataclass(frozen=True)
class FaceMemory:
    """The last face given to a person: centre, width and when."""

    centre: tuple[float, float]
    width: float
    ts: float


def cut_bottom(box: Box, frame_height: int) -> bool:
    return box[3] >= frame_height - max(2.0, EDGE * frame_height)


def is_full_body(box: Box, frame_height: int) -> bool:
    """A standing person seen whole: tall box, not cut by the frame bottom."""
    w, h = box[2] - box[0], box[3] - box[1]
    return h >= FULL_BODY_ASPECT * w and not cut_bottom(box, frame_height)


def search_region(box: Box, frame_size: tuple[int, int], upper_fraction: float = 0.5) -> Box:
    """Where to look for this person's face (frame pixels, not clipped)."""
    x1, y1, x2, y2 = box
    w, h = x2 - x1, y2 - y1
    bottom = y1 + upper_fraction * h if is_full_body(box, frame_size[1]) else y2
    return (x1 - SIDE_MARGIN * w, y1 - TOP_MARGIN * min(w, h), x2 + SIDE_MARGIN * w, bottom)


def where_now(
    box: Box, velocity: tuple[float, float], last_seen: float, ts: float, seen: bool
) -> Box | None:
    """The person's box in this frame: as detected when ``seen``, else the last box carried on at
    ``velocity`` (px/s) until ``PREDICT_SECONDS`` after ``last_seen``; None after that."""
    if seen:
        return box
    dt = ts - last_seen
    if not 0 <= dt <= PREDICT_SECONDS:
        return None
    return shift(box, velocity[0] * dt, velocity[1] * dt)


def expected_centre(box: Box, frame_size: tuple[int, int]) -> tuple[float, float]:
    """Where the face centre of a person in this box is most likely."""
    x1, y1, x2, y2 = box
    w, h = x2 - x1, y2 - y1
    if is_full_body(box, frame_size[1]):
        return ((x1 + x2) / 2, y1 + h / 12)  # a head is about 1/7 of a standing person
    return ((x1 + x2) / 2, y1 + 0.3 * min(w, h))  # close-up: head and shoulders fill the box


def _reach(memory: FaceMemory, ts: float, speed: float) -> float:
    return MEMORY_REACH * memory.width + speed * max(0.0, ts - memory.ts)


def fresh(memory: FaceMemory | None, ts: float) -> bool:
    """The remembered face still tells where the head is."""
    return memory is not None and 0 <= ts - memory.ts <= MEMORY_SECONDS


def memory_region(memory: FaceMemory, ts: float, speed: float = 0.0) -> Box:
    """Around the face a person showed last: the head is still there even when the person's box
    has slipped (a re-detection that caught only the legs, a box spanning two people)."""
    half = _reach(memory, ts, speed) + memory.width / 2
    cx, cy = memory.centre
    return (cx - half, cy - half, cx + half, cy + half)


def head_cost(
    face: Box,
    box: Box,
    frame_size: tuple[int, int],
    upper_fraction: float = 0.5,
    memory: FaceMemory | None = None,
    ts: float = 0.0,
    speed: float = 0.0,
) -> float | None:
    """How badly the face fits this person's head (lower is better), or None when it is not theirs.

    With a recent face of this person (``memory``) the head is where that face was, give or
    take how far the person can have moved: a face farther away is someone else's. Without
    one, the face centre must lie in the person's search region, near the expected centre.
    """
    cx, cy = (face[0] + face[2]) / 2, (face[1] + face[3]) / 2
    if memory is not None and fresh(memory, ts):
        moved = math.hypot(cx - memory.centre[0], cy - memory.centre[1])
        reach = _reach(memory, ts, speed)
        return None if moved > reach else 0.5 * moved / max(1.0, reach)
    rx1, ry1, rx2, ry2 = search_region(box, frame_size, upper_fraction)
    if not (rx1 <= cx <= rx2 and ry1 <= cy <= ry2):
        return None
    w, h = max(1.0, box[2] - box[0]), max(1.0, box[3] - box[1])
    ex, ey = expected_centre(box, frame_size)
    return abs(cx - ex) / w + 0.5 * abs(cy - ey) / h


#: Up to this many face-person pairs the best assignment is searched exhaustively.
EXHAUSTIVE_PAIRS = 16


def assign(costs: dict[tuple[int, str], float]) -> dict[str, int]:
    """One face per person and one person per face: person id → face index.

    As many people as possible get a face, then the fits are as good as possible: a box that
    spans two people fits both faces, but the person beside it fits only one of them, and
    taking that one from them would leave a face without its person.
    """
    pairs = sorted(costs.items(), key=lambda item: item[1])
    if len(pairs) > EXHAUSTIVE_PAIRS:
        return _greedy(pairs)
    faces = sorted({face for face, _ in costs})
    options = {face: [(person, cost) for (f, person), cost in pairs if f == face] for face in faces}
    best: tuple[int, float, dict[str, int]] = (0, 0.0, {})

    def walk(i: int, taken: dict[str, int], total: float) -> None:
        nonlocal best
        if i == len(faces):
            if (len(taken), -total) > (best[0], -best[1]):
                best = (len(taken), total, dict(taken))
            return
        face = faces[i]
        for person, cost in options[face]:
            if person not in taken:
                taken[person] = face
                walk(i + 1, taken, total + cost)
                del taken[person]
        walk(i + 1, taken, total)  # this face goes to no one

    walk(0, {}, 0.0)
    return best[2]


def _greedy(pairs: list[tuple[tuple[int, str], float]]) -> dict[str, int]:
    taken_faces: set[int] = set()
    out: dict[str, int] = {}
    for (face, person), _cost in pairs:
        if face not in taken_faces and person not in out:
            out[person] = face
            taken_faces.add(face)
    return out
