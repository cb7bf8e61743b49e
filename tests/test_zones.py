"""Zones: entry after inertia, exit, dwell time, labels, relative coordinates, counts."""

from __future__ import annotations

import pytest

from camwatch.config.zones import ZoneConfig
from camwatch.track.model import TrackedObject
from camwatch.track.zones import ZoneTracker

FRAME = (1000, 500)
# A square in the middle of the frame: x 400..600, y 200..400.
SQUARE = [(400, 200), (600, 200), (600, 400), (400, 400)]


def _obj(label: str = "person", oid: str = "a") -> TrackedObject:
    return TrackedObject(
        id=oid, camera="cam", label=label, box=(0, 0, 1, 1), score=0.9, first_seen=0.0, last_seen=0.0,
        frame_size=FRAME, confirmed=True,
    )


def _at(obj: TrackedObject, x: float, y: float, ts: float) -> TrackedObject:
    """Place the object's bottom centre at (x, y)."""
    obj.box = (x - 20, y - 80, x + 20, y)
    obj.last_seen = ts
    obj.seen_this_frame = True
    return obj


def test_entry_after_inertia_exit_and_dwell():
    tracker = ZoneTracker({"yard": ZoneConfig(coordinates=SQUARE, inertia=3)}, FRAME)
    obj = _obj()
    path = [(300, 300)] * 2 + [(500, 300)] * 10 + [(700, 300)] * 5  # outside, inside, outside
    history = []
    for i, (x, y) in enumerate(path):
        ts = i * 0.5
        tracker.update([_at(obj, x, y, ts)], ts)
        history.append(list(obj.current_zones))
    # First inside sample is i=2; entry is counted on the 3rd consecutive one (i=4).
    assert [bool(z) for z in history[:6]] == [False, False, False, False, True, True]
    assert obj.zones_entered == ["yard"]
    assert obj.zone_entry_time["yard"] == pytest.approx(1.0)
    assert history[11] == ["yard"]
    # First outside sample is i=12; exit on i=14, dwell is from 1.0 s to 6.0 s.
    assert history[13] == ["yard"] and history[14] == []
    assert obj.zone_dwell["yard"] == pytest.approx(5.0)
    assert obj.zones_entered == ["yard"]


def test_jitter_across_the_edge_does_not_flap():
    tracker = ZoneTracker({"yard": ZoneConfig(coordinates=SQUARE, inertia=3)}, FRAME)
    obj = _obj()
    for i in range(20):
        x = 595 if i % 2 else 605  # alternates in and out every sample
        tracker.update([_at(obj, x, 300, float(i))], float(i))
        assert obj.current_zones == []


def test_presence_uses_the_bottom_centre():
    tracker = ZoneTracker({"yard": ZoneConfig(coordinates=SQUARE, inertia=1)}, FRAME)
    obj = _obj()
    obj.box = (450, 100, 550, 190)  # box top inside the polygon's x range, bottom above it
    obj.seen_this_frame = True
    tracker.update([obj], 0.0)
    assert obj.current_zones == []
    obj.box = (450, 150, 550, 250)  # feet inside
    tracker.update([obj], 1.0)
    assert obj.current_zones == ["yard"]


def test_relative_coordinates_and_labels():
    relative = [(x / FRAME[0], y / FRAME[1]) for x, y in SQUARE]
    zones = {
        "drive": ZoneConfig(coordinates=relative, objects=["car"], inertia=1),
        "all": ZoneConfig(coordinates=relative, inertia=1),
    }
    tracker = ZoneTracker(zones, FRAME)
    person, car = _obj("person", "p"), _obj("car", "c")
    tracker.update([_at(person, 500, 300, 0.0), _at(car, 480, 350, 0.0)], 0.0)
    assert person.current_zones == ["all"]
    assert sorted(car.current_zones) == ["all", "drive"]
    counts = tracker.counts([person, car])
    assert counts == {"drive": {"car": 1}, "all": {"person": 1, "car": 1}}


