"""Anomalies through the whole pipeline (issue 7), with `camwatch replay --json`.

Tampering: real footage (one-by-one-person-detection.mp4) is tampered with by
``camwatch.anomaly.simulate`` from 6 s on and written to a 10 fps MJPG AVI; the replay must
raise an anomaly event of the right subtype within persistence + 2 s of the tampering
being complete, and never before it began. Untampered light-change clips raise no tamper
event (``view_dark`` is a low-severity notice and allowed): tests/test_replay.py, on the
replays of those clips that its other tests read too.

Loitering: in one-by-one-person-detection.mp4 six visitors come one at a time and stand
at the table for about 12-28 s each (contact sheet: 5-20, 23-44, 50-70, 75-87, 92-120,
124-137 s), so a zone over the floor at the table with ``loitering_time: 8`` gives one
loitering event per visit, and a copy of the zone with ``loitering_time: 35`` gives none.

Unusual activity: a data dir whose activity baseline learned four weeks of daytime-only
person events; the one person walking through walking-by.h264 at 03:12 on a Tuesday is
unusual, the same walk at a busy 14:00 is not.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import cv2
import pytest

from camwatch.anomaly.simulate import EXPECTED_STATE, Scenario, sample_clip
from camwatch.config.anomaly import TamperConfig
from tests.conftest import MEDIA, ONE_BY_ONE_VISITS
from tests.support.replays import START, run_replay

TAMPER_SOURCE = "one-by-one-person-detection.mp4"
TAMPER_START = 6.0
TAMPER_RAMP = 1.5
CLIP_FPS = 10.0
VISITS = ONE_BY_ONE_VISITS


def replay(clip: Path, *extra: str, start: str = START) -> tuple[list[dict], dict]:
    return run_replay(clip, *extra, start=start).messages()


def new_anomalies(messages: list[dict], subtype: str | None = None) -> list[dict]:
    return [m["event"] for m in messages
            if m["type"] == "new" and m["event"]["kind"] == "anomaly"
            and (subtype is None or m["event"]["subtype"] == subtype)]


def write_tampered(kind: str, path: Path) -> Scenario:
    """A real clip with ``kind`` tampering from TAMPER_START, long enough for the alert plus 4 s."""
    scenario = Scenario(kind, TAMPER_START, 0.0 if kind == "freeze" else TAMPER_RAMP)
    persistence = getattr(TamperConfig().persistence, EXPECTED_STATE[kind])
    frames = scenario.apply(sample_clip(MEDIA / TAMPER_SOURCE, CLIP_FPS, max_seconds=scenario.complete + persistence + 4))
    writer = None
    try:
        for _, frame in frames:
            if writer is None:
                h, w = frame.shape[:2]
                writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), CLIP_FPS, (w, h))
                assert writer.isOpened(), f"cannot write {path}"
            writer.write(frame)
    finally:
        if writer is not None:
            writer.release()
    return scenario


# ------------------------------------------------------------------ tampering
@pytest.mark.parametrize("kind", ["cover_skin", "blur", "shift", "rotate", "freeze"])
def test_tampering_raises_its_anomaly_in_time(kind, tmp_path, ssd_model, shared_media):
    clip = tmp_path / f"{kind}.avi"
    scenario = write_tampered(kind, clip)
    expected = EXPECTED_STATE[kind]
    persistence = getattr(TamperConfig().persistence, expected)
    data = tmp_path / "data"
    messages, summary = replay(clip, "--data-dir", str(data))
    tamper = [e for e in new_anomalies(messages) if e["subtype"] != "view_dark"]
    assert tamper, f"{kind}: no anomaly event; events {summary['events']}"
    first = tamper[0]
    assert first["subtype"] == expected, f"{kind} reported as {first['subtype']}: {first['description']}"
    assert {e["subtype"] for e in tamper} == {expected}, [e["subtype"] for e in tamper]
    delay = first["start_time"] - summary["start_time"]
    assert scenario.start < delay <= scenario.complete + persistence + 2.0, (kind, delay)
    assert first["severity"] in {"medium", "high"}
    assert first["description"].endswith(".") and len(first["description"]) > 20
    # the event carries the tampered view and reached the store
    assert first["has_snapshot"], first
    assert (data / "snapshots" / f"{first['id']}-clean.jpg").is_file()
    ended = [m["event"] for m in messages if m["type"] == "end" and m["event"]["id"] == first["id"]]
    assert len(ended) == 1 and ended[0]["end_time"] >= first["start_time"]


# ------------------------------------------------------------------ loitering
def test_loitering_once_per_long_visit(tmp_path, ssd_model, shared_media):
    table = "[[0.35, 0.55], [0.8, 0.55], [0.8, 1.0], [0.35, 1.0]]"  # the floor at the table
    config = tmp_path / "config.yml"
    config.write_text(
        "cameras:\n  room:\n    url: unused.mp4\n    zones:\n"
        f"      table:\n        coordinates: {table}\n        objects: [person]\n        loitering_time: 8\n"
        f"      table_long:\n        coordinates: {table}\n        objects: [person]\n        loitering_time: 35\n"
    )
    messages, summary = replay(MEDIA / TAMPER_SOURCE, "--config", str(config), "--data-dir", str(tmp_path / "d"))
    base = summary["start_time"]
    people = {m["event"]["id"]: m["event"] for m in messages
              if m["type"] == "end" and m["event"]["kind"] == "object" and m["event"]["label"] == "person"}
    loitering = new_anomalies(messages, "loitering")
    assert len(people) == len(VISITS)
    assert len(loitering) == len(VISITS), [(e["start_time"] - base, e["zones_entered"]) for e in loitering]
    assert all(e["zones_entered"] == ["table"] for e in loitering)  # nobody stays 35 s
    owners = [e["attributes"]["object_id"] for e in loitering]
    assert len(set(owners)) == len(owners)  # one per visit
    for event in loitering:
        person = people[event["attributes"]["object_id"]]
        dwell = event["attributes"]["dwell"]
        assert 8 < dwell <= 9.5, event
        assert person["start_time"] <= event["attributes"]["entered"] < event["start_time"] <= person["end_time"]
        assert abs(event["start_time"] - event["attributes"]["entered"] - dwell) < 0.01
        assert "table" in event["description"] and event["description"].endswith(".")
    for (lo, hi), event in zip(VISITS, sorted(loitering, key=lambda e: e["start_time"]), strict=True):
        assert lo + 8 <= event["start_time"] - base <= hi, (lo, hi, event["start_time"] - base)


# ------------------------------------------------------------ unusual activity
def seeded_data_dir(path: Path, camera: str, first_frame: datetime) -> Path:
    """Four weeks of daytime-only person events (08:00-19:00, 3 an hour) before ``first_frame``."""
    from camwatch.anomaly.activity import ActivityBaseline
    from camwatch.config.anomaly import UnusualActivityConfig

    config = UnusualActivityConfig()
    days = int(config.min_learning_days) * 4
    midnight = first_frame.replace(hour=0, minute=0, second=0, microsecond=0)
    events = [
        (camera, "person", (midnight - timedelta(days=d, hours=-h, minutes=-m)).timestamp())
        for d in range(1, days + 1) for h in range(8, 19) for m in (5, 25, 45)
    ]
    assert max(ts for _, _, ts in events) < first_frame.timestamp()  # the clock only goes forward
    path.mkdir(parents=True)
    baseline = ActivityBaseline(path / "activity.db", config)
    try:
        assert baseline.seed(events) == len(events)
        assert baseline.learning_days(camera, first_frame.timestamp()) > config.min_learning_days
    finally:
        baseline.close()
    return path


@pytest.mark.parametrize(
    ("start", "unusual"),
    [("2026-01-06T03:12:00", True), ("2026-01-06T14:00:00", False)],  # Tuesday night, Tuesday afternoon
)
def test_unusual_activity_at_night_only(start, unusual, tmp_path, ssd_model, shared_media):
    data = seeded_data_dir(tmp_path / "data", "replay", datetime.fromisoformat(start))
    messages, summary = replay(MEDIA / "walking-by.h264", "--data-dir", str(data), start=start)
    people = [m["event"] for m in messages if m["type"] == "new" and m["event"]["label"] == "person"]
    assert len(people) == 1  # the walk is seen either way
    found = new_anomalies(messages, "unusual_activity")
    if not unusual:
        assert found == []
        return
    assert len(found) == 1, found
    event = found[0]
    description = event["description"]
    when = datetime.fromtimestamp(people[0]["start_time"])
    assert f"{when:%H:%M}" in description and "Tuesday" in description and "person" in description
    assert description.endswith(".") and description.count(". ") == 0  # one sentence
    assert event["attributes"]["event_id"] == people[0]["id"]
    assert event["attributes"]["rate_per_hour"] < 0.05
