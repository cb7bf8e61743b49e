"""What the owner has looked at, and each event's story: the reading side of the event store
for the web page (``EventStore.review``).

An event is *seen* once the owner opened its page or marked the events seen; camwatch has
one owner, so this is stored once, in ``events.seen_at``. The story's moments are written
by the store as each event message arrives (:mod:`camwatch.events.story`); events stored
before that are told from their fields.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterable

from camwatch.events.model import Event
from camwatch.events.story import Moment, fallback, with_picture

_MAX_IDS = 500  # ids per query (SQLite's variable limit is far above; a page shows 24)


def add_moments(conn: sqlite3.Connection, event_id: str, found: Iterable[Moment]) -> None:
    """Store moments of an event (in the caller's transaction, after the event's row)."""
    conn.executemany(
        "INSERT INTO event_story (event_id, time, what, detail, score) VALUES (?, ?, ?, ?, ?)",
        [(event_id, m.time, m.what, m.detail, m.score) for m in found],
    )


class EventReview:
    def __init__(self, conn: sqlite3.Connection, lock: threading.RLock) -> None:
        self._conn = conn
        self._lock = lock

    # ------------------------------------------------------------------ seen
    def mark_seen(self, event_id: str, now: float | None = None) -> bool:
        """The owner looked at this event; False when it does not exist."""
        with self._lock, self._conn:
            found = self._conn.execute("SELECT 1 FROM events WHERE id=?", (event_id,)).fetchone()
            self._conn.execute("UPDATE events SET seen_at=? WHERE id=? AND seen_at IS NULL",
                               (time.time() if now is None else now, event_id))
        return found is not None

    def mark_unseen(self, event_id: str) -> bool:
        with self._lock, self._conn:
            return self._conn.execute("UPDATE events SET seen_at=NULL WHERE id=?", (event_id,)).rowcount > 0

    def mark_all_seen(self, until: float | None = None, now: float | None = None) -> int:
        """Every unseen event that started at or before ``until`` (None: all) is seen; how many."""
        sql = "UPDATE events SET seen_at=? WHERE seen_at IS NULL"
        args: list[float] = [time.time() if now is None else now]
        if until is not None:
            sql += " AND start_time<=?"
            args.append(until)
        with self._lock, self._conn:
            return int(self._conn.execute(sql, args).rowcount)

    def unseen_count(self) -> int:
        with self._lock:
            return int(self._conn.execute("SELECT COUNT(*) FROM events WHERE seen_at IS NULL").fetchone()[0])

    def unseen_among(self, ids: Iterable[str]) -> set[str]:
        """Which of these events the owner has not looked at yet."""
        wanted = list(dict.fromkeys(ids))
        found: set[str] = set()
        for start in range(0, len(wanted), _MAX_IDS):
            chunk = wanted[start:start + _MAX_IDS]
            marks = ",".join("?" * len(chunk))
            with self._lock:
                rows = self._conn.execute(
                    f"SELECT id FROM events WHERE seen_at IS NULL AND id IN ({marks})", chunk).fetchall()
            found |= {r[0] for r in rows}
        return found

    # ------------------------------------------------------------------ story
    def story(self, event: Event) -> list[Moment]:
        """The event's moments in the order they happened, with its best picture's."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT time, what, detail, score FROM event_story WHERE event_id=? ORDER BY rowid", (event.id,)
            ).fetchall()
        told = [Moment(r[0], r[1], r[2], r[3]) for r in rows] or fallback(event)
        return with_picture(event, told)
