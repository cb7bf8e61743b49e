"""The disk space of the event store: what it takes, and the steps retention frees it by.

A part of :class:`camwatch.events.store.EventStore` (see :mod:`camwatch.events.retention`
for the order of the steps): snapshot files go before their index rows, so space is freed
even when the database itself cannot be written.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
import time
from pathlib import Path

from camwatch.events.model import EventMessage
from camwatch.events.snapshots import SnapshotWriter, event_id_of

_LOGGER = logging.getLogger(__name__)


class StoreSpace:
    """The space methods of the event store (a base of ``EventStore``, which sets these)."""

    db_path: Path
    snapshot_dir: Path
    files: SnapshotWriter
    _conn: sqlite3.Connection
    _lock: threading.RLock
    _pending: dict[str, EventMessage]

    def storage_usage(self) -> dict[str, int]:
        """db_bytes (with WAL), snapshot_bytes and snapshot_files (from the index), events, kept."""
        db_bytes = 0
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(OSError):
                db_bytes += Path(f"{self.db_path}{suffix}").stat().st_size
        with self._lock:
            snap = self._conn.execute(
                "SELECT COALESCE(SUM(bytes), 0), COUNT(*) FROM snapshots"
            ).fetchone()
            ev = self._conn.execute(
                "SELECT COUNT(*), COALESCE(SUM(keep), 0) FROM events"
            ).fetchone()
        return {
            "db_bytes": db_bytes,
            "snapshot_bytes": int(snap[0]),
            "snapshot_files": int(snap[1]),
            "events": int(ev[0]),
            "kept": int(ev[1]),
        }

    def expired_event_ids(self, before: float, limit: int = 500) -> list[str]:
        """Ended, not kept events that started before ``before``, oldest first."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT id FROM events WHERE start_time<? AND keep=0 AND end_time IS NOT NULL "
                "ORDER BY start_time LIMIT ?",
                (before, limit),
            ).fetchall()
        return [r[0] for r in rows]

    def snapshot_candidates(self, limit: int = 200) -> list[tuple[str, int, bool]]:
        """(event id, snapshot bytes, keep) of events with snapshots: not kept first, then oldest first."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT e.id, SUM(s.bytes), e.keep FROM events e JOIN snapshots s ON s.event_id=e.id "
                "GROUP BY e.id ORDER BY e.keep, e.start_time LIMIT ?",
                (limit,),
            ).fetchall()
        return [(r[0], int(r[1]), bool(r[2])) for r in rows]

    def drop_snapshots(self, event_id: str) -> int:
        """Remove an event's snapshot files but keep the event; returns the bytes freed."""
        freed = self.files.delete(event_id)  # files first: frees space even when the db is full
        try:
            with self._lock, self._conn:
                self._conn.execute("DELETE FROM snapshots WHERE event_id=?", (event_id,))
                self._conn.execute("UPDATE events SET has_snapshot=0 WHERE id=?", (event_id,))
        except sqlite3.Error as exc:
            _LOGGER.warning("cannot update snapshot index for %s: %s", event_id, exc)
        return freed

    def remove_orphan_files(
        self, min_age: float = 300.0, now: float | None = None
    ) -> tuple[int, int]:
        """Delete snapshot files (and stale temp files) of events the database does not know.

        Only files older than ``min_age`` seconds, so a snapshot saved just before its
        ``new`` message reaches the store is left alone. Returns (files, bytes).
        """
        now = time.time() if now is None else now
        removed = freed = 0
        try:
            entries = list(self.snapshot_dir.iterdir())
        except OSError:
            return 0, 0
        with self._lock:
            known = {r[0] for r in self._conn.execute("SELECT id FROM events").fetchall()}
        for path in entries:
            event_id = event_id_of(path.name)
            stale_tmp = path.name.startswith(".") and path.name.endswith(".tmp")
            if not stale_tmp and (
                event_id is None or event_id in known or event_id in self._pending
            ):
                continue
            try:
                st = path.stat()
                if now - st.st_mtime < min_age:
                    continue
                path.unlink()
            except OSError:
                continue
            removed += 1
            freed += st.st_size
        return removed, freed

    def checkpoint(self) -> bool:
        """Copy the WAL into the database and truncate it (frees its space); False if it failed."""
        try:
            with self._lock:
                busy = self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
            return busy == 0
        except sqlite3.Error as exc:
            _LOGGER.warning("WAL checkpoint failed: %s", exc)
            return False
