"""The event store keeps each event's story as its messages arrive, knows what the owner has
seen, and upgrades a database written by the previous camwatch (schema version 1)."""

from __future__ import annotations

import copy
import sqlite3
from pathlib import Path

import cv2
import pytest

from camwatch.events.model import Event, EventMessage
from camwatch.events.retention import Retention
from camwatch.events.snapshots import SnapshotWriter
from camwatch.events.store import EventStore
from camwatch.events.story import (
    APPEARED,
    CONFIRMED,
    ENDED,
    ENTERED,
    FACE,
    LEFT_ZONE,
    MOVED,
    NAMED,
    PICTURE,
    STOOD_STILL,
    tell,
)
from tests.conftest import MEDIA

T0 = 1_760_000_000.0


@pytest.fixture
def store(tmp_path: Path, shared_media: Path):
    s = EventStore(tmp_path / "camwatch.db", tmp_path / "snapshots")
    yield s
    s.close()


def _send(store: EventStore, kind: str, event: Event) -> None:
    store.handle("event", EventMessage(kind, copy.deepcopy(event)))


def _visit(store: EventStore, start: float = T0) -> Event:
    """A person's messages as the engine sends them: confirmed 0.4 s after first seen, in
    the porch, still, a face, recognised, out of the porch, gone."""
    event = Event(id=f"{start:.6f}-00aa11bb", camera="front_door", label="person", start_time=start, score=0.71,
                  top_score=0.71, last_seen=start + 0.4)
    _send(store, "new", event)
    event.last_seen, event.current_zones, event.zones_entered = start + 2.0, ["porch"], ["porch"]
    _send(store, "update", event)
    event.last_seen, event.stationary = start + 6.0, True
    _send(store, "update", event)
    event.last_seen, event.has_face, event.face_score = start + 6.5, True, 0.93
    photo = cv2.imread(str(MEDIA / "kite_and_cold.jpg"))
    assert SnapshotWriter(store.snapshot_dir).save(event.id, photo, (10, 10, 200, 300), "person", 0.88)
    event.has_snapshot, event.snapshot_time, event.attributes = True, start + 6.5, {"snapshot_score": 0.88}
    _send(store, "update", event)
    event.last_seen, event.sub_label, event.sub_label_score = start + 7.0, "Grace", 0.91
    _send(store, "update", event)
    event.last_seen, event.stationary, event.current_zones = start + 9.0, False, []
    _send(store, "update", event)
    event.end_time, event.end_reason = start + 11.0, "gone"
    _send(store, "end", event)
    return event


def test_the_story_of_a_visit(store: EventStore) -> None:
    event = _visit(store)
    story = store.review.story(store.get(event.id))
    assert [(m.what, m.time, m.detail) for m in story] == [
        (APPEARED, T0, "person"),
        (CONFIRMED, T0 + 0.4, "person"),
        (ENTERED, T0 + 2.0, "porch"),
        (STOOD_STILL, T0 + 6.0, None),
        (FACE, T0 + 6.5, None),
        (PICTURE, T0 + 6.5, None),
        (NAMED, T0 + 7.0, "Grace"),
        (LEFT_ZONE, T0 + 9.0, "porch"),
        (MOVED, T0 + 9.0, None),
        (ENDED, T0 + 11.0, "gone"),
    ]
    words = [tell(m, "person") for m in story]
    assert words == ["A person appeared", "Confirmed as a person (71% sure)", "Entered porch", "Stood still",
                     "Face seen (93% sure)", "Best picture taken", "Recognised as Grace (91% sure)", "Left porch",
                     "Moved again", "Left the picture"]


def test_an_update_that_changes_nothing_adds_no_moment(store: EventStore) -> None:
    event = Event(id=f"{T0:.6f}-00cc", camera="front", label="car", start_time=T0, last_seen=T0 + 1)
    _send(store, "new", event)
    event.score, event.last_seen = 0.9, T0 + 3
    _send(store, "update", event)
    assert [m.what for m in store.review.story(event)] == [APPEARED, CONFIRMED]


