"""Loitering: an object that stays in a zone longer than the zone's ``loitering_time``.

The zone tracker fills ``TrackedObject.current_zones`` and ``zone_entry_time``; a visit is
one (object, zone, entry time). Each visit raises at most one alert.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

from camwatch.anomaly import explain
from camwatch.config.zones import ZoneConfig
from camwatch.track.model import TrackedObject

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Loitering:
    camera: str
    object_id: str
    label: str
    zone: str
    entered: float
    dwell: float  # seconds in the zone when the alert fired
    ts: float
    box: tuple[float, float, float, float]
    frame_size: tuple[int, int]
    description: str


class LoiteringMonitor:
    """Per camera: ``update`` with the tracker's objects each frame, get new loitering alerts."""

    def __init__(self, zones: dict[str, ZoneConfig], carry: LoiteringMonitor | None = None) -> None:
        """``carry``: the monitor this one replaces (zones edited): a visit it reported stays reported."""
        self._zones = zones
        self._alerted: set[tuple[str, str, float]] = set(carry._alerted) if carry is not None else set()

    def update(self, objects: Iterable[TrackedObject], ts: float) -> list[Loitering]:
        found: list[Loitering] = []
        live: set[tuple[str, str, float]] = set()
        for obj in objects:
            if obj.ended or not obj.confirmed:
                continue
            for zone_name in obj.current_zones:
                zone = self._zones.get(zone_name)
                entered = obj.zone_entry_time.get(zone_name)
                if zone is None or entered is None or not zone.enabled or zone.loitering_time <= 0:
                    continue
                if zone.objects and obj.label not in zone.objects:
                    continue
                visit = (obj.id, zone_name, entered)
                live.add(visit)
                dwell = ts - entered
                if visit in self._alerted or dwell <= zone.loitering_time:
                    continue
                self._alerted.add(visit)
                alert = Loitering(
                    camera=obj.camera,
                    object_id=obj.id,
                    label=obj.label,
                    zone=zone_name,
                    entered=entered,
                    dwell=dwell,
                    ts=ts,
                    box=tuple(obj.box),  # type: ignore[arg-type]
                    frame_size=tuple(obj.frame_size),  # type: ignore[arg-type]
                    description=explain.loitering(obj.label, zone_name, dwell, zone.loitering_time),
                )
                _LOGGER.info("%s: %s", obj.camera, alert.description)
                found.append(alert)
        self._alerted &= live  # forget visits that ended (left the zone or the view)
        return found
