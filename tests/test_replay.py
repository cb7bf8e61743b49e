"""`camwatch replay` runs real clips through the whole pipeline (motion, detector, tracker, events).

Expected counts were made by eye from a contact sheet of the clip (one frame every 3 s):
one-by-one-person-detection.mp4 shows six people, one at a time:
  1. a woman in a grey cardigan   ~  5 s – 20 s
  2. a man in black               ~ 23 s – 44 s
  3. a woman with long fair hair  ~ 50 s – 70 s
  4. a man in black               ~ 75 s – 87 s
  5. a woman in a grey top        ~ 92 s – 120 s
  6. a man in a grey shirt        ~124 s – 137 s

Each distinct replay runs once (tests/support/replays.py): the tests of one clip with the
same settings read the same run, so the file stays on one worker.
"""

from __future__ import annotations

import cv2
import pytest

from tests.conftest import DARK_PEOPLE_CLIPS, LIGHT_CLIPS, MEDIA, ONE_BY_ONE_VISITS
from tests.support.replays import replay

pytestmark = pytest.mark.one_worker  # the replays are shared by the tests of this file

PEOPLE = ONE_BY_ONE_VISITS


def object_events(messages: list, label: str = "person") -> list[dict]:
    ends = [m["event"] for m in messages if m["type"] == "end" and m["event"]["kind"] == "object"]
    return [e for e in ends if e["label"] == label]


@pytest.fixture(scope="module")
def one_by_one(tmp_path_factory, ssd_model, shared_media):
    data = tmp_path_factory.mktemp("replay-data")
    messages, summary = replay(MEDIA / "one-by-one-person-detection.mp4", data_dir=data)
    return messages, summary, data


def test_one_person_event_per_visitor(one_by_one, detector):
    messages, summary, data = one_by_one
    events = object_events(messages)
    base = summary["start_time"]
    spans = sorted((e["start_time"] - base, e["end_time"] - base) for e in events)
    assert len(spans) == len(PEOPLE), spans
    for (start, end), (exp_start, exp_end) in zip(spans, PEOPLE, strict=True):
        assert exp_start - 3 <= start <= exp_start + 6, spans
        assert exp_end - 6 <= end <= exp_end + 6, spans
    assert not [e for e in object_events(messages, "car")]


def test_each_event_snapshot_contains_a_person(one_by_one, detector):
    messages, summary, data = one_by_one
    for event in object_events(messages):
        assert event["has_snapshot"], event["id"]
        clean = cv2.imread(str(data / "snapshots" / f"{event['id']}-clean.jpg"))
        assert clean is not None
        assert any(d.label == "person" for d in detector.detect(clean, 0.5)), event["id"]
        assert (data / "snapshots" / f"{event['id']}-thumb.jpg").is_file()


def test_events_are_in_the_store(one_by_one):
    from camwatch.events.store import EventStore

    messages, summary, data = one_by_one
    store = EventStore(data / "camwatch.db", data / "snapshots")
    try:
        stored, total = store.query(label="person", kind="object")
        assert total == len(object_events(messages))
        assert all(e.end_time is not None for e in stored)
    finally:
        store.close()


def test_updates_are_significant_changes_only(one_by_one):
    messages, summary, _ = one_by_one
    updates = [m for m in messages if m["type"] == "update"]
    # a few better snapshots per visit, never one per frame
    assert len(updates) <= 8 * len(object_events(messages))
    assert summary["frames_processed"] == 697


def test_motion_gating_spends_few_detector_calls(one_by_one):
    """Whole-frame detection of every sampled frame would make one call per frame."""
    _, summary, _ = one_by_one
    assert summary["detector_calls"] <= 0.35 * summary["frames_processed"], summary


@pytest.mark.parametrize("clip", ["walking-by.h264", "lightout-after-movement.h264"])
def test_one_person_walking(clip, ssd_model, shared_media):
    """walking-by: the man crosses right to left (~6.5-8 s), is out of view ~3 s, and walks
    back (~11-12.3 s): one visit, one event (re-identified by appearance on return)."""
    messages, _ = replay(MEDIA / clip)
    assert len(object_events(messages)) == 1, [e["start_time"] for e in object_events(messages)]


