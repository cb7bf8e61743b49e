"""The faces of recorded events through the web API (Flask test client, real BlazeFace, dlib when
installed): a photo of two people is refused, a face too small to recognise is refused with the
reason, "this is not X" moves the event's sample or drops it, dismissing, and the per-camera alert
on unknown faces written to config.yml."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import pytest
import yaml

from camwatch.events.snapshots import SnapshotWriter
from camwatch.faces.embedder import load_embedder
from camwatch.faces.enrol import FaceFinder
from camwatch.faces.gallery import FaceGallery
from camwatch.web import create_app
from tests.conftest import MEDIA, MODELS, SHARED, require
from tests.support.web import add_event, make_context, setup_and_login

SHORT = MODELS / "face_detection_short_range.tflite"
FULL = MODELS / "face_detection_full_range.tflite"


@pytest.fixture
def env(tmp_path: Path, shared_media: Path) -> Iterator[tuple[Any, Any, dict[str, str], FaceGallery, FaceFinder]]:
    require(SHORT.is_file() and FULL.is_file(), f"BlazeFace models in {MODELS}")
    ctx = make_context(tmp_path, cameras=("front", "back"))
    finder = FaceFinder([SHORT, FULL])
    gallery = FaceGallery(ctx.data_dir, load_embedder("auto"))
    ctx.faces_gallery, ctx.faces_finder = gallery, finder
    app = create_app(ctx)
    client = app.test_client()
    headers = {"X-CSRF-Token": setup_and_login(client)}
    yield ctx, client, headers, gallery, finder
    app.extensions["camwatch.accounts"].close()
    gallery.close()
    ctx.store.close()


def _upload(client: Any, headers: dict[str, str], name: str, path: Path) -> Any:
    data = cv2.imencode(".jpg", cv2.imread(str(path)))[1].tobytes()
    return client.post(f"/api/faces/{name}", data={"file": (io.BytesIO(data), path.name)}, headers=headers,
                       content_type="multipart/form-data")


def _event_with_face(ctx: Any, finder: FaceFinder, frame: Any, scale: float = 1.0, **fields: Any) -> Any:
    """A recorded event whose face crop is the photo's face (shrunk by ``scale``), cut as the pipeline does."""
    face = finder.find(frame)
    assert face is not None
    x1, y1, x2, y2 = (int(v) for v in face.box)
    m = (x2 - x1) // 4
    crop = frame[max(0, y1 - m):y2 + m, max(0, x1 - m):x2 + m]
    crop = cv2.resize(crop, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale != 1.0 else crop
    event = add_event(ctx, frame, has_face=True, face_score=0.9, **fields)
    assert SnapshotWriter(ctx.store.snapshot_dir).save_face(event.id, crop)
    return event


def test_a_photo_of_two_people_is_refused_with_the_reason(env: Any) -> None:
    _ctx, client, headers, gallery, _finder = env
    response = _upload(client, headers, "Joe", MEDIA / "face.jpg")  # two men in front, two behind
    assert response.status_code == 400
    assert "faces" in response.get_json()["error"] and "alone" in response.get_json()["error"]
    assert gallery.people() == []  # nothing enrolled, nobody created
    both = SHARED / "faces-eval" / "photos" / "knn" / "test" / "obama_and_biden.jpg"
    assert _upload(client, headers, "Joe", both).status_code == 400
    # One person (with a seal behind him that BlazeFace scores 0.75 as a face) is accepted.
    one = SHARED / "faces-eval" / "photos" / "knn" / "test" / "obama1.jpg"
    assert _upload(client, headers, "Barack", one).status_code == 201
    assert [p.name for p in gallery.people()] == ["Barack"]


def test_a_face_too_small_to_recognise_is_not_enrolled_and_the_page_says_why(env: Any) -> None:
    ctx, client, headers, gallery, finder = env
    frame = cv2.imread(str(MEDIA / "grace_hopper.bmp"))
    tiny = _event_with_face(ctx, finder, frame, scale=0.12)  # a ~24 px face
    groups = client.get("/api/faces/unknown").get_json()["groups"]
    card = next(g for g in groups if g["key"] == tiny.id)
    assert card["usable"] is False and "too small" in card["reason"]
    response = client.post("/api/faces/Grace", json={"event_ids": [tiny.id]}, headers=headers)
    assert response.status_code == 400 and "too small" in response.get_json()["error"]
    assert gallery.people() == []


def test_this_is_not_x_moves_the_sample_or_drops_it(env: Any) -> None:
    ctx, client, headers, gallery, finder = env
    frame = cv2.imread(str(MEDIA / "grace_hopper.bmp"))
    event = _event_with_face(ctx, finder, frame, camera="front", sub_label="unknown")
    assert client.post("/api/faces/Joe", json={"event_ids": [event.id]}, headers=headers).status_code == 201
    assert ctx.store.get(event.id).sub_label == "Joe"
    samples = gallery.samples_from(f"event:{event.id}")
    assert samples and [s.id for s in gallery.samples("Joe")] == samples

    # "This is not Joe, it is Grace": the sample moves, Joe keeps nothing of this event.
    response = client.put(f"/api/faces/events/{event.id}", json={"name": "Grace"}, headers=headers)
    assert response.status_code == 200, response.data
    assert response.get_json()["was"] == "Joe" and response.get_json()["moved"] == len(samples)
    assert [s.id for s in gallery.samples("Grace")] == samples and gallery.samples("Joe") == []
    stored = ctx.store.get(event.id)
    assert stored.sub_label == "Grace" and stored.attributes["face_named"]["was"] == "Joe"
    crop = client.get(client.get("/api/faces/Grace").get_json()["sample_list"][0]["url"])
    assert crop.status_code == 200  # the crop file moved with the sample

    # "Nobody I know": the sample is dropped, the event says unknown and stays out of "Who is this?".
    response = client.put(f"/api/faces/events/{event.id}", json={"name": None}, headers=headers)
    assert response.get_json()["dropped"] == len(samples) and gallery.samples("Grace") == []
    assert ctx.store.get(event.id).sub_label == "unknown"
    assert event.id not in [f["event_id"] for f in client.get("/api/faces/unknown").get_json()["faces"]]

    # Bad requests: one clear answer each.
    assert client.put(f"/api/faces/events/{event.id}", json={}, headers=headers).status_code == 400
    assert client.put("/api/faces/events/nope", json={"name": "A"}, headers=headers).status_code == 404
    assert client.put(f"/api/faces/events/{event.id}", json={"name": "a/b"}, headers=headers).status_code == 400


def test_dismissed_faces_leave_who_is_this(env: Any) -> None:
    ctx, client, headers, _gallery, finder = env
    frame = cv2.imread(str(MEDIA / "grace_hopper.bmp"))
    first, second = (_event_with_face(ctx, finder, frame, start=t) for t in (1000.0, 2000.0))
    listed = {e for g in client.get("/api/faces/unknown").get_json()["groups"] for e in g["events"]}
    assert {first.id, second.id} <= listed
    response = client.post("/api/faces/unknown/dismiss", json={"event_ids": [first.id]}, headers=headers)
    assert response.status_code == 200 and response.get_json() == {"dismissed": 1}
    listed = {e for g in client.get("/api/faces/unknown").get_json()["groups"] for e in g["events"]}
    assert first.id not in listed and second.id in listed
    for bad in ({}, {"event_ids": []}, {"event_ids": ["../x"]}, {"event_ids": "x"}):
        assert client.post("/api/faces/unknown/dismiss", json=bad, headers=headers).status_code == 400


def test_unknown_face_alert_per_camera_is_saved_in_the_config(env: Any) -> None:
    ctx, client, headers, _gallery, _finder = env
    cameras = client.get("/api/faces/unknown/alerts").get_json()["cameras"]
    assert [(c["camera"], c["unknown_alert"]) for c in cameras] == [("front", False), ("back", False)]
    response = client.put("/api/faces/unknown/alerts", json={"camera": "back", "unknown_alert": True}, headers=headers)
    assert response.status_code == 200
    saved = yaml.safe_load(ctx.config_path.read_text())
    assert saved["cameras"]["back"]["faces"] == {"unknown_alert": True}
    assert ctx.config.cameras["back"].faces.unknown_alert and not ctx.config.cameras["front"].faces.unknown_alert
    assert client.put("/api/faces/unknown/alerts", json={"camera": "side", "unknown_alert": True},
                      headers=headers).status_code == 404
    assert client.put("/api/faces/unknown/alerts", json={"camera": "back", "unknown_alert": "yes"},
                      headers=headers).status_code == 400
