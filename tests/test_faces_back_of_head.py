"""The back of a head is not a face: real footage through the whole pipeline (`camwatch replay`).

In one-by-one-person-detection.mp4 six visitors walk up to a table with their backs to the camera
and leave; nobody ever faces it. BlazeFace scores their hair and neck 0.70-0.83, as high as a real
walker's face, so without dlib's second opinion (``faces.verify``) four of the six visits came out
with a "face" — crops of the backs of heads, alike enough to be grouped as one person and named.
walking-by.h264 shows a real face (a man passing in profile, motion-blurred): it is still found.
"""

from __future__ import annotations

import importlib.util

import cv2
import pytest

from tests.conftest import MEDIA, require
from tests.test_replay_faces import ended, face_data_dir, replay


def _needs_dlib() -> None:
    require(importlib.util.find_spec("dlib") is not None, "dlib (the faces extra): the face check")


@pytest.mark.slow
def test_visitors_seen_only_from_behind_have_no_face(tmp_path, ssd_model, shared_media) -> None:
    _needs_dlib()
    data = face_data_dir(tmp_path / "data")
    messages, _ = replay(MEDIA / "one-by-one-person-detection.mp4", data)
    people = ended(messages)
    assert len(people) >= 5, [e["id"] for e in people]  # the visitors were tracked, so their heads were searched
    assert [e["id"] for e in people if e["has_face"]] == []
    assert not list((data / "snapshots").glob("*-face.jpg"))
    # nothing for "Who is this?" either: no kept faces of any visit
    kept = data / "faces" / "events"
    assert not kept.is_dir() or not list(kept.glob("*.jpg"))


def test_a_walker_in_profile_still_has_a_face(tmp_path, ssd_model, shared_media) -> None:
    _needs_dlib()
    data = face_data_dir(tmp_path / "data")
    messages, _ = replay(MEDIA / "walking-by.h264", data)
    faces = [e for e in ended(messages) if e["has_face"]]
    assert faces, [(e["id"], e["has_face"]) for e in ended(messages)]
    for event in faces:
        assert event["face_score"] >= 0.7
        assert cv2.imread(str(data / "snapshots" / f"{event['id']}-face.jpg")) is not None
    # and it is kept for "Who is this?"
    assert list((data / "faces" / "events").glob("*.jpg"))
