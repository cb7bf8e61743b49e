"""The best few faces of each recent event, kept beside the gallery, and what the homeowner did
with them (named or dismissed on the Faces page).

An event's single face crop is the face BlazeFace scored best, which for a walker is often a
blurred profile: a poor sample to name someone from. The face step keeps the ``KEEP_PER_EVENT``
faces of best recognition quality (``faces.quality.face_quality``) with their embeddings, so
that naming an event enrols its good faces — or says why none is good enough — and unnamed
faces of the same person can be shown as one group.

Layout, in ``<data_dir>/faces``: table ``event_faces`` of ``gallery.db`` and ``events/<row id>.jpg``
(the crop with the gallery's margin, so ``crops.inner_face_box`` frames the face). Only the
faces of the ``KEEP_EVENTS`` most recent events are kept.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from camwatch.atomic import write_atomic

_LOGGER = logging.getLogger(__name__)

KEEP_PER_EVENT = 5
KEEP_EVENTS = 1000
#: How the homeowner handled an event's face: it stays out of "Who is this?".
DISMISSED = "dismissed"
NAMED = "named"

SCHEMA = """
CREATE TABLE IF NOT EXISTS event_faces (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL,
    camera TEXT NOT NULL,
    ts REAL NOT NULL,
    quality REAL NOT NULL,
    width REAL NOT NULL,
    sharpness REAL NOT NULL,
    model TEXT,
    embedding BLOB,
    file TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS event_faces_event ON event_faces(event_id);
CREATE TABLE IF NOT EXISTS event_faces_handled (
    event_id TEXT PRIMARY KEY,
    how TEXT NOT NULL,
    ts REAL NOT NULL
);
"""


@dataclass
class Candidate:
    """One face of a visit: how good it is, its crop (with the gallery margin) and its embedding."""

    quality: float
    width: float
    sharpness: float
    ts: float
    crop_bgr: np.ndarray = field(repr=False)
    embedding: np.ndarray | None = field(default=None, repr=False)
    id: int | None = None  # row id once stored
    path: Path | None = None
    event_id: str | None = None


class EventFaces:
    """Stored candidates per event; shares the gallery's SQLite connection and lock."""

    def __init__(self, db: sqlite3.Connection, lock: threading.RLock, directory: Path, model: str | None) -> None:
        self._db = db
        self._lock = lock
        self.directory = Path(directory)
        self.model = model
        with self._lock:
            self._db.executescript(SCHEMA)

    def save(self, event_id: str, camera: str, candidates: list[Candidate]) -> None:
        """Replace the event's stored faces with these (best first).

        The event's rows keep their ids (and so their URLs): a page that listed a face a
        moment ago still loads it after a better face of the same visit replaced it.
        """
        self.directory.mkdir(parents=True, exist_ok=True)
        with self._lock:
            old = self._db.execute(
                "SELECT id, file FROM event_faces WHERE event_id = ? ORDER BY id", (event_id,)).fetchall()
            used = 0
            for candidate in candidates[:KEEP_PER_EVENT]:
                ok, jpeg = cv2.imencode(".jpg", candidate.crop_bgr, [cv2.IMWRITE_JPEG_QUALITY, 92])
                if not ok:
                    continue
                values = (camera, candidate.ts, candidate.quality, candidate.width, candidate.sharpness,
                          self.model if candidate.embedding is not None else None,
                          None if candidate.embedding is None else candidate.embedding.astype(np.float32).tobytes())
                if used < len(old):
                    row_id = int(old[used][0])
                    self._db.execute(
                        "UPDATE event_faces SET camera = ?, ts = ?, quality = ?, width = ?, sharpness = ?, model = ?, "
                        "embedding = ? WHERE id = ?", (*values, row_id))
                else:
                    cursor = self._db.execute(
                        "INSERT INTO event_faces (event_id, camera, ts, quality, width, sharpness, model, embedding, file) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, '')", (event_id, *values))
                    row_id = int(cursor.lastrowid or 0)
                used += 1
                relative = f"{row_id}.jpg"
                write_atomic(self.directory / relative, jpeg.tobytes())
                self._db.execute("UPDATE event_faces SET file = ? WHERE id = ?", (relative, row_id))
            self._delete_rows(old[used:])
            self._prune()

    def candidates(self, event_ids: list[str]) -> dict[str, list[Candidate]]:
        """Stored faces of these events, best first (crops are read lazily: ``Candidate.path``)."""
        if not event_ids:
            return {}
        out: dict[str, list[Candidate]] = {}
        with self._lock:
            for start in range(0, len(event_ids), 500):  # SQLite's variable limit
                chunk = event_ids[start : start + 500]
                marks = ",".join("?" * len(chunk))
                rows = self._db.execute(
                    f"SELECT id, event_id, ts, quality, width, sharpness, model, embedding, file FROM event_faces "
                    f"WHERE event_id IN ({marks}) ORDER BY quality DESC",
                    chunk,
                ).fetchall()
                for r in rows:
                    embedding = np.frombuffer(r[7], dtype=np.float32) if r[7] is not None and r[6] == self.model else None
                    out.setdefault(r[1], []).append(Candidate(
                        float(r[3]), float(r[4]), float(r[5]), float(r[2]), np.zeros((0, 0, 3), np.uint8),
                        embedding, int(r[0]), self.directory / r[8], str(r[1]),
                    ))
        return out

    def crop(self, candidate: Candidate) -> np.ndarray | None:
        return cv2.imread(str(candidate.path)) if candidate.path is not None else None

    def path(self, face_id: int) -> Path | None:
        """The crop file of one stored face, by row id."""
        with self._lock:
            row = self._db.execute("SELECT file FROM event_faces WHERE id = ?", (face_id,)).fetchone()
        return self.directory / row[0] if row and row[0] else None

    def mark(self, event_ids: list[str], how: str) -> None:
        """Record that the homeowner named (``NAMED:<name>``) or dismissed these events' faces."""
        now = time.time()
        with self._lock:
            self._db.executemany(
                "INSERT INTO event_faces_handled (event_id, how, ts) VALUES (?, ?, ?) "
                "ON CONFLICT(event_id) DO UPDATE SET how = excluded.how, ts = excluded.ts",
                [(event_id, how, now) for event_id in event_ids],
            )

    def handled(self) -> dict[str, str]:
        with self._lock:
            return {str(r[0]): str(r[1]) for r in self._db.execute("SELECT event_id, how FROM event_faces_handled")}

    def _delete_rows(self, rows: list) -> None:
        for row_id, relative in rows:
            if relative:
                (self.directory / relative).unlink(missing_ok=True)
            self._db.execute("DELETE FROM event_faces WHERE id = ?", (row_id,))

    def _prune(self) -> None:
        """Forget the faces of all but the KEEP_EVENTS most recent events."""
        old = self._db.execute(
            "SELECT event_id FROM event_faces GROUP BY event_id ORDER BY MAX(id) DESC LIMIT -1 OFFSET ?", (KEEP_EVENTS,)
        ).fetchall()
        for (event_id,) in old:
            self._delete_rows(self._db.execute("SELECT id, file FROM event_faces WHERE event_id = ?", (event_id,)).fetchall())
        self._db.execute(
            "DELETE FROM event_faces_handled WHERE event_id NOT IN (SELECT event_id FROM event_faces_handled "
            "ORDER BY ts DESC LIMIT ?)", (5 * KEEP_EVENTS,),
        )
