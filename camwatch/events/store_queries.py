"""Reading events back from the event store: one by id, a filtered page, the values of a
filter menu, counts by hour of the week, an event's snapshot file.

A part of :class:`camwatch.events.store.EventStore`, kept apart from the write path: it only
reads, through the store's one connection and under its lock.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from camwatch.events.model import Event
from camwatch.events.snapshots import SnapshotWriter
from camwatch.events.store_schema import from_row, where_clause

_DISTINCT = {
    "camera": "camera",
    "label": "label",
    "subtype": "subtype",
    "sub_label": "sub_label",
    "kind": "kind",
}


class EventQueries:
    """The reading methods of the event store (a base of ``EventStore``, which sets these)."""

    files: SnapshotWriter
    _conn: sqlite3.Connection
    _lock: threading.RLock

    def snapshot_path(self, event_id: str, kind: str = "annotated") -> Path | None:
        """The snapshot file of an event (clean | annotated | thumb | face) if it exists."""
        try:
            path = self.files.path(event_id, kind)  # type: ignore[arg-type]
        except ValueError:
            return None
        return path if path.is_file() else None

    def get(self, event_id: str) -> Event | None:
        with self._lock:
            row = self._conn.execute("SELECT * FROM events WHERE id=?", (event_id,)).fetchone()
        return from_row(row) if row else None

    def query(
        self,
        *,
        camera: str | Sequence[str] | None = None,
        label: str | Sequence[str] | None = None,
        zone: str | None = None,
        after: float | None = None,
        before: float | None = None,
        has_face: bool | None = None,
        sub_label: str | None = None,
        kind: str | None = None,
        subtype: str | None = None,
        keep: bool | None = None,
        limit: int = 50,
        offset: int = 0,
        order: str = "desc",
    ) -> tuple[list[Event], int]:
        """Events matching every given filter (start_time in [after, before)), newest first by default."""
        clause, args = where_clause(camera=camera, label=label, zone=zone, after=after, before=before,
                                    has_face=has_face, sub_label=sub_label, kind=kind, subtype=subtype, keep=keep)
        if order not in ("asc", "desc"):
            raise ValueError(f"order must be 'asc' or 'desc', got {order!r}")
        limit = max(0, min(int(limit), 1000))
        offset = max(0, int(offset))
        with self._lock:
            total = self._conn.execute(f"SELECT COUNT(*) FROM events {clause}", args).fetchone()[0]
            rows = self._conn.execute(
                f"SELECT * FROM events {clause} ORDER BY start_time {order}, id {order} LIMIT ? OFFSET ?",
                [*args, limit, offset],
            ).fetchall()
        return [from_row(r) for r in rows], int(total)

    def distinct(self, field: str) -> list[str]:
        """Values present for a filter menu: camera, label, zones, subtype, sub_label or kind."""
        if field == "zones":
            sql = "SELECT DISTINCT j.value FROM events, json_each(events.zones_entered) AS j ORDER BY 1"
        elif field in _DISTINCT:
            col = _DISTINCT[field]
            sql = f"SELECT DISTINCT {col} FROM events WHERE {col} IS NOT NULL ORDER BY 1"
        else:
            raise ValueError(f"unknown field {field!r} (known: zones, {', '.join(_DISTINCT)})")
        with self._lock:
            return [r[0] for r in self._conn.execute(sql).fetchall()]

    def counts_by_hour(
        self, camera: str, label: str | None = None, since: float = 0.0, kind: str = "object"
    ) -> list[int]:
        """168 counts of events started since ``since``, by local hour of the week (0 = Monday 00:00)."""
        sql = "SELECT start_time FROM events WHERE camera=? AND kind=? AND start_time>=?"
        args: list[Any] = [camera, kind, since]
        if label is not None:
            sql += " AND label=?"
            args.append(label)
        with self._lock:
            starts = [r[0] for r in self._conn.execute(sql, args).fetchall()]
        counts = [0] * 168
        for start in starts:
            local = time.localtime(start)
            counts[local.tm_wday * 24 + local.tm_hour] += 1
        return counts
