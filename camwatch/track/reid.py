"""A person out of sight who comes back is the same visit: which lost object a new one continues.

A home camera loses people for seconds at a time: into the dark between two lights,
behind a parked car, a door frame or a bush, while their face covers the lens, or when
they step out through the edge of the picture and back. The tracker then starts a new
object where they reappear; without this step every such gap is a new event and a new
alert. A confirmed object the detector has lost is kept for ``tracking.reentry_seconds``;
a new, still unannounced object *continues* it (takes its id, so its event goes on) when
it can only be the same person:

- **where it vanished**: its first box lies on the lost one's last box, within
  ``EDGE_REENTRY_SECONDS`` (within ``CONTINUITY_SECONDS`` whatever it looks like: someone
  walking up to the camera whose box suddenly doubles);
- **out of sight inside the view**: the lost one vanished inside the picture (not at its
  edge), and the new one appears inside it too (out of the dark, from behind something),
  within the window, where the person could have walked meanwhile (``BASE_REACH`` +
  ``WALK_REACH`` × gap body heights), about as tall (``MAX_HEIGHT_RATIO``) and not looking
  clearly different (``tracking.reentry_similarity``). The longer they were gone, the
  likelier it is someone else (one visitor walks off out of the detector's range, the next
  comes from there): past ``EDGE_REENTRY_SECONDS`` the look needed rises linearly to
  ``EDGE_SIMILARITY`` at the end of the window;
- **back through the edge**: the lost one left through an edge of the picture and the new
  one comes in through that same edge within ``EDGE_REENTRY_SECONDS``, within reach, and
  looks alike (``EDGE_SIMILARITY``). Someone coming in through another edge is never the
  person who left: that is the next visitor.

Only an object that was never announced is ever joined to another, and never one seen at
the same time as it: two people in view at once stay two events. Cheap looks tell people
apart only roughly (``camwatch.track.appearance``), so position and time do most of the
work; where they cannot (people leaving and arriving by the same edge, one after the
other) the window is short and the look must be close, because joining two visitors would
silence the second one's alert — worse than an extra alert.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from camwatch.detectors.base import Box
from camwatch.geometry import covered_share, iou, shift
from camwatch.track.appearance import similarity
from camwatch.track.model import TrackedObject

EDGE_MARGIN = 0.02  # share of the frame's width (height): a box this close to a border touches it
EXIT_LOOKAHEAD = 0.5  # seconds: a lost object heading this far out of the picture left it
BASE_REACH = 1.0  # body heights around the last sighting, however short the gap
WALK_REACH = 1.5  # body heights per second out of sight (a brisk walk is about 1)
MAX_HEIGHT_RATIO = 2.5  # someone walking towards the camera grows; a box twice as tall is often a part
CONTINUITY_SECONDS = 1.0  # a new box on top of the lost one this soon is one movement, whatever it looks like
ON_TOP = 0.4  # share of the smaller box inside the other (its last box or where it was heading) for "on top of"
EDGE_REENTRY_SECONDS = 5.0  # out through an edge and back (or back where it vanished) within this
EDGE_SIMILARITY = 0.85  # look needed to come back through the edge (next visitors use the same edges)


@dataclass(frozen=True, slots=True)
class Lost:
    """A confirmed object out of sight, with its last sighting (box, time, velocity) and look."""

    obj: TrackedObject
    gone: bool  # the detector looked where it was and missed it (not merely unseen)
    look: np.ndarray | None  # its look (camwatch.track.appearance)


@dataclass(frozen=True, slots=True)
class Returning:
    """A new, not yet announced object that may be a lost one back in view."""

    obj: TrackedObject
    look: np.ndarray | None  # its look so far


@dataclass(frozen=True, slots=True)
class Match:
    lost: TrackedObject
    reason: str  # "where it vanished", "out of sight inside the view", "back through the edge"
    score: float  # higher is better when several lost objects fit


def edges(box: Sequence[float], frame_size: tuple[int, int]) -> frozenset[str]:
    """The frame borders ``box`` touches (left, top, right, bottom)."""
    width, height = frame_size
    mx, my = max(2.0, EDGE_MARGIN * width), max(2.0, EDGE_MARGIN * height)
    touched = set()
    if box[0] <= mx:
        touched.add("left")
    if box[1] <= my:
        touched.add("top")
    if box[2] >= width - mx:
        touched.add("right")
    if box[3] >= height - my:
        touched.add("bottom")
    return frozenset(touched)


def left_by(obj: TrackedObject, frame_size: tuple[int, int]) -> frozenset[str]:
    """The edges a lost object left the picture by: those its last box touched, or that it was
    heading through (half its box out within ``EXIT_LOOKAHEAD``); none: it vanished inside."""
    touched = edges(obj.box, frame_size)
    ahead = shift(obj.box, obj.velocity[0] * EXIT_LOOKAHEAD, obj.velocity[1] * EXIT_LOOKAHEAD)
    frame = (0.0, 0.0, float(frame_size[0]), float(frame_size[1]))
    if covered_share(ahead, frame) < 0.5:
        touched |= edges(ahead, frame_size)
    return touched


def _height(box: Sequence[float]) -> float:
    return max(1.0, box[3] - box[1])


def _centre(box: Sequence[float]) -> tuple[float, float]:
    return ((box[0] + box[2]) / 2.0, (box[1] + box[3]) / 2.0)


def _on_top(a: Box, b: Box) -> bool:
    return iou(a, b) >= 0.2 or covered_share(a, b) >= ON_TOP or covered_share(b, a) >= ON_TOP


def continues(
    lost: Lost, new: Returning, frame_size: tuple[int, int], window: float, min_similarity: float
) -> Match | None:
    """Whether ``new`` (never announced) can only be the lost object back in view."""
    old, came = lost.obj, new.obj
    if old.label != came.label or not old.confirmed or old.ended:
        return None
    gap = came.first_seen - old.last_seen
    if gap <= 0 or gap > window:
        return None  # seen at the same time: two objects
    first = came.origin or came.box
    look = similarity(lost.look, new.look) if lost.look is not None and new.look is not None else None
    alike = look is None or look >= min_similarity
    heading = shift(old.box, old.velocity[0] * min(gap, EXIT_LOOKAHEAD), old.velocity[1] * min(gap, EXIT_LOOKAHEAD))
    on_top = _on_top(first, old.box) or _on_top(first, heading)
    if on_top and (gap <= CONTINUITY_SECONDS or (gap <= EDGE_REENTRY_SECONDS and alike)):
        return Match(old, "where it vanished", 2.0)
    needed = min_similarity
    if window > EDGE_REENTRY_SECONDS and gap > EDGE_REENTRY_SECONDS:
        rise = (gap - EDGE_REENTRY_SECONDS) / (window - EDGE_REENTRY_SECONDS)
        needed = min_similarity + max(0.0, EDGE_SIMILARITY - min_similarity) * min(1.0, rise)
    if not lost.gone or (look is not None and look < needed):
        return None
    heights = (_height(old.box), _height(first))
    if max(heights) / min(heights) > MAX_HEIGHT_RATIO:
        return None
    (ox, oy), (nx, ny) = _centre(old.box), _centre(first)
    reach = max(heights) * (BASE_REACH + WALK_REACH * gap)
    distance = math.hypot(nx - ox, ny - oy)
    if distance > reach:
        return None
    entered, left = edges(first, frame_size), left_by(old, frame_size)
    score = (look if look is not None else min_similarity) - 0.2 * distance / reach
    if not entered and not left:
        return Match(old, "out of sight inside the view", score)
    if entered & left and gap <= EDGE_REENTRY_SECONDS and look is not None and look >= EDGE_SIMILARITY:
        return Match(old, "back through the edge", score)
    return None  # left the picture, or came in through another edge: someone else


def pair_up(
    lost: Sequence[Lost], new: Sequence[Returning], frame_size: tuple[int, int], window: float, min_similarity: float
) -> list[tuple[TrackedObject, Match]]:
    """Which new object continues which lost one: best fits first, each at most once."""
    fits = []
    for returning in new:
        for candidate in lost:
            match = continues(candidate, returning, frame_size, window, min_similarity)
            if match is not None:
                fits.append((match.score, returning.obj, match))
    fits.sort(key=lambda fit: fit[0], reverse=True)
    taken: set[str] = set()
    out = []
    for _, obj, match in fits:
        if obj.id in taken or match.lost.id in taken:
            continue
        taken.update((obj.id, match.lost.id))
        out.append((obj, match))
    return out


def absorb(obj: TrackedObject, came: TrackedObject) -> None:
    """``obj`` (lost) goes on with what ``came`` saw since it came back: box, scores, motion."""
    obj.box, obj.score, obj.velocity, obj.smoothed = came.box, came.score, came.velocity, came.smoothed
    obj.scores.extend(came.scores)
    obj.top_score = max(obj.top_score, came.top_score)
    obj.hits += came.hits
    obj.motion_hits += came.motion_hits
    obj.motion_checks += came.motion_checks
    obj.misses, obj.lost, obj.stationary, obj.motionless_count = 0, False, False, 0
    obj.last_seen, obj.seen_this_frame, obj.frame_size = came.last_seen, came.seen_this_frame, came.frame_size