def test_disabled_zone_is_ignored_and_unconfirmed_objects_are_not_counted():
    switch = {"yard": True}
    zones = {"yard": ZoneConfig(coordinates=SQUARE, inertia=1), "off": ZoneConfig(coordinates=SQUARE, enabled=False)}
    tracker = ZoneTracker(zones, FRAME, is_enabled=lambda name: switch.get(name, True))
    obj, maybe = _obj(oid="a"), _obj(oid="b")
    maybe.confirmed = False
    tracker.update([_at(obj, 500, 300, 0.0), _at(maybe, 510, 300, 0.0)], 0.0)
    assert obj.current_zones == ["yard"]
    assert tracker.counts([obj, maybe]) == {"yard": {"person": 1}}
    switch["yard"] = False
    tracker.update([_at(obj, 500, 300, 1.0)], 1.0)
    assert obj.current_zones == []
    assert tracker.counts([obj]) == {}


def test_a_zone_needs_three_points():
    with pytest.raises(ValueError, match="at least 3 points"):
        ZoneConfig(coordinates=[(0, 0), (1, 1)])


def _seen(obj: TrackedObject, box: tuple[float, float, float, float], ts: float) -> TrackedObject:
    obj.box, obj.last_seen, obj.seen_this_frame = box, ts, True
    return obj


def test_a_person_cut_off_by_the_bottom_edge_counts_where_they_visibly_stand():
    """A zone drawn to 0.995 of the frame height, a person whose feet are below the picture:
    their box's bottom edge is the frame's (outside the zone), yet they stand in it."""
    floor = [(400, 300), (600, 300), (600, 497.5), (400, 497.5)]
    tracker = ZoneTracker({"porch": ZoneConfig(coordinates=floor, inertia=1)}, FRAME)
    cut = _seen(_obj(oid="cut"), (440, 250, 560, 500), 0.0)
    beside = _seen(_obj(oid="beside"), (640, 250, 760, 500), 0.0)  # cut too, standing right of the zone
    whole = _seen(_obj(oid="whole"), (470, 250, 530, 450), 0.0)  # feet in view, inside
    tracker.update([cut, beside, whole], 0.0)
    assert (cut.current_zones, beside.current_zones, whole.current_zones) == (["porch"], [], ["porch"])
    assert tracker.counts([cut, beside, whole]) == {"porch": {"person": 2}}


def test_a_cut_box_counts_where_its_lower_part_is_not_anywhere_it_overlaps():
    wall = [(400, 0), (600, 0), (600, 300), (400, 300)]  # above the floor the person stands on
    tracker = ZoneTracker({"window": ZoneConfig(coordinates=wall, inertia=1)}, FRAME)
    head_in_it = _seen(_obj(), (440, 150, 560, 500), 0.0)  # the box overlaps the zone, the feet do not
    tracker.update([head_in_it], 0.0)
    assert head_in_it.current_zones == []
    # a whole box keeps the bottom-centre rule: feet at y=290, inside
    tracker.update([_seen(head_in_it, (440, 90, 560, 290), 1.0)], 1.0)
    assert head_in_it.current_zones == ["window"]


def test_an_object_out_of_sight_leaves_its_zones_at_its_last_sighting():
    tracker = ZoneTracker({"yard": ZoneConfig(coordinates=SQUARE, inertia=1)}, FRAME)
    obj = _obj()
    for ts in (0.0, 1.0, 2.0):
        tracker.update([_at(obj, 500, 300, ts)], ts)
    assert obj.current_zones == ["yard"] and tracker.counts([obj]) == {"yard": {"person": 1}}
    obj.seen_this_frame, obj.lost = False, True  # the tracker lost it (looked twice, not there)
    tracker.update([obj], 3.5)
    assert obj.current_zones == [] and obj.zones_entered == ["yard"]
    assert obj.zone_dwell["yard"] == pytest.approx(2.0)  # entered at 0, last seen at 2
    assert tracker.counts([obj]) == {"yard": {}}
