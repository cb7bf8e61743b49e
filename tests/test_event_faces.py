"""An event's stored faces keep their ids when a better face of the same visit replaces them:
the Faces page lists ``/api/faces/unknown/<id>.jpg`` and must still load it a moment later."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import cv2
import numpy as np

from camwatch.faces.event_faces import Candidate, EventFaces
from tests.conftest import MEDIA, require


def _crop(image: np.ndarray, x: int) -> np.ndarray:
    return np.ascontiguousarray(image[40:200, x : x + 160])


def test_saving_a_visit_again_keeps_its_face_ids_and_replaces_their_pictures(tmp_path: Path) -> None:
    photo = MEDIA / "grace_hopper.bmp"
    require(photo.is_file(), f"{photo} missing")
    image = cv2.imread(str(photo))
    faces = EventFaces(sqlite3.connect(":memory:", check_same_thread=False), threading.RLock(), tmp_path, "m")
    first = [Candidate(1.0, 60, 10, 100.0, _crop(image, 60)), Candidate(0.5, 50, 8, 100.2, _crop(image, 120))]
    faces.save("e1", "front", first)
    ids = [c.id for c in faces.candidates(["e1"])["e1"]]
    before = {i: faces.path(i).read_bytes() for i in ids}  # type: ignore[union-attr]

    better = [Candidate(3.0, 80, 30, 101.0, _crop(image, 200)), Candidate(2.0, 70, 20, 101.2, _crop(image, 260)),
              Candidate(1.5, 65, 15, 101.4, _crop(image, 320))]
    faces.save("e1", "front", better)
    stored = faces.candidates(["e1"])["e1"]
    assert set(ids) <= {c.id for c in stored}, "a listed face id vanished when the visit's faces were saved again"
    assert [round(c.quality, 1) for c in stored] == [3.0, 2.0, 1.5]
    for i in ids:
        path = faces.path(i)
        assert path is not None and path.is_file() and path.read_bytes() != before[i]

    faces.save("e1", "front", better[:1])  # fewer faces: the rest are dropped with their files
    stored = faces.candidates(["e1"])["e1"]
    assert [c.id for c in stored] == [min(ids)] and len(list(tmp_path.glob("*.jpg"))) == 1
