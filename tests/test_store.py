"""The SQLite event store: round trip, filters, deletion, crash consistency (kill -9)."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import cv2
import pytest

from camwatch.const import TOPIC_EVENT
from camwatch.events.bus import EventBus
from camwatch.events.model import Event, EventMessage
from camwatch.events.snapshots import SnapshotWriter
from camwatch.events.store import EventStore

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def store(tmp_path: Path):
    s = EventStore(tmp_path / "camwatch.db", tmp_path / "snapshots")
    yield s
    s.close()


def full_event() -> Event:
    return Event(
        id="1700000000.123456-deadbeef",
        camera="front",
        label="person",
        start_time=1700000000.123456,
        kind="anomaly",
        score=0.81,
        top_score=0.93,
        box=[10.5, 20.0, 110.0, 220.25],
        frame_size=[1280, 720],
        zones_entered=["porch", "drive"],
        current_zones=["drive"],
        end_time=1700000042.5,
        end_reason="gone",
        stationary=True,
        has_snapshot=False,
        snapshot_time=1700000001.0,
        sub_label="alice",
        sub_label_score=0.77,
        has_face=True,
        face_score=0.88,
        subtype="loitering",
        severity="warning",
        description="person in drive for 120 s",
        alerted=False,
        keep=False,
        attributes={"dwell": {"drive": 120.0}, "note": "ü"},
        last_seen=1700000040.0,
    )


def test_round_trip_every_field(store: EventStore) -> None:
    event = full_event()
    store.handle(TOPIC_EVENT, EventMessage("end", event))
    assert store.get(event.id) == event
    assert store.get("nope") is None
    store.handle("stats", {"not": "an event"})  # other topics are ignored


def test_upsert_semantics(store: EventStore) -> None:
    event = Event(id="10.000000-aa", camera="front", label="car", start_time=10.0, last_seen=10.0)
    store.handle(TOPIC_EVENT, EventMessage("new", event))
    assert store.set_keep(event.id, True)
    event.zones_entered = ["drive"]
    store.handle(TOPIC_EVENT, EventMessage("update", event))
    got = store.get(event.id)
    assert got.keep and got.zones_entered == ["drive"]  # updates never reset `keep`
    event.end_time, event.end_reason = 20.0, "gone"
    store.handle(TOPIC_EVENT, EventMessage("end", event))
    late = Event(id=event.id, camera="front", label="car", start_time=10.0)
    store.handle(TOPIC_EVENT, EventMessage("update", late))  # a late update does not reopen it
    assert store.get(event.id).end_time == 20.0
    assert store.set_keep("missing", True) is False
    # has_snapshot is only true when the file is really there.
    event.has_snapshot = True
    store.handle(TOPIC_EVENT, EventMessage("update", event))
    assert store.get(event.id).has_snapshot is False


def _seed(store: EventStore) -> list[Event]:
    events = []
    for i in range(30):
        e = Event(
            id=f"{1000 + i * 10:.6f}-{i:08x}",
            camera=("front", "back", "garage")[i % 3],
            label=("person", "car")[i % 2],
            start_time=1000.0 + i * 10,
            end_time=1005.0 + i * 10,
            zones_entered=["porch"] if i % 4 == 0 else [],
            has_face=i % 5 == 0,
            sub_label="bob" if i % 10 == 0 else None,
        )
        if i >= 27:
            e.kind, e.subtype, e.label = "anomaly", ("tamper", "loitering", "tamper")[i - 27], "camera"
        store.handle(TOPIC_EVENT, EventMessage("end", e))
        events.append(e)
    return events


def test_filters_and_pagination(store: EventStore) -> None:
    events = _seed(store)
    page1, total = store.query(limit=10)
    page2, _ = store.query(limit=10, offset=10)
    page4, _ = store.query(limit=10, offset=30)
    assert total == 30 and len(page1) == 10 and page4 == []
    assert [e.start_time for e in page1] == sorted((e.start_time for e in events), reverse=True)[:10]
    assert not {e.id for e in page1} & {e.id for e in page2}
    asc, _ = store.query(order="asc", limit=3)
    assert [e.id for e in asc] == [e.id for e in events[:3]]

    def ids(**filters) -> set[str]:
        found, total = store.query(limit=1000, **filters)
        assert total == len(found)
        return {e.id for e in found}

    def expect(pred) -> set[str]:
        return {e.id for e in events if pred(e)}

    assert ids(camera="front") == expect(lambda e: e.camera == "front")
    assert ids(camera=["front", "back"], label="car") == expect(
        lambda e: e.camera in ("front", "back") and e.label == "car"
    )
    assert ids(zone="porch") == expect(lambda e: "porch" in e.zones_entered)
    assert ids(after=1100, before=1200) == expect(lambda e: 1100 <= e.start_time < 1200)
    assert ids(has_face=True) == expect(lambda e: e.has_face)
    assert ids(has_face=False) == expect(lambda e: not e.has_face)
    assert ids(sub_label="bob") == expect(lambda e: e.sub_label == "bob")
    assert ids(kind="anomaly", subtype="tamper") == expect(lambda e: e.subtype == "tamper")
    assert ids(camera="front", zone="porch", has_face=True) == expect(
        lambda e: e.camera == "front" and "porch" in e.zones_entered and e.has_face
    )
    store.set_keep(events[3].id, True)
    assert ids(keep=True) == {events[3].id}
    assert store.distinct("camera") == ["back", "front", "garage"]
    assert store.distinct("label") == ["camera", "car", "person"]
    assert store.distinct("zones") == ["porch"]
    assert store.distinct("subtype") == ["loitering", "tamper"]
    with pytest.raises(ValueError):
        store.distinct("id; DROP TABLE events")
    with pytest.raises(ValueError):
        store.query(order="sideways")


def test_counts_by_hour_and_usage(store: EventStore) -> None:
    base = time.mktime((2024, 1, 1, 9, 30, 0, 0, 0, -1))  # Monday 09:30 local time
    for i, offset in enumerate((0, 60, 3600, 86400 + 3600 * 5)):
        e = Event(id=f"{base + offset:.6f}-{i:08x}", camera="front", label="person", start_time=base + offset)
        store.handle(TOPIC_EVENT, EventMessage("new", e))
    counts = store.counts_by_hour("front", "person", since=base - 1)
    assert len(counts) == 168 and sum(counts) == 4
    assert counts[9] == 2 and counts[10] == 1 and counts[24 + 14] == 1
    assert sum(store.counts_by_hour("front", "car", since=0)) == 0
    usage = store.storage_usage()
    assert usage["events"] == 4 and usage["snapshot_bytes"] == 0 and usage["db_bytes"] > 0


def test_delete_removes_snapshot_files(store: EventStore, tmp_path: Path, shared_media: Path) -> None:
    frame = cv2.imread(str(shared_media / "grace_hopper.bmp"))
    writer = SnapshotWriter(tmp_path / "snapshots")
    event = Event(id="50.000000-feed", camera="front", label="person", start_time=50.0)
    assert writer.save(event.id, frame, (100, 100, 400, 500), "person", 0.9)
    assert writer.save_face(event.id, frame[100:200, 200:300])
    event.has_snapshot, event.has_face, event.snapshot_time = True, True, 50.0
    store.handle(TOPIC_EVENT, EventMessage("new", event))
    usage = store.storage_usage()
    on_disk = sum(p.stat().st_size for p in writer.files(event.id))
    assert usage["snapshot_files"] == 4 and usage["snapshot_bytes"] == on_disk
    assert store.get(event.id).has_snapshot

    assert store.delete(event.id) is True
    assert writer.files(event.id) == [] and store.get(event.id) is None
    assert store.storage_usage()["snapshot_bytes"] == 0
    assert store.delete(event.id) is False
    store.handle(TOPIC_EVENT, EventMessage("update", event))  # still open in the engine: stays deleted
    assert store.get(event.id) is None
    assert store.delete("../../etc/passwd") is False


def test_camera_state(store: EventStore, tmp_path: Path) -> None:
    assert store.load_camera_state("front") is None
    store.save_camera_state("front", {"online": True, "reconnects": 3})
    store.save_camera_state("front", {"online": False, "reconnects": 4})
    store.close()
    reopened = EventStore(tmp_path / "camwatch.db", tmp_path / "snapshots")
    try:
        assert reopened.load_camera_state("front") == {"online": False, "reconnects": 4}
    finally:
        reopened.close()


def test_bus_writes_while_web_threads_read(store: EventStore) -> None:
    bus = EventBus()
    bus.subscribe("store", store.handle, {TOPIC_EVENT})
    errors: list[BaseException] = []
    stop = threading.Event()

    def reader() -> None:
        try:
            while not stop.is_set():
                store.query(camera="front", limit=20)
                store.storage_usage()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=reader) for _ in range(3)]
    for t in threads:
        t.start()
    for i in range(300):
        e = Event(id=f"{i:.6f}-{i:08x}", camera="front", label="person", start_time=float(i))
        bus.publish(TOPIC_EVENT, EventMessage("new", e))
    assert bus.flush(30)
    stop.set()
    for t in threads:
        t.join(10)
    bus.close()
    assert not errors
    assert store.query(limit=1)[1] == 300


_WRITER = """
import sys, time
from pathlib import Path
from camwatch.events.model import Event, EventMessage
from camwatch.events.store import EventStore
store = EventStore(Path(sys.argv[1]), Path(sys.argv[2]))
i = 0
while True:
    e = Event(id=f"{1000 + i:.6f}-{i:08x}", camera="front", label="person", start_time=1000.0 + i,
              last_seen=1000.0 + i)
    store.handle("event", EventMessage("new", e))
    for k in range(3):
        e.last_seen = 1000.0 + i + k + 1
        e.zones_entered = [f"z{k}"]
        store.handle("event", EventMessage("update", e))
    if i % 2 == 0:
        e.end_time, e.end_reason = e.last_seen, "gone"
        store.handle("event", EventMessage("end", e))
    print(i, flush=True)
    i += 1
