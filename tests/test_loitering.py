"""Loitering with synthetic tracks: one alert per visit, only past the zone's limit."""

from __future__ import annotations

from camwatch.anomaly.events import instant_messages, loitering_event
from camwatch.anomaly.loitering import LoiteringMonitor
from camwatch.config.zones import ZoneConfig
from camwatch.track.model import TrackedObject

SQUARE = [(0.0, 0.0), (1.0, 0.0), (1.0, 1.0)]


def _person(obj_id: str = "p1", label: str = "person") -> TrackedObject:
    return TrackedObject(obj_id, "porch", label, (10, 10, 50, 120), 0.8, 0.0, 0.0, (640, 480), confirmed=True)


def _walk(monitor: LoiteringMonitor, obj: TrackedObject, visits: list[tuple[float, float]], zone: str, until: float):
    """Step 0.5 s at a time; the object is in ``zone`` during each (enter, leave) visit."""
    alerts = []
    ts = 0.0
    while ts <= until:
        inside = next((enter for enter, leave in visits if enter <= ts < leave), None)
        if inside is None:
            obj.current_zones = []
            obj.zone_entry_time.pop(zone, None)
        else:
            obj.current_zones = [zone]
            obj.zone_entry_time[zone] = inside
        obj.last_seen = ts
        alerts.extend(monitor.update([obj], ts))
        ts += 0.5
    return alerts


def test_one_alert_per_visit_after_the_limit() -> None:
    monitor = LoiteringMonitor({"porch": ZoneConfig(coordinates=SQUARE, loitering_time=30)})
    person = _person()
    alerts = _walk(monitor, person, [(5.0, 20.0), (40.0, 100.0), (120.0, 200.0)], "porch", 220.0)
    # Visit 1 is too short; visits 2 and 3 alert once each, just after 30 s in the zone.
    assert [(a.zone, a.entered) for a in alerts] == [("porch", 40.0), ("porch", 120.0)]
    assert all(30.0 < a.dwell <= 31.0 for a in alerts)
    assert alerts[0].description == "Person loitering in porch: 30 s in the zone (limit 30 s)."
    new, end = instant_messages(loitering_event(alerts[0]))
    assert (new.type, end.type) == ("new", "end")
    assert new.event.kind == "anomaly" and new.event.label == "loitering" and new.event.zones_entered == ["porch"]
    assert new.event.end_time is None and end.event.end_time == alerts[0].ts


def test_labels_disabled_zones_and_zero_limits_do_not_alert() -> None:
    zones = {
        "drive": ZoneConfig(coordinates=SQUARE, loitering_time=10, objects=["car"]),
        "off": ZoneConfig(coordinates=SQUARE, loitering_time=10, enabled=False),
        "none": ZoneConfig(coordinates=SQUARE, loitering_time=0),
    }
    monitor = LoiteringMonitor(zones)
    for zone in zones:
        assert _walk(monitor, _person(f"p-{zone}"), [(0.0, 60.0)], zone, 60.0) == []
    car = _walk(monitor, _person("c1", "car"), [(0.0, 60.0)], "drive", 60.0)
    assert len(car) == 1 and car[0].label == "car"


def test_unconfirmed_or_ended_objects_are_ignored_and_two_people_alert_separately() -> None:
    monitor = LoiteringMonitor({"gate": ZoneConfig(coordinates=SQUARE, loitering_time=5)})
    a, b, ghost = _person("a"), _person("b"), _person("ghost")
    ghost.confirmed = False
    for obj in (a, b, ghost):
        obj.current_zones = ["gate"]
        obj.zone_entry_time["gate"] = 0.0
    alerts = []
    for step in range(30):
        alerts += monitor.update([a, b, ghost], step * 0.5)
    assert sorted(x.object_id for x in alerts) == ["a", "b"]
