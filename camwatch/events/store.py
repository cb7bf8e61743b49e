"""The durable event store: SQLite (WAL) with events, the snapshot index and camera state.

The bus thread writes (``handle``), web threads read; one connection guarded by a lock.
Each message is one transaction, so a ``kill -9`` leaves either the old or the new row,
never half of one; at startup ``close_open_events`` ends what a crash left open.

A write that fails (a full disk: SQLITE_FULL) loses nothing: the message is kept in
memory (latest state per event) and written again with the next message or after
retention freed space (``retry_pending``); ``on_full`` is called so retention runs at once.

Tables::

    events(id PK, camera, label, kind, start_time, end_time, end_reason, last_seen, ...every
           Event field; lists and attributes as JSON text; booleans as 0/1)
    snapshots(event_id, kind, bytes, mtime)   -- which snapshot files exist, and their size
    camera_state(camera PK, state JSON, updated)
    event_story(event_id, time, what, detail, score)  -- the moments of each event, as they arrived

Each message's moments (entered a zone, face seen, …) are found by comparing it with the
row it replaces, in the same transaction (:mod:`camwatch.events.story`). ``review`` reads
them and keeps what the owner has seen (:mod:`camwatch.events.review`).

This module is the write path; reading events back (:mod:`camwatch.events.store_queries`) and
the disk space retention frees (:mod:`camwatch.events.store_space`) are the store's bases.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from camwatch.const import TOPIC_EVENT
from camwatch.datafiles import DataFileError, data_file_error, open_database
from camwatch.events.model import Event, EventMessage
from camwatch.events.review import EventReview, add_moments
from camwatch.events.snapshots import SNAPSHOT_KINDS, SnapshotWriter, is_valid_event_id
from camwatch.events.store_queries import EventQueries
from camwatch.events.store_schema import SCHEMA, add_new_columns, from_row, migrate, to_row
from camwatch.events.store_space import StoreSpace
from camwatch.events.story import ENDED, Moment, moments

_LOGGER = logging.getLogger(__name__)

MAX_PENDING = 10000  # events kept in memory while the database cannot be written
_SQLITE_FULL = 13


class StoreError(DataFileError):
    """The database cannot be opened or used (corrupt file, wrong permissions...)."""


def _is_full(exc: sqlite3.Error) -> bool:
    return getattr(exc, "sqlite_errorcode", None) == _SQLITE_FULL or "full" in str(exc).lower()


class EventStore(EventQueries, StoreSpace):
    def __init__(
        self, db_path: Path, snapshot_dir: Path, on_full: Callable[[], None] | None = None
    ) -> None:
        self.db_path = Path(db_path)
        self.snapshot_dir = Path(snapshot_dir)
        self.files = SnapshotWriter(self.snapshot_dir)
        self.on_full = on_full
        self._lock = threading.RLock()
        self._pending: dict[str, EventMessage] = {}
        self._deleted: dict[str, None] = {}  # ids deleted while possibly still open (bounded)
        self._failing = False
        try:
            self._conn = open_database(self.db_path, "the event database", check_same_thread=False, timeout=10.0)
            self._conn.row_factory = sqlite3.Row
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            # A small WAL: checkpoint every ~400 KB and shrink the file back to 1 MB at most.
            self._conn.execute("PRAGMA wal_autocheckpoint=100")
            self._conn.execute("PRAGMA journal_size_limit=1048576")
            self._conn.execute("PRAGMA foreign_keys=ON")
            self._conn.executescript(SCHEMA)
            with self._conn:
                migrate(self._conn, time.time())
                add_new_columns(self._conn)
        except DataFileError as exc:
            raise StoreError(str(exc), self.db_path) from None
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(str(data_file_error(self.db_path, exc, "the event database")), self.db_path) from None
        self.review = EventReview(self._conn, self._lock)

    # ------------------------------------------------------------------ writing
    def handle(self, topic: str, payload: Any) -> None:
        """Bus handler: upserts the event of each ``event`` message (new / update / end)."""
        if topic != TOPIC_EVENT or not isinstance(payload, EventMessage):
            return
        with self._lock:
            if payload.event.id in self._deleted:
                return
            self._pending.pop(payload.event.id, None)
            self._pending[payload.event.id] = payload
            if len(self._pending) > MAX_PENDING:
                lost = next(iter(self._pending))
                del self._pending[lost]
                _LOGGER.error("event database unwritable for too long: dropping event %s", lost)
            self._flush_pending()

    def pending_ids(self) -> set[str]:
        """Events with a message kept in memory, not yet written (a full disk)."""
        with self._lock:
            return set(self._pending)

    def retry_pending(self) -> int:
        """Write messages a failed write kept in memory; returns how many are still pending."""
        with self._lock:
            self._flush_pending()
            return len(self._pending)

    def _flush_pending(self) -> None:
        while self._pending:
            event_id, message = next(iter(self._pending.items()))
            try:
                with self._conn:
                    self._write(message)
            except sqlite3.Error as exc:
                self._write_failed(exc, len(self._pending))
                return
            del self._pending[event_id]
        if self._failing:
            self._failing = False
            _LOGGER.info("event database writes work again")

    def _write_failed(self, exc: sqlite3.Error, pending: int) -> None:
        if not self._failing:
            self._failing = True
            _LOGGER.error(
                "cannot write to the event database (%d event(s) kept in memory): %s", pending, exc
            )
        if _is_full(exc) and self.on_full is not None:
            try:
                self.on_full()
            except Exception:
                _LOGGER.exception("store on_full callback failed")

    def _write(self, message: EventMessage) -> None:
        """The event's row and the moments since the row it replaces (one transaction)."""
        event = message.event
        before = self._conn.execute("SELECT * FROM events WHERE id=?", (event.id,)).fetchone()
        self._upsert(event)
        add_moments(self._conn, event.id, moments(from_row(before) if before else None, message.type, event))

    def _upsert(self, event: Event) -> None:
        row = to_row(event)
        sizes = self._stat_snapshots(event) if (event.has_snapshot or event.has_face) else {}
        row["has_snapshot"] = int(bool(event.has_snapshot) and "annotated" in sizes)
        row["keep"] = 0
        columns = ", ".join(row)
        marks = ", ".join(f":{c}" for c in row)
        special = {"id", "keep", "start_time", "end_time", "end_reason"}
        updates = ", ".join(f"{c}=excluded.{c}" for c in row if c not in special)
        self._conn.execute(
            f"INSERT INTO events ({columns}) VALUES ({marks}) ON CONFLICT(id) DO UPDATE SET {updates}, "
            "start_time=MIN(events.start_time, excluded.start_time), "
            "end_time=COALESCE(excluded.end_time, events.end_time), "
            "end_reason=COALESCE(excluded.end_reason, events.end_reason)",
            row,
        )
        if sizes or event.has_snapshot or event.has_face:
            self._conn.execute("DELETE FROM snapshots WHERE event_id=?", (event.id,))
            self._conn.executemany(
                "INSERT INTO snapshots (event_id, kind, bytes, mtime) VALUES (?, ?, ?, ?)",
                [(event.id, kind, size, mtime) for kind, (size, mtime) in sizes.items()],
            )

    def _stat_snapshots(self, event: Event) -> dict[str, tuple[int, float]]:
        sizes: dict[str, tuple[int, float]] = {}
        for kind in SNAPSHOT_KINDS:
            try:
                st = self.files.path(event.id, kind).stat()
            except (OSError, ValueError):
                continue
            sizes[kind] = (st.st_size, st.st_mtime)
        return sizes

    def delete(self, event_id: str) -> bool:
        """Delete an event and its snapshot files; False when it does not exist."""
        if not is_valid_event_id(event_id):
            return False
        with self._lock:
            pending = self._pending.pop(event_id, None) is not None
            self.files.delete(event_id)  # files first: frees space even when the database is full
            try:
                with self._conn:
                    found = (
                        self._conn.execute("DELETE FROM events WHERE id=?", (event_id,)).rowcount
                        > 0
                    )
            except sqlite3.Error as exc:
                _LOGGER.error("cannot delete event %s: %s", event_id, exc)
                return False
            if found or pending:
                self._deleted[event_id] = None
                while len(self._deleted) > 1000:
                    del self._deleted[next(iter(self._deleted))]
        return found or pending

    def set_keep(self, event_id: str, keep: bool) -> bool:
        """Mark an event as kept (exempt from retention) or not; False when it does not exist."""
        with self._lock, self._conn:
            cur = self._conn.execute(
                "UPDATE events SET keep=? WHERE id=?", (int(bool(keep)), event_id)
            )
            return cur.rowcount > 0

    def close_open_events(self, reason: str, ts: float) -> int:
        """End events a crash left open, at their last known time (never after ``ts``)."""
        return len(self.end_open_events(reason, ts))

    def end_open_events(self, reason: str, ts: float) -> list[Event]:
        """Like ``close_open_events``, returning the ended events (oldest first) so their
        ``end`` can be published; each carries the next ``seq`` after its last stored message."""
        with self._lock, self._conn:
            ids = [r[0] for r in self._conn.execute(
                "SELECT id FROM events WHERE end_time IS NULL ORDER BY start_time, id").fetchall()]
            if not ids:
                return []
            self._conn.execute(
                "UPDATE events SET end_time=MIN(MAX(start_time, COALESCE(last_seen, start_time), "
                "COALESCE(snapshot_time, start_time)), ?), end_reason=?, current_zones='[]', "
                "seq=COALESCE(seq, 0) + 1 WHERE end_time IS NULL",
                (ts, reason),
            )
            marks = ",".join("?" * len(ids))
            rows = self._conn.execute(f"SELECT * FROM events WHERE id IN ({marks})", ids).fetchall()
            for row in rows:
                add_moments(self._conn, row["id"], [Moment(row["end_time"], ENDED, reason)])
        by_id = {row["id"]: from_row(row) for row in rows}
        _LOGGER.info("closed %d event(s) left open (%s)", len(ids), reason)
        return [by_id[i] for i in ids if i in by_id]

    def save_camera_state(self, camera: str, state: dict[str, Any]) -> None:
        try:
            with self._lock, self._conn:
                self._conn.execute(
                    "INSERT INTO camera_state (camera, state, updated) VALUES (?, ?, ?) "
                    "ON CONFLICT(camera) DO UPDATE SET state=excluded.state, updated=excluded.updated",
                    (camera, json.dumps(state), time.time()),
                )
        except sqlite3.Error as exc:
            _LOGGER.warning("cannot save state of camera %s: %s", camera, exc)

    def load_camera_state(self, camera: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT state FROM camera_state WHERE camera=?", (camera,)
            ).fetchone()
        return json.loads(row["state"]) if row else None

    def close(self) -> None:
        with self._lock:
            self._flush_pending()
            if self._pending:
                _LOGGER.error(
                    "closing the event database with %d unsaved event(s)", len(self._pending)
                )
            with contextlib.suppress(sqlite3.Error):
                self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            self._conn.close()
