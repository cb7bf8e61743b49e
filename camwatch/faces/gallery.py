"""The gallery of known people: name → face crops and embeddings, kept on the device.

Layout under ``<data_dir>/faces``::

    gallery.db            SQLite: people (id, name), samples (person, file, embedding) and the
                          embeddings of each sample's surveillance-quality views (``faces.views``)
    <person id>/<n>.jpg   the enrolled face crops

Files are named after the person's id, so a rename touches only the database; a delete
removes the person's rows, crops and embeddings. Embeddings are tagged with the embedder
that made them: after a change of embedder, ``reembed`` recomputes them from the crops.
A probe matches a person by the best of their samples or, for a poor probe, by the mean of its
best few matches among the samples and their degraded views (``faces.matching``).
"""

from __future__ import annotations

import logging
import shutil
import sqlite3
import threading
import time
from pathlib import Path

import cv2
import numpy as np

from camwatch.atomic import write_atomic
from camwatch.datafiles import data_file_error, open_database
from camwatch.faces.crops import CROP_MARGIN, face_crop, inner_face_box
from camwatch.faces.embedder import FaceEmbedder
from camwatch.faces.event_faces import EventFaces
from camwatch.faces.matching import ORIGINAL, VIEW, person_scores
from camwatch.faces.people import Conflict, GalleryError, Match, NotFound, Person, Sample
from camwatch.faces.views import degraded_views
from camwatch.geometry import grow
from camwatch.names import InvalidName, clean_display_name

