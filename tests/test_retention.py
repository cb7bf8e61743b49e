"""Retention by age and by snapshot size, orphans, and a really full disk (a 2 MB tmpfs)."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from camwatch.config.camera import CameraConfig
from camwatch.const import TOPIC_EVENT
from camwatch.events.engine import EventEngine
from camwatch.events.model import Event, EventMessage
from camwatch.events.retention import DAY, MB, Retention
from camwatch.events.snapshots import SnapshotWriter
from camwatch.events.store import EventStore
from camwatch.track.model import TrackedObject
from tests.conftest import require

NOW = float(int(time.time()) - 3600)  # recent: the background pass uses the clock
BOX = (120.0, 80.0, 400.0, 560.0)


@pytest.fixture(scope="module")
def frame(shared_media: Path) -> np.ndarray:
    image = cv2.imread(str(shared_media / "grace_hopper.bmp"))
    assert image is not None
    return image


@pytest.fixture
def store(tmp_path: Path):
    s = EventStore(tmp_path / "camwatch.db", tmp_path / "snapshots")
    yield s
    s.close()


def add_event(store: EventStore, writer: SnapshotWriter | None, frame, start: float, i: int, **fields) -> Event:
    event = Event(
        id=f"{start:.6f}-{i:08x}", camera="front", label="person", start_time=start, end_time=start + 5, **fields
    )
    if writer is not None:
        assert writer.save(event.id, frame, BOX, "person", 0.9)
        event.has_snapshot, event.snapshot_time = True, start
    store.handle(TOPIC_EVENT, EventMessage("end", event))
    return event


def test_prune_by_age_spares_kept_and_open_events(store: EventStore, tmp_path: Path, frame) -> None:
    writer = SnapshotWriter(tmp_path / "snapshots")
    old = [add_event(store, writer, frame, NOW - 40 * DAY + i, i) for i in range(5)]
    recent = [add_event(store, writer, frame, NOW - 1 * DAY + i, 10 + i) for i in range(3)]
    store.set_keep(old[0].id, True)
    still_open = Event(id=f"{NOW - 35 * DAY:.6f}-open", camera="front", label="car", start_time=NOW - 35 * DAY)
    store.handle(TOPIC_EVENT, EventMessage("new", still_open))

    result = Retention(store, retain_days=30, max_snapshot_mb=100).prune(NOW)
    assert result["expired_events"] == 4 and result["pruned_snapshots"] == 0
    assert result["freed_bytes"] > 4 * 50_000
    remaining = {e.id for e in store.query(limit=100)[0]}
    assert remaining == {old[0].id, still_open.id} | {e.id for e in recent}
    for e in old[1:]:
        assert writer.files(e.id) == []
    assert len(writer.files(old[0].id)) == 3


def test_prune_by_size_oldest_first_kept_last(store: EventStore, tmp_path: Path, frame) -> None:
    writer = SnapshotWriter(tmp_path / "snapshots")
    events = [add_event(store, writer, frame, NOW - 3600 + i * 60, i) for i in range(10)]
    store.set_keep(events[0].id, True)  # the oldest, but kept
    per_event = store.storage_usage()["snapshot_bytes"] / 10
    budget_mb = per_event * 4.5 / MB

    result = Retention(store, retain_days=30, max_snapshot_mb=budget_mb).prune(NOW)
    assert result["expired_events"] == 0 and result["pruned_snapshots"] == 6
    assert result["snapshot_bytes"] <= budget_mb * MB
    with_snapshot = {e.id for e in store.query(limit=100)[0] if e.has_snapshot}
    assert with_snapshot == {events[0].id} | {e.id for e in events[7:]}  # kept + the 3 newest
    assert store.query(limit=100)[1] == 10  # events stay, only their pictures go
    assert writer.files(events[1].id) == []

    # A "disk full" hint with plenty of free space (a write failed for another reason) prunes nothing more.
    result = Retention(store, retain_days=30, max_snapshot_mb=100, min_free_mb=1).prune(NOW, disk_full=True)
    assert result["emergency"] is False and result["pruned_snapshots"] == 0

    # With a budget below even the kept snapshot, kept events lose theirs last.
    result = Retention(store, retain_days=30, max_snapshot_mb=per_event * 0.5 / MB).prune(NOW)
    assert result["pruned_snapshots"] == 4 and store.storage_usage()["snapshot_bytes"] == 0


def test_orphan_and_temp_files_are_removed(store: EventStore, tmp_path: Path, frame) -> None:
    writer = SnapshotWriter(tmp_path / "snapshots")
    known = add_event(store, writer, frame, time.time() - 60, 1)
    assert writer.save("123.000000-orphan", frame, BOX, "person", 0.9)  # its row never made it
    stale_tmp = tmp_path / "snapshots" / ".999.000000-x.jpg.tmp"
    stale_tmp.write_bytes(b"\xff\xd8 half a jpeg")
    foreign = tmp_path / "snapshots" / "README.txt"
    foreign.write_text("not ours")
    old = time.time() - 3600
    for p in (tmp_path / "snapshots").iterdir():
        os.utime(p, (old, old))
    fresh = writer.path("124.000000-justnow")
    assert writer.save("124.000000-justnow", frame, BOX, "person", 0.9)

    result = Retention(store, retain_days=30, max_snapshot_mb=100).prune(time.time())
    assert result["orphan_files"] == 4  # 3 orphan JPEGs + the temp file
    assert writer.files("123.000000-orphan") == [] and not stale_tmp.exists()
    assert foreign.exists() and fresh.exists() and len(writer.files(known.id)) == 3


def _obj(i: int, ts: float) -> TrackedObject:
    return TrackedObject(
        id=f"{ts:.6f}-{i:08x}", camera="front", label="person", box=BOX, score=0.9, first_seen=ts,
        last_seen=ts, frame_size=(512, 600), confirmed=True, seen_this_frame=True, top_score=0.9,
    )  # fmt: skip


def _run_events(engine: EventEngine, store: EventStore, frame, first: int, count: int) -> list[EventMessage]:
    """``count`` objects, each confirmed and ended: the camera loop as the coordinator runs it."""
    news = []
    for i in range(first, first + count):
        ts = NOW + i
        obj = _obj(i, ts)
        for message in engine.update([obj], frame, ts):
            news.append(message)
            store.handle(TOPIC_EVENT, message)
        obj.ended = True
        for message in engine.end([obj], ts + 0.5):
            store.handle(TOPIC_EVENT, message)
    return news


@pytest.fixture
def small_disk(tmp_path: Path):
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount_point)], capture_output=True, text=True
    )
    require(done.returncode == 0, f"a 2 MB tmpfs mount (needs root): {done.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", str(mount_point)], check=False)
        if os.path.ismount(mount_point):
            subprocess.run(["umount", "-l", str(mount_point)], check=False)


def test_full_disk_never_crashes_and_recovers(small_disk: Path, frame) -> None:
    writer = SnapshotWriter(small_disk / "snapshots")
    store = EventStore(small_disk / "camwatch.db", small_disk / "snapshots")
    engine = EventEngine("front", CameraConfig(url="file.mp4"), writer)
    try:
        # 1. Fill the disk: snapshot writes start failing; nothing raises, events keep coming.
        news = _run_events(engine, store, frame, 0, 40)
        assert len(news) == 40
        assert writer.failures > 0 and writer.failing and writer.disk_full
        assert any(m.event.has_snapshot for m in news) and not all(m.event.has_snapshot for m in news)
        assert not list((small_disk / "snapshots").glob(".*.tmp"))  # no half files left behind

        # 2. Prune as the retention thread does when told the disk is full: space comes back,
        #    rows a full database could not take are written, every event is there.
        retention = Retention(store, retain_days=30, max_snapshot_mb=0.5)
        result = retention.prune(NOW + 100, disk_full=True)
        assert result["pruned_snapshots"] > 0 and result["freed_bytes"] > 0
        assert result["pending"] == 0 and store.retry_pending() == 0
        assert result["snapshot_bytes"] <= 0.5 * MB
        assert store.query(limit=100)[1] == 40
        assert all(e.end_time is not None for e in store.query(limit=100)[0])

        # 3. Writes succeed again.
        news = _run_events(engine, store, frame, 100, 2)
        assert all(m.event.has_snapshot for m in news) and not writer.failing and not writer.disk_full

        # 4. Wired as in the service: a failing write triggers the background pass at once,
        #    even with a budget larger than the disk.
        background = Retention(store, retain_days=30, max_snapshot_mb=1000)
        writer.on_full = background.trigger
        background.start(interval=3600)
        try:
            deadline = time.monotonic() + 20
            first = 200
            while time.monotonic() < deadline and not background.last_result.get("pruned_snapshots"):
                _run_events(engine, store, frame, first, 5)
                first += 5
                time.sleep(0.05)
            assert background.last_result.get("pruned_snapshots", 0) > 0
        finally:
            background.stop()
        produced = first - 200 + 42
        store.retry_pending()
        # None lost: every event is written or waits in memory (its `new` may be written and its `end` wait).
        assert len({e.id for e in store.query(limit=1000)[0]} | store.pending_ids()) == produced
        # The loop may have filled the freed space again; the next pass settles it.
        assert background.prune(disk_full=True)["pending"] == 0
        assert store.query(limit=1000)[1] == produced
    finally:
        store.close()


def test_full_database_keeps_events_until_space_returns(small_disk: Path) -> None:
    full_calls: list[int] = []
    store = EventStore(small_disk / "camwatch.db", small_disk / "snapshots", on_full=lambda: full_calls.append(1))
    ballast = small_disk / "ballast"
    try:
        with open(ballast, "wb") as handle, pytest.raises(OSError):
            while True:  # fill every free byte of the disk
                handle.write(b"\0" * 65536)
                handle.flush()
        events = [Event(id=f"{NOW + i:.6f}-{i:08x}", camera="front", label="car", start_time=NOW + i) for i in range(20)]
        for e in events:
            store.handle(TOPIC_EVENT, EventMessage("new", e))  # never raises
        assert store.retry_pending() > 0 and full_calls
        ballast.unlink()
        assert store.retry_pending() == 0
        assert {e.id for e in store.query(limit=100)[0]} == {e.id for e in events}
    finally:
        store.close()
