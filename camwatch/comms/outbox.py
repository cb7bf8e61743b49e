"""A persistent, bounded, ordered outbox of MQTT messages (SQLite).

Events and alerts are written here before they are published and deleted only when the
broker acknowledges them (PUBACK). Rows survive a broker outage and a camwatch restart;
they are sent again in id order. When the outbox holds ``max_messages`` rows, adding one
drops the oldest: the drop is counted and logged once per burst.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from camwatch.datafiles import data_file_error, open_database

_LOGGER = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    topic TEXT NOT NULL,
    payload BLOB NOT NULL,
    qos INTEGER NOT NULL DEFAULT 1,
    retain INTEGER NOT NULL DEFAULT 0,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS outbox_meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    id: int
    topic: str
    payload: bytes
    qos: int
    retain: bool
    created: float


class Outbox:
    """Thread-safe: the bus thread adds, the sender thread reads and deletes."""

    def __init__(self, path: Path, max_messages: int = 10000) -> None:
        if max_messages < 1:
            raise ValueError("max_messages must be >= 1")
        self.path = path
        self.max_messages = max_messages
        self._lock = threading.Lock()
        self._db = open_database(path, "the MQTT outbox", check_same_thread=False, isolation_level=None)
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
            self._count = int(self._db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0])
            row = self._db.execute("SELECT value FROM outbox_meta WHERE key = 'dropped'").fetchone()
        except sqlite3.Error as exc:
            self._db.close()
            raise data_file_error(path, exc, "the MQTT outbox") from None
        self._dropped = int(row[0]) if row else 0
        self._dropping = False
        if self._count:
            _LOGGER.info("outbox %s holds %d unsent message(s) from a previous run", path, self._count)

    # ---------------------------------------------------------------- facts
    def __len__(self) -> int:
        with self._lock:
            return self._count

    @property
    def dropped(self) -> int:
        """Messages dropped because the outbox was full (kept across restarts)."""
        with self._lock:
            return self._dropped

    # -------------------------------------------------------------- writing
    def add(self, topic: str, payload: bytes, qos: int = 1, retain: bool = False) -> int:
        """Persist one message; returns its row id. Drops the oldest rows beyond the bound."""
        with self._lock:
            cur = self._db.execute(
                "INSERT INTO outbox (topic, payload, qos, retain, created) VALUES (?, ?, ?, ?, ?)",
                (topic, payload, qos, int(retain), time.time()),
            )
            self._count += 1
            row_id = int(cur.lastrowid or 0)
            excess = self._count - self.max_messages
            if excess > 0:
                self._drop_oldest(excess)
            elif self._dropping and self._count < self.max_messages:
                self._dropping = False
            return row_id

    def _drop_oldest(self, excess: int) -> None:
        self._db.execute("BEGIN")
        cur = self._db.execute(
            "DELETE FROM outbox WHERE id IN (SELECT id FROM outbox ORDER BY id LIMIT ?)", (excess,)
        )
        self._count -= cur.rowcount
        self._dropped += cur.rowcount
        self._db.execute(
            "INSERT INTO outbox_meta (key, value) VALUES ('dropped', ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (self._dropped,),
        )
        self._db.execute("COMMIT")
        if not self._dropping:
            self._dropping = True
            _LOGGER.warning(
                "MQTT outbox full (%d messages): dropping the oldest (%d dropped so far)",
                self.max_messages,
                self._dropped,
            )

    def delete(self, ids: Iterable[int]) -> int:
        """Forget acknowledged messages; returns how many rows were removed."""
        ids = list(ids)
        if not ids:
            return 0
        with self._lock:
            self._db.execute("BEGIN")
            removed = 0
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                marks = ",".join("?" * len(chunk))
                removed += self._db.execute(f"DELETE FROM outbox WHERE id IN ({marks})", chunk).rowcount
            self._db.execute("COMMIT")
            self._count -= removed
            return removed

    # -------------------------------------------------------------- reading
    def after(self, last_id: int, limit: int = 100) -> list[OutboxMessage]:
        """Messages with an id above ``last_id``, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, topic, payload, qos, retain, created FROM outbox WHERE id > ? ORDER BY id LIMIT ?",
                (last_id, limit),
            ).fetchall()
        return [OutboxMessage(r[0], r[1], bytes(r[2]), r[3], bool(r[4]), r[5]) for r in rows]

    def close(self) -> None:
        with self._lock:
            try:
                self._db.close()
            except sqlite3.Error as exc:
                _LOGGER.warning("closing outbox %s: %s", self.path, exc)
