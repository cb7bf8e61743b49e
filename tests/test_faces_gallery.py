"""The known-faces gallery and its API blueprint (Flask test client, real BlazeFace)."""

from __future__ import annotations

import io
from pathlib import Path

import cv2
import numpy as np
import pytest
from flask import Flask

from camwatch.events.snapshots import snapshot_path
from camwatch.faces.enrol import FaceFinder
from camwatch.faces.gallery import FaceGallery, GalleryError, validate_name
from camwatch.web.faces_api import faces_bp, make_faces_blueprint
from tests.conftest import MODELS, require

SHORT = MODELS / "face_detection_short_range.tflite"
FULL = MODELS / "face_detection_full_range.tflite"


@pytest.fixture(scope="module")
def finder() -> FaceFinder:
    require(SHORT.is_file() and FULL.is_file(), f"BlazeFace models in {MODELS}")
    return FaceFinder([SHORT, FULL])


@pytest.fixture
def gallery(data_dir: Path):
    g = FaceGallery(data_dir)  # no embedder: the API works for detection-only installs too
    yield g
    g.close()


@pytest.fixture
def client(gallery: FaceGallery, finder: FaceFinder, data_dir: Path):
    app = Flask(__name__)
    app.register_blueprint(make_faces_blueprint(gallery, finder, data_dir / "snapshots"))
    return app.test_client()


def _jpeg(path: Path) -> bytes:
    ok, data = cv2.imencode(".jpg", cv2.imread(str(path)))
    assert ok
    return data.tobytes()


def test_names_are_validated() -> None:
    assert validate_name("  Alice   Smith ") == "Alice Smith"
    for bad in ("", "   ", "a/b", "x" * 65, "unknown", "Unknown", "bell\x07", 5):
        with pytest.raises(GalleryError):
            validate_name(bad)


def test_create_rename_delete_through_the_api(client, gallery: FaceGallery, shared_media: Path) -> None:
    assert client.get("/api/faces").get_json() == {"people": [], "recognition": None}
    response = client.post("/api/faces", json={"name": "Grace"})
    assert response.status_code == 201 and response.get_json()["samples"] == 0
    assert client.post("/api/faces", json={"name": "grace"}).status_code == 409  # names ignore case
    assert client.post("/api/faces", json={"name": ""}).status_code == 400
    assert client.post("/api/faces", data="name=x").status_code == 400

    upload = {"file": (io.BytesIO(_jpeg(shared_media / "grace_hopper.bmp")), "grace.jpg")}
    response = client.post("/api/faces/Grace", data=upload, content_type="multipart/form-data")
    assert response.status_code == 201, response.get_json()
    sample_id = response.get_json()["sample_id"]
    assert response.get_json()["samples"] == 1
    crops = gallery.crops("Grace")
    assert len(crops) == 1 and crops[0].is_file()
    crop = cv2.imread(str(crops[0]))
    assert 150 < crop.shape[0] < 400  # the face with a margin, not the whole 600 px portrait
    image = client.get(f"/api/faces/Grace/{sample_id}.jpg")
    assert image.status_code == 200 and image.mimetype == "image/jpeg"

    response = client.patch("/api/faces/Grace", json={"name": "Grace Hopper"})
    assert response.status_code == 200 and response.get_json()["name"] == "Grace Hopper"
    assert client.get("/api/faces/Grace").status_code == 404
    assert client.get("/api/faces/Grace Hopper").get_json()["crops"] == [sample_id]
    assert crops[0].is_file()  # a rename keeps the crops

    client.post("/api/faces", json={"name": "Bob"})
    assert client.patch("/api/faces/Bob", json={"name": "grace hopper"}).status_code == 409

    assert client.delete("/api/faces/Grace Hopper").status_code == 200
    assert not crops[0].exists() and not crops[0].parent.exists()
    assert [p["name"] for p in client.get("/api/faces").get_json()["people"]] == ["Bob"]
    assert client.delete("/api/faces/Grace Hopper").status_code == 404


