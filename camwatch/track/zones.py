"""Zones: which named polygon each tracked object is in, with inertia, entry and dwell time.

Presence is judged where the object stands: the bottom centre of its box (a person's feet,
where a car touches the road). A box the bottom of the picture cuts off (someone close to
the camera, feet out of view) has no feet point: its bottom edge is only the frame's. Such
an object is in a zone when the lower part of its box in the picture (``FOOT_STRIP`` of
its height, the middle of its width) lies mostly (``FOOT_SHARE``) inside it, so a person
visibly standing in a zone that stops just short of the frame's edge counts there. An
object enters a zone after ``inertia`` consecutive observations inside and leaves after
``inertia`` consecutive observations outside, so a box that jitters across an edge does not
flap. An object out of sight (lost) leaves its zones at its last sighting.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from camwatch.config.zones import ZoneConfig
from camwatch.geometry import point_in_polygon, polygon_to_pixels
from camwatch.track.model import TrackedObject

_LOGGER = logging.getLogger(__name__)
CUT_MARGIN = 0.02  # share of the frame height: a box reaching this close to the bottom has its feet cut off
FOOT_STRIP = 0.25  # the lowest share of a cut box's height that stands for where the person stands
FOOT_WIDTH = 0.6  # the middle share of its width (arms and bags stick out, feet do not)
FOOT_SHARE = 0.5  # share of that strip inside a zone for the object to stand in it
_GRID = (5, 3)  # points sampled across and up the strip


def stands_in(box: Sequence[float], polygon: np.ndarray, frame_height: int) -> bool:
    """Whether an object with ``box`` stands in ``polygon`` (pixels): see the module doc."""
    x1, y1, x2, y2 = box
    if y2 < frame_height * (1 - CUT_MARGIN):
        return point_in_polygon(((x1 + x2) / 2.0, y2), polygon)
    bottom = min(y2, float(frame_height))
    top = bottom - FOOT_STRIP * max(0.0, bottom - y1)
    left = x1 + (x2 - x1) * (1 - FOOT_WIDTH) / 2
    width = (x2 - x1) * FOOT_WIDTH
    cols, rows = _GRID
    points = [(left + width * (i + 0.5) / cols, top + (bottom - top) * (j + 0.5) / rows)
              for i in range(cols) for j in range(rows)]
    return sum(point_in_polygon(p, polygon) for p in points) >= FOOT_SHARE * len(points)


@dataclass
class _Presence:
    """One object's state for one zone."""

    inside: bool = False
    streak: int = 0  # consecutive observations disagreeing with ``inside``
    streak_start: float = 0.0  # time of the first observation of that streak
    visit_start: float | None = None
    dwell_before: float = 0.0  # seconds of earlier visits


@dataclass
class _ObjectZones:
    zones: dict[str, _Presence] = field(default_factory=dict)


class ZoneTracker:
    """Updates each object's ``current_zones``, ``zones_entered``, ``zone_entry_time`` and ``zone_dwell``."""

    def __init__(
        self,
        zones: dict[str, ZoneConfig],
        frame_size: tuple[int, int],
        is_enabled: Callable[[str], bool] | None = None,
        carry: ZoneTracker | None = None,
    ) -> None:
        """``carry``: the tracker this one replaces (zones edited): where each object is in
        the zones that still exist carries over, so nobody enters a zone twice."""
        self.zones = zones
        self.frame_size = frame_size
        self.is_enabled = is_enabled
        self._polygons = {name: polygon_to_pixels(z.coordinates, frame_size) for name, z in zones.items()}
        self._state: dict[str, _ObjectZones] = {}
        if carry is not None:
            for object_id, state in carry._state.items():
                self._state[object_id] = _ObjectZones({n: p for n, p in state.zones.items() if n in zones})

    def enabled(self, name: str) -> bool:
        zone = self.zones[name]
        if not zone.enabled:
            return False
        return self.is_enabled(name) if self.is_enabled is not None else True

    def cares_about(self, name: str, label: str) -> bool:
        wanted = self.zones[name].objects
        return not wanted or label in wanted

    def update(self, objects: list[TrackedObject], ts: float) -> None:
        live = set()
        enabled = {name for name in self.zones if self.enabled(name)}
        for obj in objects:
            live.add(obj.id)
            state = self._state.setdefault(obj.id, _ObjectZones())
            for gone in [name for name in obj.current_zones if name not in self.zones]:
                obj.current_zones.remove(gone)  # the zone was removed from the config
            for name, polygon in self._polygons.items():
                presence = state.zones.setdefault(name, _Presence())
                if name not in enabled or not self.cares_about(name, obj.label):
                    if presence.inside:
                        self._leave(obj, name, presence, ts)
                    presence.streak = 0
                    continue
                if obj.lost and presence.inside:  # out of sight: out of the zone since its last sighting
                    self._leave(obj, name, presence, obj.last_seen)
                elif obj.seen_this_frame:
                    self._observe(obj, name, presence, stands_in(obj.box, polygon, self.frame_size[1]), ts)
                if presence.inside and presence.visit_start is not None:  # until last seen, not while unseen
                    obj.zone_dwell[name] = presence.dwell_before + max(0.0, obj.last_seen - presence.visit_start)
            if obj.ended:
                for name, presence in state.zones.items():
                    if presence.inside:
                        self._leave(obj, name, presence, ts)
        for gone in set(self._state) - live:
            del self._state[gone]

    def _observe(self, obj: TrackedObject, name: str, presence: _Presence, inside: bool, ts: float) -> None:
        if inside == presence.inside:
            presence.streak = 0
            return
        if presence.streak == 0:
            presence.streak_start = ts
        presence.streak += 1
        if presence.streak < self.zones[name].inertia:
            return
        presence.streak = 0
        if inside:
            presence.inside = True
            presence.visit_start = presence.streak_start
            if name not in obj.current_zones:
                obj.current_zones.append(name)
            if name not in obj.zones_entered:
                obj.zones_entered.append(name)
            obj.zone_entry_time[name] = presence.streak_start
            obj.zone_dwell[name] = presence.dwell_before + max(0.0, ts - presence.streak_start)
            _LOGGER.debug("%s %s entered zone %s", obj.label, obj.id, name)
        else:
            self._leave(obj, name, presence, presence.streak_start)

    def _leave(self, obj: TrackedObject, name: str, presence: _Presence, ts: float) -> None:
        if presence.visit_start is not None:
            presence.dwell_before += max(0.0, ts - presence.visit_start)
        presence.visit_start = None
        presence.inside = False
        obj.zone_dwell[name] = presence.dwell_before
        if name in obj.current_zones:
            obj.current_zones.remove(name)
        _LOGGER.debug("%s %s left zone %s", obj.label, obj.id, name)

    def counts(self, objects: list[TrackedObject]) -> dict[str, dict[str, int]]:
        """Present objects per enabled zone and label (labels the zone names count from 0)."""
        result: dict[str, dict[str, int]] = {}
        for name, zone in self.zones.items():
            if not self.enabled(name):
                continue
            result[name] = dict.fromkeys(zone.objects, 0)
        for obj in objects:
            if not obj.present:
                continue
            for name in obj.current_zones:
                if name in result:
                    result[name][obj.label] = result[name].get(obj.label, 0) + 1
        return result
