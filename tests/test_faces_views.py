"""Surveillance-quality views of enrolled faces (real BlazeFace, real dlib): enrolment stores them,
an older gallery gets them, and a blurred low-detail face of an enrolled person scores higher with
them while another person stays far below the threshold."""

from __future__ import annotations

import importlib.util
import sqlite3
from pathlib import Path

import cv2
import numpy as np
import pytest

from camwatch.faces.enrol import FaceFinder, decode_image, enrol_image
from camwatch.faces.gallery import FaceGallery
from camwatch.faces.matching import POOR_DETAIL
from camwatch.faces.quality import clip_box, sharpness
from camwatch.faces.views import VIEW_FACE_WIDTHS, degraded_views
from tests.conftest import MODELS, SHARED, require

EVAL = SHARED / "faces-eval"
SHORT, FULL = MODELS / "face_detection_short_range.tflite", MODELS / "face_detection_full_range.tflite"


@pytest.fixture(scope="module")
def finder() -> FaceFinder:
    require(SHORT.is_file() and FULL.is_file(), f"BlazeFace models in {MODELS}")
    require((EVAL / "groundtruth.json").is_file(), f"faces-eval photos in {EVAL}")
    return FaceFinder([SHORT, FULL])


@pytest.fixture(scope="module")
def embedder():
    require(importlib.util.find_spec("dlib") is not None, "dlib face embedder (pip install 'camwatch[faces]')")
    from camwatch.faces.embedder import load_embedder

    return load_embedder("dlib")


def _photo(path: str) -> np.ndarray:
    return decode_image((EVAL / path).read_bytes())


def _views(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute("SELECT COUNT(*) FROM sample_views").fetchone()[0])


def test_views_keep_the_frame_and_lose_the_detail(finder: FaceFinder) -> None:
    image = _photo("photos/knn/train/obama/obama.jpg")
    face = finder.find(image)
    views = degraded_views(image, face.box)
    assert len(views) == 3 * len(VIEW_FACE_WIDTHS)  # low detail, IR grey, walking blur at each width
    assert all(v.shape == image.shape for v in views)
    x1, y1, x2, y2 = (int(v) for v in face.box)
    detail = [float(cv2.Laplacian(cv2.cvtColor(v[y1:y2, x1:x2], cv2.COLOR_BGR2GRAY), cv2.CV_64F).var()) for v in views]
    sharp = float(cv2.Laplacian(cv2.cvtColor(image[y1:y2, x1:x2], cv2.COLOR_BGR2GRAY), cv2.CV_64F).var())
    assert max(detail) < sharp / 4
    assert degraded_views(image, (0, 0, 20, 20)) == []  # a face smaller than every width: nothing to degrade


def test_enrolment_stores_views_and_an_older_gallery_gets_them(tmp_path: Path, finder: FaceFinder, embedder) -> None:
    gallery = FaceGallery(tmp_path, embedder)
    enrol_image(gallery, finder, "Barack", _photo("photos/knn/train/obama/obama.jpg"), "test")
    db = tmp_path / "faces" / "gallery.db"
    assert _views(db) == 3 * len(VIEW_FACE_WIDTHS)
    gallery.close()
    with sqlite3.connect(db) as conn:  # a gallery from before views existed
        conn.execute("DELETE FROM sample_views")
    reopened = FaceGallery(tmp_path, embedder)
    assert reopened.complete_views() == 1  # also started in the background when the gallery opens
    assert _views(db) == 3 * len(VIEW_FACE_WIDTHS)
    reopened.close()


def test_a_blurred_small_face_scores_higher_with_views_and_others_stay_low(tmp_path: Path, finder: FaceFinder,
                                                                          embedder) -> None:
    gallery = FaceGallery(tmp_path, embedder)
    for name, photo in (("Barack", "photos/knn/train/obama/obama.jpg"), ("Joe", "photos/knn/train/biden/biden.jpg")):
        enrol_image(gallery, finder, name, _photo(photo), "test")
    probe = _photo("photos/knn/test/obama1.jpg")
    face = max(finder.faces(probe), key=lambda f: f.score)
    # A doorbell's view of him: the detail of a 40 px face, a 6 px walking smear, JPEG 40.
    scale = 40 / face.width
    height, width = probe.shape[:2]
    small = cv2.resize(cv2.resize(probe, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA), (width, height))
    kernel = int(6 / scale) | 1
    blurred = cv2.filter2D(small, -1, np.full((1, kernel), 1.0 / kernel, dtype=np.float32))
    blurred = cv2.imdecode(cv2.imencode(".jpg", blurred, [cv2.IMWRITE_JPEG_QUALITY, 40])[1], cv2.IMREAD_COLOR)
    vector = embedder.embed(blurred, face.box)
    names, vectors, kinds = gallery._embeddings()
    originals = embedder.similarity(vector, vectors[(np.array(names) == "Barack") & (kinds == 0)])
    x1, y1, x2, y2 = clip_box(face.box, width, height)
    detail = sharpness(blurred[y1:y2, x1:x2])
    assert detail < POOR_DETAIL  # a poor face: compared with the views too
    scores = gallery.scores(vector, detail)
    assert scores["Barack"] > float(originals.max())  # the views lift the right person
    assert scores["Joe"] < 0.45 < scores["Barack"]
    # The same face sharp is compared with the enrolled photos alone: its score is their best.
    x1, y1, x2, y2 = clip_box(face.box, width, height)
    sharp_vector = embedder.embed(probe, face.box)
    assert sharpness(probe[y1:y2, x1:x2]) >= POOR_DETAIL
    plain = embedder.similarity(sharp_vector, vectors[(np.array(names) == "Joe") & (kinds == 0)])
    assert gallery.scores(sharp_vector, sharpness(probe[y1:y2, x1:x2]))["Joe"] == pytest.approx(float(plain.max()))
    # The same face sharp is compared with the enrolled photos alone: its score is their best.
    x1, y1, x2, y2 = clip_box(face.box, width, height)
    sharp_vector = embedder.embed(probe, face.box)
    assert sharpness(probe[y1:y2, x1:x2]) >= POOR_DETAIL
    plain = embedder.similarity(sharp_vector, vectors[(np.array(names) == "Joe") & (kinds == 0)])
    assert gallery.scores(sharp_vector, sharpness(probe[y1:y2, x1:x2]))["Joe"] == pytest.approx(float(plain.max()))
    gallery.close()
