"""The gallery of known people: name → face crops and embeddings, kept on the device.

Layout under ``<data_dir>/faces``::

    gallery.db            SQLite: people (id, name) and samples (person, file, embedding)
    <person id>/<n>.jpg   the enrolled face crops

Files are named after the person's id, so a rename touches only the database; a delete
removes the person's rows, crops and embeddings. Embeddings are tagged with the embedder
that made them: after a change of embedder, ``reembed`` recomputes them from the crops.
"""

from __future__ import annotations

import logging
import shutil
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from camwatch.atomic import write_atomic
from camwatch.datafiles import data_file_error, open_database
from camwatch.faces.embedder import FaceEmbedder
from camwatch.geometry import grow
from camwatch.names import InvalidName, clean_display_name

_LOGGER = logging.getLogger(__name__)

MAX_NAME_LENGTH = 64
RESERVED_NAMES = frozenset({"unknown", "uncertain"})  # names the face step gives

_SCHEMA = """
CREATE TABLE IF NOT EXISTS people (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE COLLATE NOCASE,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS samples (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    person_id INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
    file TEXT NOT NULL,
    model TEXT,
    embedding BLOB,
    source TEXT NOT NULL,
    created REAL NOT NULL
);
"""


class GalleryError(ValueError):
    """A gallery request that cannot be done (bad name, unknown person, no face...)."""


class NotFound(GalleryError):
    """No such person."""


class Conflict(GalleryError):
    """The name is already taken."""


@dataclass(frozen=True)
class Person:
    id: int
    name: str
    samples: int
    created: float

    def to_dict(self) -> dict:
        return {"name": self.name, "samples": self.samples, "created": round(self.created, 3)}


@dataclass(frozen=True)
class Sample:
    """One enrolled face: its crop file, where it came from, and whether it can be recognised."""

    id: int
    source: str
    created: float
    embedded: bool

    def to_dict(self) -> dict:
        return {"id": self.id, "source": self.source, "created": round(self.created, 3), "embedded": self.embedded}


@dataclass(frozen=True)
class Match:
    name: str
    score: float


def validate_name(name: object) -> str:
    """A clean display name, or GalleryError: 1–64 printable characters, no slashes."""
    try:
        cleaned = clean_display_name(name, MAX_NAME_LENGTH)
    except InvalidName as exc:
        raise GalleryError(str(exc)) from None
    if any(c in cleaned for c in "/\\"):
        raise GalleryError("name must not contain slashes")
    if cleaned.lower() in RESERVED_NAMES:
        raise GalleryError(f"{cleaned!r} is reserved")
    return cleaned