"""


def test_kill_9_leaves_a_consistent_database(tmp_path: Path) -> None:
    db, snaps = tmp_path / "camwatch.db", tmp_path / "snapshots"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(db), str(snaps)], stdout=subprocess.PIPE, text=True, env=env
    )
    committed = -1
    try:
        deadline = time.monotonic() + 60
        while committed < 150 and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            committed = int(line)
        assert committed >= 150, "writer did not get going"
        proc.send_signal(signal.SIGKILL)  # mid-stream: it keeps writing until the signal lands
    finally:
        proc.kill()
        proc.wait(10)
        proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL

    with sqlite3.connect(db) as raw:
        assert raw.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    store = EventStore(db, snaps)
    try:
        rows, total = store.query(limit=1000, order="asc")
        assert total >= committed + 1  # every message acknowledged before the kill is there
        assert [e.start_time for e in rows[: committed + 1]] == [1000.0 + i for i in range(committed + 1)]
        open_before = store.query(limit=1000)[0]
        open_ids = {e.id for e in open_before if e.end_time is None}
        assert len(open_ids) >= committed // 2
        now = time.time()
        assert store.close_open_events("restart", now) == len(open_ids)
        for event_id in open_ids:
            closed = store.get(event_id)
            assert closed.end_reason == "restart"
            assert closed.end_time == closed.last_seen  # closed at the last time it was seen
        assert all(e.end_time is not None for e in store.query(limit=1000)[0])
        assert store.close_open_events("restart", now) == 0
    finally:
        store.close()


def test_old_database_gets_new_columns(tmp_path: Path) -> None:
    db = tmp_path / "camwatch.db"
    EventStore(db, tmp_path / "snapshots").close()
    with sqlite3.connect(db) as raw:  # a database from before Event.last_seen existed
        raw.execute("ALTER TABLE events DROP COLUMN last_seen")
    store = EventStore(db, tmp_path / "snapshots")
    try:
        event = full_event()
        store.handle(TOPIC_EVENT, EventMessage("end", event))
        assert store.get(event.id) == event
        assert store.snapshot_path(event.id) is None and store.snapshot_path("../x") is None
    finally:
        store.close()


def test_unreadable_database_is_a_clear_error(tmp_path: Path) -> None:
    from camwatch.events.store import StoreError

    db = tmp_path / "camwatch.db"
    db.write_bytes(b"this is not a database, just text " * 100)
    with pytest.raises(StoreError, match="cannot open the event database"):
        EventStore(db, tmp_path / "snapshots")
    assert db.read_bytes().startswith(b"this is not a database")  # left as it was


def test_events_closed_at_start_come_back_for_publishing_with_the_next_seq(store: EventStore) -> None:
    from camwatch.events.sequence import EventSequence

    sequence = EventSequence()
    event = Event(id="1700000100.000000-0badcafe", camera="front", label="person", start_time=1700000100.0,
                  last_seen=1700000100.0)  # fmt: skip
    for kind, seen in (("new", 1700000100.0), ("update", 1700000104.0), ("update", 1700000109.5)):
        event.last_seen = seen
        message = EventMessage(kind, Event.from_dict(event.to_dict()))
        sequence.stamp(message)
        store.handle(TOPIC_EVENT, message)
    assert store.get(event.id).seq == 2
    ended = store.end_open_events("camwatch restarted", 1700000500.0)
    assert [(e.id, e.seq, e.end_time, e.end_reason) for e in ended] == [
        (event.id, 3, 1700000109.5, "camwatch restarted")
    ]
    assert store.get(event.id).end_time == 1700000109.5
    assert store.end_open_events("camwatch restarted", 1700000600.0) == []


def test_event_sequence_numbers_each_events_messages() -> None:
    from camwatch.events.sequence import EventSequence

    sequence = EventSequence()
    a = Event(id="a", camera="front", label="person", start_time=1.0)
    b = Event(id="b", camera="front", label="car", start_time=2.0)
    stamped = []
    for kind, event in (("new", a), ("new", b), ("update", a), ("update", a), ("end", b), ("end", a)):
        message = EventMessage(kind, Event.from_dict(event.to_dict()))
        sequence.stamp(message)
        stamped.append((message.event.id, kind, message.event.seq))
    assert stamped == [("a", "new", 0), ("b", "new", 0), ("a", "update", 1), ("a", "update", 2),
                       ("b", "end", 1), ("a", "end", 3)]  # fmt: skip