def test_enrol_from_an_event_face_crop(client, gallery: FaceGallery, data_dir: Path, shared_media: Path) -> None:
    frame = cv2.imread(str(shared_media / "face.jpg"))
    snapshots = data_dir / "snapshots"
    snapshots.mkdir()
    # what FaceStage hands over and SnapshotWriter.save_face writes: the face with a 25 % margin
    cv2.imwrite(str(snapshot_path(snapshots, "1700000000.0-abc123", "face")), frame[44:196, 229:380])
    response = client.post("/api/faces/Visitor", json={"event_id": "1700000000.0-abc123"})
    assert response.status_code == 201, response.get_json()
    assert gallery.get("Visitor").samples == 1
    assert client.post("/api/faces/Visitor", json={"event_id": "1700000001.0-none"}).status_code == 404
    assert client.post("/api/faces/Visitor", json={"event_id": "../../etc/passwd"}).status_code == 400
    assert client.post("/api/faces/Visitor", json={"event": 1}).status_code == 400


def test_bad_uploads_lose_nothing(client, gallery: FaceGallery, shared_media: Path) -> None:
    client.post("/api/faces", json={"name": "Grace"})
    upload = {"file": (io.BytesIO(_jpeg(shared_media / "grace_hopper.bmp")), "g.jpg")}
    assert client.post("/api/faces/Grace", data=upload, content_type="multipart/form-data").status_code == 201

    garbage = {"file": (io.BytesIO(b"not an image"), "x.jpg")}
    response = client.post("/api/faces/Grace", data=garbage, content_type="multipart/form-data")
    assert response.status_code == 400 and "image" in response.get_json()["error"]
    ok, blank = cv2.imencode(".png", np.full((200, 200, 3), 127, np.uint8))
    no_face = {"file": (io.BytesIO(blank.tobytes()), "wall.png")}
    response = client.post("/api/faces/Grace", data=no_face, content_type="multipart/form-data")
    assert response.status_code == 400 and "no face" in response.get_json()["error"]
    assert gallery.get("Grace").samples == 1  # the earlier enrolment is intact
    assert len(gallery.crops("Grace")) == 1


def test_blueprint_reads_the_gallery_from_the_app(gallery: FaceGallery, finder: FaceFinder, data_dir: Path) -> None:
    class Holder:  # stands for WebContext with the attributes the blueprint reads
        faces_gallery = gallery
        faces_finder = finder

    Holder.data_dir = data_dir
    app = Flask(__name__)
    app.extensions["camwatch"] = Holder()
    app.register_blueprint(faces_bp)
    client = app.test_client()
    assert client.post("/api/faces", json={"name": "Ann"}).status_code == 201
    assert gallery.get("Ann").name == "Ann"

    Holder.faces_gallery = None  # faces disabled
    assert client.get("/api/faces").status_code == 503


def test_embedder_choice_is_checked() -> None:
    from camwatch.faces.embedder import load_embedder

    assert load_embedder("none") is None
    with pytest.raises(ValueError, match="unknown face embedder"):
        load_embedder("arcface")


def test_gallery_without_embedder_matches_nobody(gallery: FaceGallery, shared_media: Path) -> None:
    image = cv2.imread(str(shared_media / "grace_hopper.bmp"))
    gallery.enrol("Grace", image, (168.0, 142.0, 365.0, 340.0), "test")
    assert gallery.best_match(np.zeros(128, np.float32)) is None
    assert gallery.reembed() == 0
    with pytest.raises(GalleryError, match="outside"):
        gallery.enrol("Grace", image, (900.0, 900.0, 990.0, 990.0), "test")
    assert gallery.get("grace").samples == 1


def test_photos_of_any_size_are_shrunk_not_refused() -> None:
    from camwatch.faces.enrol import PHOTO_SIDE, decode_image, image_size

    photo = np.zeros((6000, 4500, 3), np.uint8)
    cv2.circle(photo, (2250, 3000), 1500, (40, 120, 200), -1)
    for ext in (".jpg", ".png", ".bmp"):
        ok, data = cv2.imencode(ext, photo)
        assert ok
        assert image_size(data.tobytes())[1:] == (4500, 6000), ext
        image = decode_image(data.tobytes())
        assert image.shape == (PHOTO_SIDE, 1536, 3), ext  # aspect kept
        assert abs(int(image[1024, 768, 2]) - 200) < 8  # the picture, not noise
    # A PNG whose header promises 40000x40000 px (gigabytes once unpacked): one clear error.
    header = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\x0dIHDR" + (40000).to_bytes(4, "big") * 2 + bytes(20)
    with pytest.raises(GalleryError, match="too large"):
        decode_image(header)
    with pytest.raises(GalleryError, match="not a readable image"):
        decode_image(b"\xff\xd8\xff\xe0 truncated")