class FaceGallery:
    """Known people with their face crops and embeddings (thread-safe)."""

    def __init__(self, data_dir: Path, embedder: FaceEmbedder | None = None, jpeg_quality: int = 92) -> None:
        self.directory = Path(data_dir) / "faces"
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise data_file_error(self.directory / "gallery.db", exc, "the face gallery") from None
        self.embedder = embedder
        self.jpeg_quality = jpeg_quality
        self._lock = threading.RLock()
        db_path = self.directory / "gallery.db"
        self._db = open_database(db_path, "the face gallery", check_same_thread=False, isolation_level=None)
        try:
            self._db.execute("PRAGMA foreign_keys = ON")
            self._db.executescript(_SCHEMA)
        except sqlite3.Error as exc:
            self._db.close()
            raise data_file_error(db_path, exc, "the face gallery") from None
        self._cache: tuple[list[str], np.ndarray] | None = None
        self._version = -1

    # ---------------------------------------------------------------- people
    def people(self) -> list[Person]:
        with self._lock:
            rows = self._db.execute(
                "SELECT p.id, p.name, COUNT(s.id), p.created FROM people p "
                "LEFT JOIN samples s ON s.person_id = p.id GROUP BY p.id ORDER BY p.name COLLATE NOCASE"
            ).fetchall()
        return [Person(int(r[0]), r[1], int(r[2]), float(r[3])) for r in rows]

    def get(self, name: str) -> Person:
        for person in self.people():
            if person.name.lower() == name.strip().lower():
                return person
        raise NotFound(f"no person named {name!r}")

    def create(self, name: object) -> Person:
        clean = validate_name(name)
        with self._lock:
            try:
                self._db.execute("INSERT INTO people (name, created) VALUES (?, ?)", (clean, time.time()))
            except sqlite3.IntegrityError:
                raise Conflict(f"{clean!r} already exists") from None
        _LOGGER.info("gallery: added %s", clean)
        return self.get(clean)

    def rename(self, name: str, new_name: object) -> Person:
        clean = validate_name(new_name)
        with self._lock:
            person = self.get(name)
            try:
                self._db.execute("UPDATE people SET name = ? WHERE id = ?", (clean, person.id))
            except sqlite3.IntegrityError:
                raise Conflict(f"{clean!r} already exists") from None
            self._cache = None
        _LOGGER.info("gallery: renamed %s to %s", person.name, clean)
        return self.get(clean)

    def delete(self, name: str) -> None:
        """Remove the person, their crops and their embeddings."""
        with self._lock:
            person = self.get(name)
            self._db.execute("DELETE FROM samples WHERE person_id = ?", (person.id,))
            self._db.execute("DELETE FROM people WHERE id = ?", (person.id,))
            shutil.rmtree(self.directory / str(person.id), ignore_errors=True)
            self._cache = None
        _LOGGER.info("gallery: deleted %s", person.name)

    def crops(self, name: str) -> list[Path]:
        person = self.get(name)
        with self._lock:
            rows = self._db.execute(
                "SELECT file FROM samples WHERE person_id = ? ORDER BY id", (person.id,)
            ).fetchall()
        return [self.directory / r[0] for r in rows]

    def samples(self, name: str) -> list[Sample]:
        """The person's enrolled faces, oldest first."""
        person = self.get(name)
        model = self.embedder.name if self.embedder else None
        with self._lock:
            rows = self._db.execute(
                "SELECT id, source, created, embedding IS NOT NULL AND model IS ? FROM samples "
                "WHERE person_id = ? ORDER BY id",
                (model, person.id),
            ).fetchall()
        return [Sample(int(r[0]), str(r[1]), float(r[2]), bool(r[3])) for r in rows]

    def delete_sample(self, name: str, sample_id: int) -> None:
        """Remove one enrolled face: its embedding and its crop."""
        with self._lock:
            person = self.get(name)
            row = self._db.execute(
                "SELECT file FROM samples WHERE id = ? AND person_id = ?", (sample_id, person.id)
            ).fetchone()
            if row is None:
                raise NotFound(f"{person.name} has no sample {sample_id}")
            self._db.execute("DELETE FROM samples WHERE id = ?", (sample_id,))
            if row[0]:
                (self.directory / row[0]).unlink(missing_ok=True)
            self._cache = None
        _LOGGER.info("gallery: deleted sample %d of %s", sample_id, person.name)

    def sources(self) -> set[str]:
        """Where every enrolled face came from (``event:<id>``, ``upload:<file>``)."""
        with self._lock:
            return {str(r[0]) for r in self._db.execute("SELECT source FROM samples").fetchall()}

    # ----------------------------------------------------------------- enrol
    def enrol(self, name: str, image_bgr: np.ndarray, box: tuple[float, float, float, float], source: str) -> int:
        """Add one face (``box`` in the image's pixels) to ``name``, creating the person if
        new. The saved crop is the face with a margin; returns the sample id."""
        clean = validate_name(name)
        if image_bgr is None or image_bgr.ndim != 3 or image_bgr.size == 0:
            raise GalleryError("not a colour image")
        embedding = self.embedder.embed(image_bgr, box) if self.embedder else None
        crop = _face_crop(image_bgr, box)
        ok, jpeg = cv2.imencode(".jpg", crop, [cv2.IMWRITE_JPEG_QUALITY, self.jpeg_quality])
        if not ok:
            raise GalleryError("cannot encode the face crop")
        with self._lock:
            try:
                person = self.get(clean)
            except NotFound:
                person = self.create(clean)
            folder = self.directory / str(person.id)
            folder.mkdir(exist_ok=True)
            cursor = self._db.execute(
                "INSERT INTO samples (person_id, file, model, embedding, source, created) VALUES (?, '', ?, ?, ?, ?)",
                (
                    person.id,
                    self.embedder.name if self.embedder else None,
                    embedding.astype(np.float32).tobytes() if embedding is not None else None,
                    source,
                    time.time(),
                ),
            )
            sample_id = int(cursor.lastrowid or 0)
            relative = f"{person.id}/{sample_id}.jpg"
            write_atomic(self.directory / relative, jpeg.tobytes())
            self._db.execute("UPDATE samples SET file = ? WHERE id = ?", (relative, sample_id))
            self._cache = None
        _LOGGER.info("gallery: enrolled a face for %s (%s)", person.name, source)
        return sample_id

    def reembed(self) -> int:
        """Recompute embeddings made by another (or no) embedder from the saved crops."""
        if self.embedder is None:
            return 0
        with self._lock:
            rows = self._db.execute(
                "SELECT id, file FROM samples WHERE model IS NULL OR model != ?", (self.embedder.name,)
            ).fetchall()
            for sample_id, relative in rows:
                crop = cv2.imread(str(self.directory / relative))
                if crop is None:
                    continue
                h, w = crop.shape[:2]
                embedding = self.embedder.embed(crop, inner_face_box(w, h))
                self._db.execute(
                    "UPDATE samples SET model = ?, embedding = ? WHERE id = ?",
                    (self.embedder.name, embedding.astype(np.float32).tobytes(), sample_id),
                )
            self._cache = None
        return len(rows)

    # ----------------------------------------------------------------- match
    def _embeddings(self) -> tuple[list[str], np.ndarray]:
        with self._lock:
            version = self._db.execute("PRAGMA data_version").fetchone()[0]
            if version != self._version:  # another connection (web API, CLI) changed the gallery
                self._cache, self._version = None, version
            if self._cache is None:
                model = self.embedder.name if self.embedder else None
                rows = self._db.execute(
                    "SELECT p.name, s.embedding FROM samples s JOIN people p ON p.id = s.person_id "
                    "WHERE s.model = ? AND s.embedding IS NOT NULL",
                    (model,),
                ).fetchall()
                names = [r[0] for r in rows]
                vectors = (
                    np.stack([np.frombuffer(r[1], dtype=np.float32) for r in rows])
                    if rows
                    else np.zeros((0, 0), dtype=np.float32)
                )
                self._cache = (names, vectors)
            return self._cache

    def best_match(self, embedding: np.ndarray) -> Match | None:
        """The most similar known person and the similarity, or None with an empty gallery."""
        if self.embedder is None:
            return None
        names, vectors = self._embeddings()
        if not names:
            return None
        similarities = self.embedder.similarity(embedding, vectors)
        best = int(np.argmax(similarities))
        return Match(names[best], float(similarities[best]))

    def close(self) -> None:
        with self._lock:
            self._db.close()


# Saved crops keep this margin around the face box; re-embedding finds the face again there.
CROP_MARGIN = 0.25


def _face_crop(image_bgr: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
    h, w = image_bgr.shape[:2]
    x1, y1, x2, y2 = grow(box, CROP_MARGIN)
    left, top = max(0, int(x1)), max(0, int(y1))
    right, bottom = min(w, int(x2)), min(h, int(y2))
    if right - left < 2 or bottom - top < 2:
        raise GalleryError("the face box lies outside the image")
    return image_bgr[top:bottom, left:right].copy()


def inner_face_box(width: int, height: int) -> tuple[float, float, float, float]:
    """The face box inside a crop made by ``_face_crop`` (margin on every side)."""
    scale = 1.0 + 2 * CROP_MARGIN
    fw, fh = width / scale, height / scale
    return ((width - fw) / 2, (height - fh) / 2, (width + fw) / 2, (height + fh) / 2)
