"""The known-faces gallery API through the real app (waitress) after a real clip was processed.

A phone-sized photo (more than the 1 MB limit of other routes) is enrolled, then the face crop
of an event the pipeline recorded; the person is renamed and deleted. Body limits answer 413 JSON.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
import requests

from tests.conftest import MEDIA, MODELS, require
from tests.support.netutil import free_port
from tests.support.web import PASSWORD, page_csrf, run_clips

CLIPS = {"hall": MEDIA / "walking-by.h264"}


@pytest.fixture
def faces_app(tmp_path: Path, shared_media: Path, ssd_model: Path) -> Iterator[Any]:
    require((MODELS / "face_detection_short_range.tflite").is_file(), "BlazeFace models in shared/models")
    app = run_clips(tmp_path, CLIPS, web_port=free_port())
    yield app
    app.stop()


def _login(base: str) -> requests.Session:
    session = requests.Session()
    token = page_csrf(session.get(base + "/setup", timeout=10).text)
    response = session.post(
        base + "/setup", data={"csrf_token": token, "password": PASSWORD, "confirm": PASSWORD}, timeout=10
    )
    assert response.status_code == 200 and response.url == base + "/", response.text[:300]
    session.headers["X-CSRF-Token"] = page_csrf(response.text)
    return session


def _phone_photo() -> bytes:
    """grace_hopper.bmp upscaled to a 3072x3600 JPEG: about 2 MB, like a phone photo."""
    image = cv2.imread(str(MEDIA / "grace_hopper.bmp"))
    big = cv2.resize(image, None, fx=6, fy=6, interpolation=cv2.INTER_CUBIC)
    ok, jpeg = cv2.imencode(".jpg", big, [cv2.IMWRITE_JPEG_QUALITY, 97])
    assert ok
    return jpeg.tobytes()


def _photo_6000px(folder: Path) -> Path:
    """A faces-eval photo upscaled to 6000 px high, written as a JPEG file (as a 36 MP phone's)."""
    source = MEDIA.parent / "faces-eval" / "photos" / "knn" / "train" / "obama" / "obama.jpg"
    require(source.is_file(), f"faces-eval photo {source}")
    image = cv2.imread(str(source))
    scale = 6000 / image.shape[0]
    big = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
    path = folder / "IMG_6000.jpg"
    assert cv2.imwrite(str(path), big, [cv2.IMWRITE_JPEG_QUALITY, 90])
    return path


def test_enrol_rename_delete(faces_app: Any, tmp_path: Path) -> None:
    base = faces_app.web.url
    assert requests.get(base + "/api/faces", timeout=10).status_code == 401
    api = _login(base)

    # A phone photo: more than the 1 MB of other routes, enrolled through the real server.
    photo = _phone_photo()
    assert 1 << 20 < len(photo) < 10 << 20
    response = api.post(base + "/api/faces/Grace", files={"file": ("IMG_0001.jpg", photo, "image/jpeg")}, timeout=60)
    assert response.status_code == 201, response.text
    assert response.json()["name"] == "Grace" and response.json()["samples"] == 1

    # A 6000 px photo is accepted (shrunk), and its face enrolled: a crop of the face, not the photo.
    photo_6000 = _photo_6000px(tmp_path)
    assert max(cv2.imread(str(photo_6000)).shape[:2]) == 6000 and photo_6000.stat().st_size < 10 << 20
    with photo_6000.open("rb") as fh:
        response = api.post(base + "/api/faces/Barack", files={"file": ("IMG_6000.jpg", fh, "image/jpeg")}, timeout=60)
    assert response.status_code == 201, response.text
    crop = api.get(f"{base}/api/faces/Barack/{response.json()['sample_id']}.jpg", timeout=10)
    face = cv2.imdecode(np.frombuffer(crop.content, np.uint8), cv2.IMREAD_COLOR)
    assert face is not None and 300 < face.shape[0] < 2048, face.shape
    assert api.delete(base + "/api/faces/Barack", timeout=10).status_code == 200

    # The face crop of an event the pipeline recorded on the clip.
    events, _total = faces_app.store.query(camera="hall", has_face=True)
    assert events, "the pipeline recorded no event with a face on walking-by.h264"
    response = api.post(base + "/api/faces/Grace", json={"event_id": events[0].id}, timeout=30)
    assert response.status_code == 201, response.text
    assert response.json()["samples"] == 2

    # Not an image, and an event without a crop: clear 4xx errors, nothing enrolled.
    response = api.post(base + "/api/faces/Grace", files={"file": ("notes.txt", b"hello", "text/plain")}, timeout=10)
    assert response.status_code == 400 and "image" in response.json()["error"]
    response = api.post(base + "/api/faces/Grace", json={"event_id": "1.0-nosuchid"}, timeout=10)
    assert response.status_code in (400, 404) and response.json()["error"]

    # Rename: the crops follow; the old name is gone.
    response = api.patch(base + "/api/faces/Grace", json={"name": "Grace Hopper"}, timeout=10)
    assert response.status_code == 200 and response.json()["name"] == "Grace Hopper"
    assert api.get(base + "/api/faces/Grace", timeout=10).status_code == 404
    person = api.get(base + "/api/faces/Grace Hopper", timeout=10).json()
    assert person["samples"] == 2 and len(person["crops"]) == 2
    crop = api.get(f"{base}/api/faces/Grace Hopper/{person['crops'][0]}.jpg", timeout=10)
    assert crop.status_code == 200 and crop.headers["Content-Type"] == "image/jpeg"
    assert cv2.imdecode(np.frombuffer(crop.content, np.uint8), cv2.IMREAD_COLOR) is not None

    # Delete: the person and their crops go.
    assert api.delete(base + "/api/faces/Grace Hopper", timeout=10).status_code == 200
    assert api.get(base + "/api/faces/Grace Hopper", timeout=10).status_code == 404
    assert api.get(base + "/api/faces", timeout=10).json()["people"] == []


def test_body_limits(faces_app: Any) -> None:
    base = faces_app.web.url
    api = _login(base)
    # Over 10 MB on the upload route: a JSON 413 that says the limit.
    huge = b"\xff\xd8" + bytes(11 << 20)
    response = api.post(base + "/api/faces/Big", files={"file": ("big.jpg", huge, "image/jpeg")}, timeout=60)
    assert response.status_code == 413
    assert "10 MB" in response.json()["error"]
    # Other routes keep the 1 MB limit, also as JSON.
    response = api.post(base + "/api/faces", json={"name": "x" * (2 << 20)}, timeout=30)
    assert response.status_code == 413
    assert "1 MB" in response.json()["error"]
    assert api.get(base + "/api/faces", timeout=10).json()["people"] == []