def test_returning_person_keeps_one_event_even_with_a_lower_threshold(tmp_path, ssd_model, shared_media):
    """With a 0.6 person threshold both passes of walking-by are confirmed; they stay one event."""
    config = tmp_path / "c.yml"
    config.write_text(
        "cameras:\n  hall:\n    url: x.h264\n    objects:\n      filters:\n        person:\n"
        "          threshold: 0.6\n"
    )
    messages, _ = replay(MEDIA / "walking-by.h264", config=config)
    events = object_events(messages)
    assert len(events) == 1
    assert events[0]["end_time"] - events[0]["start_time"] > 4  # spans both passes


@pytest.mark.parametrize("clip", sorted(DARK_PEOPLE_CLIPS))
def test_people_in_the_dark_give_one_person_event(clip, ssd_model, shared_media):
    """dark-stand's people (mean luma 2-4) are found since very dim views are brightened for
    the detector; lightout-after-movement's person walks up through a lit doorway."""
    messages, summary = replay(MEDIA / clip)
    start, end = DARK_PEOPLE_CLIPS[clip]
    base = summary["start_time"]
    spans = [(e["start_time"] - base, e["end_time"] - base) for e in object_events(messages)]
    assert len(spans) == 1, spans
    assert start - 1 <= spans[0][0] <= end and spans[0][1] <= end + 6, spans


@pytest.mark.parametrize("clip", LIGHT_CLIPS)
def test_light_changes_raise_no_events(clip, ssd_model, shared_media):
    messages, summary = replay(MEDIA / clip)
    assert [m for m in messages if m["type"] == "new" and m["event"]["kind"] == "object"] == []
    tamper = [m for m in messages if m["type"] == "new" and m["event"]["kind"] == "anomaly"
              and m["event"]["subtype"] != "view_dark"]
    assert tamper == []
    assert summary["detector_calls"] <= 0.25 * summary["frames_processed"], summary


@pytest.mark.parametrize("clip", [*LIGHT_CLIPS, *DARK_PEOPLE_CLIPS])
def test_light_changes_raise_no_tamper_event(clip, ssd_model, shared_media):
    """Untampered light changes, with or without people (tamper detection:
    tests/test_replay_anomaly.py): ``view_dark`` is a low-severity notice, nothing else."""
    messages, summary = replay(MEDIA / clip)
    assert summary["frames_processed"] > 40
    anomalies = [m["event"] for m in messages if m["type"] == "new" and m["event"]["kind"] == "anomaly"]
    assert [e["description"] for e in anomalies if e["subtype"] != "view_dark"] == []
    assert all(e["severity"] == "low" for e in anomalies)


def test_zone_entry_exit_and_dwell(tmp_path, ssd_model, shared_media):
    """A zone on the floor at the table: each visitor walks in from the right, stands at the
    table (x ~0.55-0.65 of the frame) for 10-25 s and walks out to the right (x > 0.75).
    With inertia 1 the walk out is seen as an exit before the person leaves the view."""
    config = tmp_path / "config.yml"
    config.write_text(
        "cameras:\n  room:\n    url: unused.mp4\n    zones:\n      table:\n"
        "        coordinates: [[0.45, 0.75], [0.75, 0.75], [0.75, 1.0], [0.45, 1.0]]\n"
        "        objects: [person]\n        inertia: 1\n"
    )
    messages, summary = replay(MEDIA / "one-by-one-person-detection.mp4", config=config, data_dir=tmp_path / "d")
    events = object_events(messages)
    assert len(events) == len(PEOPLE)
    in_zone = [e for e in events if "table" in e["zones_entered"]]
    assert len(in_zone) >= len(PEOPLE) - 1, [e["zones_entered"] for e in events]
    live = [m["event"] for m in messages if m["type"] in ("new", "update") and m["event"]["kind"] == "object"]
    exits = 0
    for event in in_zone:
        seen = [e["current_zones"] for e in live if e["id"] == event["id"]]
        assert ["table"] in seen, event["id"]  # the entry was announced while the person was there
        exits += seen[-1] == [] and ["table"] in seen  # ... and so was a walk out before the end
        dwell = event["attributes"]["zone_dwell"]["table"]
        # at the table for most of the visit, never longer than the person was seen
        assert 5 < dwell <= event["end_time"] - event["start_time"] + 0.01, (dwell, event)
    assert exits >= 2, exits
    assert not any("zone_dwell" in e["attributes"] for e in events if e not in in_zone)
