"""Event engine and best snapshots on real frames (tracked objects are built directly)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from camwatch.config.camera import CameraConfig
from camwatch.events.engine import EventEngine, snapshot_quality, touches_edge
from camwatch.events.snapshots import SnapshotWriter, event_id_of, snapshot_path
from camwatch.ids import new_event_id
from camwatch.track.model import TrackedObject

INSIDE = (120.0, 80.0, 400.0, 560.0)  # Grace Hopper, clear of the 512x600 frame's borders
SMALLER = (180.0, 150.0, 340.0, 450.0)


@pytest.fixture(scope="module")
def frame(shared_media: Path) -> np.ndarray:
    image = cv2.imread(str(shared_media / "grace_hopper.bmp"))
    assert image is not None and image.shape[:2] == (600, 512)
    return image


def make_obj(box=INSIDE, score=0.8, ts=100.0, confirmed=True, obj_id=None, **extra) -> TrackedObject:
    obj = TrackedObject(
        id=obj_id or new_event_id(ts),
        camera="front",
        label="person",
        box=box,
        score=score,
        first_seen=ts,
        last_seen=ts,
        frame_size=(512, 600),
        confirmed=confirmed,
        seen_this_frame=True,
        top_score=score,
        **extra,
    )
    return obj


def seen(obj: TrackedObject, ts: float, box=None, score=None) -> TrackedObject:
    obj.last_seen = ts
    obj.seen_this_frame = True
    if box is not None:
        obj.box = box
    if score is not None:
        obj.score = score
        obj.top_score = max(obj.top_score, score)
    return obj


def engine_for(tmp_path: Path, **camera) -> tuple[EventEngine, SnapshotWriter]:
    config = CameraConfig(url="file.mp4", **camera)
    writer = SnapshotWriter(tmp_path / "snapshots")
    return EventEngine("front", config, writer), writer


def test_new_update_end_without_per_frame_updates(tmp_path: Path, frame: np.ndarray) -> None:
    engine, writer = engine_for(tmp_path)
    obj = make_obj(confirmed=False, score=0.75)
    assert engine.update([obj], frame, 100.0) == []  # not confirmed yet: no event
    obj.confirmed = True
    first = engine.update([seen(obj, 100.2)], frame, 100.2)
    assert [m.type for m in first] == ["new"]
    event = first[0].event
    assert event.id == obj.id and event.camera == "front" and event.label == "person"
    assert event.has_snapshot and writer.path(obj.id).is_file()
    assert writer.path(obj.id, "clean").is_file() and writer.path(obj.id, "thumb").is_file()

    # 30 frames, small jitter and lower scores: nothing significant changes.
    for i in range(30):
        ts = 100.4 + i * 0.2
        box = (INSIDE[0] + i % 3, INSIDE[1], INSIDE[2] + i % 3, INSIDE[3])
        assert engine.update([seen(obj, ts, box, 0.7)], frame, ts) == [], f"per-frame update at {i}"

    obj.current_zones, obj.zones_entered = ["porch"], ["porch"]
    msgs = engine.update([seen(obj, 107.0)], frame, 107.0)
    assert [m.type for m in msgs] == ["update"]
    assert msgs[0].event.zones_entered == ["porch"] and msgs[0].event.current_zones == ["porch"]
    assert engine.update([seen(obj, 107.2)], frame, 107.2) == []

    obj.stationary = True
    msgs = engine.update([seen(obj, 107.4)], frame, 107.4)
    assert [m.type for m in msgs] == ["update"] and msgs[0].event.stationary

    obj.current_zones = []
    msgs = engine.update([seen(obj, 107.6)], frame, 107.6)
    assert [m.type for m in msgs] == ["update"]
    assert msgs[0].event.current_zones == [] and msgs[0].event.zones_entered == ["porch"]

    obj.ended = True
    ended = engine.end([obj], 110.0)
    assert [m.type for m in ended] == ["end"]
    assert ended[0].event.end_time == pytest.approx(107.6) and ended[0].event.end_reason == "gone"
    assert engine.end([obj], 111.0) == []  # already ended
    assert engine.end([make_obj()], 111.0) == []  # never had a `new`
    assert engine.active_events() == []


def test_messages_are_private_copies(tmp_path: Path, frame: np.ndarray) -> None:
    engine, _ = engine_for(tmp_path)
    obj = make_obj()
    new = engine.update([obj], frame, 100.0)[0]
    obj.zones_entered, obj.current_zones = ["yard"], ["yard"]
    engine.update([seen(obj, 101.0)], frame, 101.0)
    assert new.event.zones_entered == [] and new.event.end_time is None


def test_better_snapshot_replaces_rate_limited(tmp_path: Path, frame: np.ndarray) -> None:
    engine, writer = engine_for(tmp_path)
    obj = make_obj(box=SMALLER, score=0.6)
    new = engine.update([obj], frame, 100.0)[0]
    path = writer.path(obj.id)
    first_bytes = path.read_bytes()
    assert new.event.snapshot_time == 100.0

    # Better, but within 1 s of the last save: rate-limited.
    assert engine.update([seen(obj, 100.5, INSIDE, 0.9)], frame, 100.5) == []
    assert path.read_bytes() == first_bytes

    msgs = engine.update([seen(obj, 101.2, INSIDE, 0.9)], frame, 101.2)
    assert [m.type for m in msgs] == ["update"]
    assert msgs[0].event.snapshot_time == 101.2
    assert msgs[0].event.attributes["snapshot_score"] == pytest.approx(0.9)
    assert path.read_bytes() != first_bytes  # the annotated box and label changed

    # Worse candidates later never replace it.
    for ts in (103.0, 105.0, 107.0):
        assert engine.update([seen(obj, ts, SMALLER, 0.65)], frame, ts) == []
    assert engine.active_events()[0].snapshot_time == 101.2


def test_edge_cut_penalty(tmp_path: Path, frame: np.ndarray) -> None:
    cut = (0.0, 80.0, 280.0, 560.0)  # same size as INSIDE, touching the left border
    assert touches_edge(cut, (512, 600)) and not touches_edge(INSIDE, (512, 600))
    assert snapshot_quality(0.8, cut, (512, 600)) < snapshot_quality(0.7, INSIDE, (512, 600))

    engine, _ = engine_for(tmp_path)
    obj = make_obj(box=INSIDE, score=0.7)
    engine.update([obj], frame, 100.0)
    assert engine.update([seen(obj, 102.0, cut, 0.85)], frame, 102.0) == []  # higher score, but cut
    assert engine.active_events()[0].snapshot_time == 100.0

    # The reverse: a cut first snapshot is replaced by a whole view with a lower score.
    other = make_obj(box=cut, score=0.85, obj_id="200.000000-cafe0001")
    engine.update([other], frame, 200.0)
    msgs = engine.update([seen(other, 202.0, INSIDE, 0.72)], frame, 202.0)
    assert [m.type for m in msgs] == ["update"] and msgs[0].event.snapshot_time == 202.0


def test_snapshot_files_are_real_jpegs(tmp_path: Path, frame: np.ndarray) -> None:
    writer = SnapshotWriter(tmp_path / "snaps", quality=80, thumb_height=120)
    zones = [("porch", [(10, 10), (200, 10), (200, 200)])]
    assert writer.save("100.000000-abcd", frame, INSIDE, "person", 0.87, zones)
    clean = cv2.imread(str(writer.path("100.000000-abcd", "clean")))
    annotated = cv2.imread(str(writer.path("100.000000-abcd", "annotated")))
    thumb = cv2.imread(str(writer.path("100.000000-abcd", "thumb")))
    assert clean.shape == annotated.shape == frame.shape
    assert thumb.shape[0] == 120 and thumb.shape[1] < frame.shape[1]
    # Box drawn: the annotated frame differs from the clean one along the box edge.
    x1, y1, _, y2 = (int(v) for v in INSIDE)
    diff = np.abs(clean.astype(int) - annotated.astype(int)).sum(axis=2)
    assert diff[y1 + 20 : y2 - 20, x1 - 1 : x1 + 2].mean() > 40
    assert diff[300:400, 250:300].mean() < 10  # the inside is untouched
    assert not list((tmp_path / "snaps").glob(".*.tmp"))
    assert event_id_of("100.000000-abcd-thumb.jpg") == "100.000000-abcd"
    with pytest.raises(ValueError):
        snapshot_path(tmp_path, "../etc/passwd")
    assert not writer.save("../escape", frame, INSIDE, "person", 0.9)
    assert writer.delete("100.000000-abcd") > 0 and writer.files("100.000000-abcd") == []


def test_snapshot_switches(tmp_path: Path, frame: np.ndarray) -> None:
    engine, writer = engine_for(tmp_path, snapshots={"enabled": False})
    obj = make_obj()
    new = engine.update([obj], frame, 100.0)[0]
    assert not new.event.has_snapshot and writer.files(obj.id) == []

    switch = {"on": False}
    config = CameraConfig(url="file.mp4")
    engine = EventEngine("front", config, writer, snapshots_enabled=lambda: switch["on"])
    obj = make_obj(obj_id="300.000000-beef0001")
    assert not engine.update([obj], frame, 300.0)[0].event.has_snapshot
    assert engine.update([seen(obj, 301.0)], frame, 301.0) == []
    switch["on"] = True
    msgs = engine.update([seen(obj, 302.0)], frame, 302.0)
    assert [m.type for m in msgs] == ["update"] and msgs[0].event.has_snapshot


def test_faces_and_end_all(tmp_path: Path, frame: np.ndarray) -> None:
    engine, writer = engine_for(tmp_path)
    a, b = make_obj(obj_id="1.000000-aaaa0001"), make_obj(obj_id="1.000000-bbbb0002", box=SMALLER)
    assert [m.type for m in engine.update([a, b], frame, 1.0)] == ["new", "new"]
    crop = frame[100:250, 180:320]
    msgs = engine.set_face(a.id, 0.9, crop, sub_label="unknown", sub_label_score=0.0)
    assert msgs[0].event.has_face and msgs[0].event.sub_label == "unknown"
    assert writer.path(a.id, "face").is_file()
    assert engine.set_face(a.id, 0.8, crop, sub_label="unknown") == []  # not better, same name
    assert engine.set_face("nope", 0.9) == []
    ended = engine.end_all(5.0, "shutdown")
    assert sorted(m.event.id for m in ended) == sorted([a.id, b.id])
    assert all(m.type == "end" and m.event.end_reason == "shutdown" for m in ended)
    assert engine.end_all(6.0) == []
