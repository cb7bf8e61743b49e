"""The per-camera alert "a face I do not know", end to end: a real camwatch (SSD detector, faces
on, dlib) processes the head-pose clip (two people facing the camera) on two cameras, with a
json:// notification destination on a local endpoint.

The woman on the left is enrolled beforehand; the man is not. Only the camera that asks for it
("Desk") sends "Unknown face at Desk" — once, for the man — and the camera that does not ("Door")
sends none; the woman, known, never raises it.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import cv2

from camwatch.faces.blazeface import BlazeFaceDetector
from camwatch.faces.embedder import load_embedder
from camwatch.faces.gallery import FaceGallery
from tests.conftest import MEDIA, MODELS, require
from tests.support.netutil import free_port
from tests.support.notify_endpoint import NotifyEndpoint
from tests.support.web import run_clips

CLIP = MEDIA / "head-pose-face-detection-female-and-male.gif"


def _enrol_the_woman(data_dir: Path) -> None:
    capture = cv2.VideoCapture(str(CLIP))
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame)
    detector = BlazeFaceDetector(MODELS / "face_detection_short_range.tflite")
    gallery = FaceGallery(data_dir, load_embedder("dlib"))
    for index in (0, 20, 40):  # three poses of the woman on the left half
        face = detector.detect_region(frames[index], (0, 0, 240, 270), 0.7)[0]
        gallery.enrol("Alice", frames[index], face.box, "test")
    gallery.close()


def test_unknown_face_alert_only_where_asked_and_only_for_strangers(tmp_path: Path, ssd_model: Path) -> None:
    require(importlib.util.find_spec("dlib") is not None, "dlib face recognition (the faces extra)")
    require(CLIP.is_file(), f"clip {CLIP}")
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    _enrol_the_woman(data_dir)
    with NotifyEndpoint() as hook:
        cameras = {
            "desk": {"name": "Desk", "url": str(CLIP), "source": {"realtime": False}, "faces": {"unknown_alert": True}},
            "door": {"name": "Door", "url": str(CLIP), "source": {"realtime": False}},
        }
        notify = {"retries": 0, "destinations": {"phone": {"url": hook.apprise_url("/phone"), "min_interval": 0}}}
        app = run_clips(tmp_path, {}, web_port=free_port(), cameras=cameras, notify=notify)
        try:
            events, _ = app.store.query(has_face=True, limit=50)
            ended = {cam: [e for e in events if e.camera == cam] for cam in cameras}
            assert all(len(found) == 2 for found in ended.values()), [(e.camera, e.sub_label) for e in events]
            strangers = [e for e in ended["desk"] if e.sub_label == "unknown"]
            assert len(strangers) == 1 and {e.sub_label for e in ended["desk"]} == {"Alice", "unknown"}, ended
            assert app.notifications.wait_idle(30)
        finally:
            app.stop()
        titles = [n.title for n in hook.received]
    unknown = [t for t in titles if t.startswith("Unknown face")]
    assert unknown == ["Unknown face at Desk"], titles
    note = next(n for n in hook.received if n.title == "Unknown face at Desk")
    assert "nobody here knows" in note.message
    assert any(t.startswith("Person at Door") or t.startswith("Alice at Door") for t in titles), titles
