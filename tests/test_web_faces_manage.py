"""Managing known faces from the web UI: the Faces page, unnamed faces from events, enrolling
an event's face crop, listing and deleting one sample, the event page's "Who is this?".
Real BlazeFace finds the faces; the dlib embedder is used when it is installed."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from camwatch.events.model import Event, EventMessage
from camwatch.events.snapshots import SnapshotWriter
from camwatch.faces.embedder import load_embedder
from camwatch.faces.enrol import FaceFinder
from camwatch.faces.gallery import FaceGallery
from camwatch.web import create_app
from tests.conftest import MEDIA, MODELS, require
from tests.support.web import add_event, make_context, setup_and_login

SHORT = MODELS / "face_detection_short_range.tflite"
FULL = MODELS / "face_detection_full_range.tflite"


@pytest.fixture
def env(tmp_path: Path, shared_media: Path) -> Iterator[tuple[Any, Any, str, list[Any], FaceGallery]]:
    require(SHORT.is_file() and FULL.is_file(), f"BlazeFace models in {MODELS}")
    ctx = make_context(tmp_path)
    finder = FaceFinder([SHORT, FULL])
    gallery = FaceGallery(ctx.data_dir, load_embedder("auto"))
    ctx.faces_gallery, ctx.faces_finder = gallery, finder
    frame = cv2.imread(str(MEDIA / "grace_hopper.bmp"))
    face = finder.find(frame)
    assert face is not None
    x1, y1, x2, y2 = (int(v) for v in face.box)
    m = (x2 - x1) // 2
    crop = frame[max(0, y1 - m):y2 + m, max(0, x1 - m):x2 + m]
    now = time.time()
    events = []
    for i, sub_label in enumerate(["unknown", None, "unknown"]):
        event = add_event(ctx, frame, start=now - 600 + i * 60, has_face=True, face_score=0.9, sub_label=sub_label)
        assert SnapshotWriter(ctx.store.snapshot_dir).save_face(event.id, crop)
        events.append(event)
    events.append(add_event(ctx, frame, start=now - 100))  # no face at all
    app = create_app(ctx)
    client = app.test_client()
    csrf = setup_and_login(client)
    yield ctx, client, csrf, events, gallery
    app.extensions["camwatch.accounts"].close()
    gallery.close()
    ctx.store.close()


def test_unnamed_faces_enrol_list_and_delete_one_sample(env: Any) -> None:
    ctx, client, csrf, events, gallery = env
    headers = {"X-CSRF-Token": csrf}
    unknown = client.get("/api/faces/unknown").get_json()["faces"]
    assert [f["event_id"] for f in unknown] == [events[2].id, events[1].id, events[0].id]  # newest first
    assert client.get(unknown[0]["face_url"]).status_code == 200
    assert unknown[0]["event_url"] == f"/events/{events[2].id}"

    # One click on an unnamed face: it becomes Grace's first sample, the event carries her name,
    # and it leaves the list.
    response = client.post("/api/faces/Grace", json={"event_id": events[2].id}, headers=headers)
    assert response.status_code == 201, response.data
    assert ctx.store.get(events[2].id).sub_label == "Grace"
    unknown = client.get("/api/faces/unknown").get_json()["faces"]
    assert [f["event_id"] for f in unknown] == [events[1].id, events[0].id]
    # An upload adds a second sample.
    photo = cv2.imencode(".jpg", cv2.imread(str(MEDIA / "grace_hopper.bmp")))[1].tobytes()
    response = client.post("/api/faces/Grace", data={"file": (io.BytesIO(photo), "grace.jpg")}, headers=headers,
                           content_type="multipart/form-data")
    assert response.status_code == 201, response.data

    person = client.get("/api/faces/Grace").get_json()
    assert person["samples"] == 2 and len(person["crops"]) == 2  # the gallery API keeps its shape
    listed = person["sample_list"]
    assert [s["source"] for s in listed] == [f"event:{events[2].id}", "upload:grace.jpg"]
    assert all(s["embedded"] == (gallery.embedder is not None) for s in listed)
    crop = client.get(listed[0]["url"])
    assert crop.status_code == 200 and cv2.imdecode(np.frombuffer(crop.data, np.uint8), cv2.IMREAD_COLOR) is not None

    # Delete one sample: its crop file and its row (and embedding) go, the other stays.
    first = gallery.directory / gallery.crops("Grace")[0].relative_to(gallery.directory)
    response = client.delete(f"/api/faces/Grace/{listed[0]['id']}", headers=headers)
    assert response.status_code == 200 and response.get_json()["samples"] == 1
    assert not first.exists()
    assert [s.id for s in gallery.samples("Grace")] == [listed[1]["id"]]
    assert client.delete(f"/api/faces/Grace/{listed[0]['id']}", headers=headers).status_code == 404
    # The homeowner named that event: it stays named, out of "Who is this?", without the sample.
    assert events[2].id not in [f["event_id"] for f in client.get("/api/faces/unknown").get_json()["faces"]]

    # A recognised face is not "unnamed".
    ctx.store.handle("event", _renamed(events[1], "Grace"))
    assert events[1].id not in [f["event_id"] for f in client.get("/api/faces/unknown").get_json()["faces"]]
    assert client.get("/api/faces/unknown?limit=0").status_code == 400
    assert client.get("/api/faces/unknown?limit=1").get_json()["faces"][0]["event_id"] == events[0].id


def test_pages_show_the_faces_and_who_is_this(env: Any) -> None:
    _ctx, client, _csrf, events, gallery = env
    page = client.get("/faces")
    assert page.status_code == 200 and b"Who is this?" in page.data and b"faces.js" in page.data
    expected = b"Recognition is on" if gallery.embedder is not None else b"Recognition is not installed"
    assert expected in page.data
    with_face = client.get(f"/events/{events[0].id}")
    assert b'id="event-face"' in with_face.data and b"event_face.js" in with_face.data
    without = client.get(f"/events/{events[3].id}")
    assert b'id="event-face"' not in without.data
    spec = client.get("/api/openapi.json").get_json()["paths"]
    assert "delete" in spec["/api/faces/{name}/{sample_id}"] and "get" in spec["/api/faces/unknown"]


def _renamed(event: Event, name: str) -> EventMessage:
    return EventMessage("end", Event.from_dict({**event.to_dict(), "sub_label": name}))