def test_an_anomaly_and_a_crash(store: EventStore, tmp_path: Path) -> None:
    tamper = Event(id=f"{T0:.6f}-0dd0", camera="front", label="tamper", kind="anomaly", subtype="covered",
                   description="the view is covered", start_time=T0, last_seen=T0)
    _send(store, "new", tamper)
    person = Event(id=f"{T0 + 5:.6f}-0ee0", camera="front", label="person", start_time=T0 + 5, last_seen=T0 + 6)
    _send(store, "new", person)
    store.close()
    reopened = EventStore(tmp_path / "camwatch.db", tmp_path / "snapshots")  # the crash left both open
    ended = reopened.end_open_events("camwatch restarted", T0 + 100)
    for event in ended:  # camwatch then publishes their `end`: the store hears it once more
        reopened.handle("event", EventMessage("end", event))
    told = [tell(m, tamper.label) for m in reopened.review.story(reopened.get(tamper.id))]
    assert told == ["The view is covered", "Ended: camwatch restarted"]
    assert [m.what for m in reopened.review.story(reopened.get(person.id))] == [APPEARED, CONFIRMED, ENDED]
    reopened.close()


def test_an_event_stored_whole_is_told_from_its_fields(store: EventStore) -> None:
    event = Event(id=f"{T0:.6f}-0ff0", camera="front", label="person", start_time=T0, end_time=T0 + 8,
                  end_reason="gone", zones_entered=["drive"], has_face=True, sub_label="unknown")
    _send(store, "end", event)
    story = store.review.story(store.get(event.id))
    assert [(m.what, m.time) for m in story] == [(APPEARED, T0), (ENTERED, None), (FACE, None), (NAMED, None),
                                                  (ENDED, T0 + 8)]
    assert tell(story[3], "person") == "Face not recognised"


def test_seen_unseen_and_mark_all(store: EventStore) -> None:
    first = _visit(store, T0)
    second = _visit(store, T0 + 60)
    third = _visit(store, T0 + 120)
    assert store.review.unseen_count() == 3
    assert store.review.mark_seen(second.id) and not store.review.mark_seen("1.0-nosuchevent")
    assert store.review.unseen_among([first.id, second.id, third.id]) == {first.id, third.id}
    _send(store, "update", second)  # a later message of a seen event keeps it seen
    assert store.review.unseen_count() == 2
    assert store.review.mark_all_seen(until=T0 + 60) == 1  # what the page showed, not what came after
    assert store.review.unseen_among([first.id, third.id]) == {third.id}
    assert store.review.mark_unseen(first.id)
    assert store.review.mark_all_seen() == 2 and store.review.unseen_count() == 0


def test_deleted_and_expired_events_take_their_story(store: EventStore) -> None:
    old = _visit(store, T0)
    kept = _visit(store, T0 + 1)
    store.set_keep(kept.id, True)
    Retention(store, retain_days=1, max_snapshot_mb=100).prune(now=T0 + 5 * 86400)
    assert store.get(old.id) is None and store.get(kept.id) is not None
    with sqlite3.connect(store.db_path) as conn:
        left = {r[0] for r in conn.execute("SELECT DISTINCT event_id FROM event_story")}
    assert left == {kept.id}


def _version_1_database(path: Path) -> None:
    """The database as camwatch wrote it before version 2: no seen_at, no event_story."""
    with sqlite3.connect(path) as conn:
        conn.execute("DROP INDEX events_unseen")
        conn.execute("ALTER TABLE events DROP COLUMN seen_at")
        conn.execute("DROP TABLE event_story")
        conn.execute("PRAGMA user_version=1")


def test_a_version_1_database_is_upgraded(tmp_path: Path, shared_media: Path) -> None:
    db = tmp_path / "camwatch.db"
    store = EventStore(db, tmp_path / "snapshots")
    old = _visit(store, T0)
    store.close()
    _version_1_database(db)
    with sqlite3.connect(db) as conn:
        assert "seen_at" not in {r[1] for r in conn.execute("PRAGMA table_info(events)")}

    store = EventStore(db, tmp_path / "snapshots")
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 2
    assert store.get(old.id) is not None
    assert store.review.unseen_count() == 0  # what was there before the upgrade counts as seen
    assert [m.what for m in store.review.story(store.get(old.id))][0] == APPEARED  # told from its fields
    new = _visit(store, T0 + 60)
    assert store.review.unseen_among([old.id, new.id]) == {new.id}
    assert [m.what for m in store.review.story(store.get(new.id))][:2] == [APPEARED, CONFIRMED]
    store.close()