_LOGGER = logging.getLogger(__name__)
__all__ = ["CROP_MARGIN", "Conflict", "FaceGallery", "GalleryError", "Match", "NotFound", "Person", "Sample",
           "inner_face_box", "validate_name"]

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
CREATE TABLE IF NOT EXISTS sample_views (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    sample_id INTEGER NOT NULL REFERENCES samples(id) ON DELETE CASCADE,
    model TEXT NOT NULL,
    embedding BLOB NOT NULL
);
"""


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
            #: The best faces of recent events (for naming from an event and grouping unnamed faces).
            self.events = EventFaces(self._db, self._lock, self.directory / "events", embedder.name if embedder else None)
        except sqlite3.Error as exc:
            self._db.close()
            raise data_file_error(db_path, exc, "the face gallery") from None
        self._cache: tuple[list[str], np.ndarray, np.ndarray] | None = None
        self._version = -1
        if embedder is not None and self._samples_without_views():
            # galleries enrolled before views existed: computed once, off the caller's thread
            threading.Thread(target=self.complete_views, name="face-views", daemon=True).start()

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

    def samples_from(self, source: str) -> list[int]:
        """Ids of the samples enrolled from one source (``event:<id>``)."""
        with self._lock:
            return [int(r[0]) for r in self._db.execute("SELECT id FROM samples WHERE source = ?", (source,))]

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
        views = self._view_embeddings(image_bgr, box)
        crop = face_crop(image_bgr, box)
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
            self._store_views(sample_id, views)
            self._cache = None
        _LOGGER.info("gallery: enrolled a face for %s (%s)", person.name, source)
        return sample_id

    def move_sample(self, sample_id: int, new_name: str | None) -> str | None:
        """Give one sample to another person (created if new), or drop it with ``new_name`` None.
        Returns the name of the person it belonged to, or None when there is no such sample."""
        with self._lock:
            row = self._db.execute(
                "SELECT s.file, p.name FROM samples s JOIN people p ON p.id = s.person_id WHERE s.id = ?", (sample_id,)
            ).fetchone()
            if row is None:
                return None
            if new_name is None:
                self.delete_sample(row[1], sample_id)
                return str(row[1])
            try:
                target = self.get(new_name)
            except NotFound:
                target = self.create(new_name)
            relative = f"{target.id}/{sample_id}.jpg"
            (self.directory / str(target.id)).mkdir(exist_ok=True)
            old = self.directory / row[0]
            if old.is_file():
                old.replace(self.directory / relative)
            self._db.execute("UPDATE samples SET person_id = ?, file = ? WHERE id = ?", (target.id, relative, sample_id))
            self._cache = None
        _LOGGER.info("gallery: moved sample %d from %s to %s", sample_id, row[1], target.name)
        return str(row[1])

    def _view_embeddings(self, image_bgr: np.ndarray, box: tuple[float, float, float, float]) -> list[np.ndarray]:
        """Embeddings of the face's surveillance-quality views (computed around the face only)."""
        if self.embedder is None:
            return []
        h, w = image_bgr.shape[:2]
        x1, y1, x2, y2 = grow(box, 1.0)
        left, top = max(0, int(x1)), max(0, int(y1))
        region = image_bgr[top : min(h, int(y2) + 1), left : min(w, int(x2) + 1)]
        local = (box[0] - left, box[1] - top, box[2] - left, box[3] - top)
        return [self.embedder.embed(view, local) for view in degraded_views(region, local)]

    def _store_views(self, sample_id: int, views: list[np.ndarray]) -> None:
        if self.embedder is None:
            return
        # One transaction (a savepoint also works inside an outer one): another connection (the
        # web API, the CLI) never reads the sample between the old views gone and the new ones in.
        self._db.execute("SAVEPOINT store_views")
        try:
            self._db.execute("DELETE FROM sample_views WHERE sample_id = ?", (sample_id,))
            self._db.executemany(
                "INSERT INTO sample_views (sample_id, model, embedding) VALUES (?, ?, ?)",
                [(sample_id, self.embedder.name, v.astype(np.float32).tobytes()) for v in views],
            )
        except BaseException:
            self._db.execute("ROLLBACK TO store_views")
            self._db.execute("RELEASE store_views")
            raise
        self._db.execute("RELEASE store_views")

    def reembed(self) -> int:
        """Recompute embeddings made by another (or no) embedder from the saved crops."""
        if self.embedder is None:
            return 0
        with self._lock:
            rows = self._db.execute(
                "SELECT id, file FROM samples WHERE model IS NULL OR model != ?", (self.embedder.name,)
            ).fetchall()
        return self._embed_crops(rows, with_sample=True)

    def _samples_without_views(self) -> list[tuple[int, str]]:
        with self._lock:
            return [(int(r[0]), str(r[1])) for r in self._db.execute(
                "SELECT s.id, s.file FROM samples s WHERE s.model = ? AND NOT EXISTS "
                "(SELECT 1 FROM sample_views v WHERE v.sample_id = s.id AND v.model = s.model)",
                (self.embedder.name if self.embedder else None,),
            ).fetchall()]

    def complete_views(self) -> int:
        """Add the views of samples enrolled without them (a gallery from an older camwatch)."""
        try:
            return self._embed_crops(self._samples_without_views(), with_sample=False)
        except (sqlite3.Error, cv2.error) as exc:  # a closed or damaged gallery: views stay missing
            _LOGGER.warning("gallery: could not add the degraded views of older samples: %s", exc)
            return 0

    def _embed_crops(self, rows: list, with_sample: bool) -> int:
        """Embed samples (and their views) again from their saved crops."""
        assert self.embedder is not None
        for sample_id, relative in rows:
            crop = cv2.imread(str(self.directory / relative))
            if crop is None:
                continue
            box = inner_face_box(crop.shape[1], crop.shape[0])
            embedding = self.embedder.embed(crop, box) if with_sample else None
            views = self._view_embeddings(crop, box)
            with self._lock:
                if embedding is not None:
                    self._db.execute(
                        "UPDATE samples SET model = ?, embedding = ? WHERE id = ?",
                        (self.embedder.name, embedding.astype(np.float32).tobytes(), sample_id),
                    )
                self._store_views(sample_id, views)
                self._cache = None
        return len(rows)

    # ----------------------------------------------------------------- match
    def _embeddings(self) -> tuple[list[str], np.ndarray, np.ndarray]:
        """Names, embeddings and kinds (ORIGINAL or VIEW) of every template of the current embedder."""
        with self._lock:
            version = self._db.execute("PRAGMA data_version").fetchone()[0]
            if version != self._version:  # another connection (web API, CLI) changed the gallery
                self._cache, self._version = None, version
            if self._cache is None:
                model = self.embedder.name if self.embedder else None
                rows = self._db.execute(
                    "SELECT p.name, s.embedding, 0 FROM samples s JOIN people p ON p.id = s.person_id "
                    "WHERE s.model = ? AND s.embedding IS NOT NULL "
                    "UNION ALL SELECT p.name, v.embedding, 1 FROM sample_views v "
                    "JOIN samples s ON s.id = v.sample_id JOIN people p ON p.id = s.person_id WHERE v.model = ?",
                    (model, model),
                ).fetchall()
                names = [r[0] for r in rows]
                vectors = (
                    np.stack([np.frombuffer(r[1], dtype=np.float32) for r in rows])
                    if rows
                    else np.zeros((0, 0), dtype=np.float32)
                )
                kinds = np.array([VIEW if r[2] else ORIGINAL for r in rows], dtype=np.int8)
                self._cache = (names, vectors, kinds)
            return self._cache

    def scores(self, embedding: np.ndarray, detail: float | None = None) -> dict[str, float]:
        """Every known person's score for this face; ``detail``: its sharpness (``faces.matching``)."""
        if self.embedder is None:
            return {}
        names, vectors, kinds = self._embeddings()
        if not names:
            return {}
        return person_scores(self.embedder.similarity(embedding, vectors), names, kinds, detail)

    def best_match(self, embedding: np.ndarray, detail: float | None = None) -> Match | None:
        """The most similar known person and their score, or None with an empty gallery."""
        scores = self.scores(embedding, detail)
        if not scores:
            return None
        name = max(scores, key=scores.__getitem__)
        return Match(name, scores[name])

    def close(self) -> None:
        with self._lock:
            self._db.close()
