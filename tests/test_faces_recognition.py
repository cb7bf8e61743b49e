"""Recognition with the real dlib embedder (the ``faces`` extra) on our media."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import cv2
import pytest

from camwatch.config.root import CamwatchConfig
from camwatch.faces.blazeface import BlazeFaceDetector
from camwatch.faces.embedder import load_embedder
from camwatch.faces.gallery import FaceGallery
from camwatch.faces.stage import UNKNOWN, FaceStage
from camwatch.track.model import TrackedObject
from tests.conftest import MEDIA, MODELS, ROOT, require

SHORT = MODELS / "face_detection_short_range.tflite"
FULL = MODELS / "face_detection_full_range.tflite"
GIF = MEDIA / "head-pose-face-detection-female-and-male.gif"


@pytest.fixture(scope="module")
def embedder():
    require(importlib.util.find_spec("dlib") is not None, "dlib face embedder (pip install 'camwatch[faces]')")
    require(importlib.util.find_spec("face_recognition_models") is not None, "face_recognition_models")
    require(SHORT.is_file() and FULL.is_file() and GIF.is_file(), "BlazeFace models and head-pose GIF")
    return load_embedder("dlib")


def _benchmark():
    spec = importlib.util.spec_from_file_location("face_recognition_bench", ROOT / "benchmarks" / "face_recognition.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_recognition_figures(embedder) -> None:
    """Measured (docs/faces.md): accuracy 1.00, 0 false accepts, genuine ≥ 0.60 vs impostor ≤ 0.41."""
    result = _benchmark().evaluate(MODELS, MEDIA, probe_step=4)
    assert result["probes"] >= 20 and result["strangers"] == 3
    assert result["identification_accuracy"] >= 0.95
    assert result["stranger_false_accepts"] == 0
    assert result["impostor_false_accept_rate"] <= 0.02
    assert result["genuine_similarity_min"] - result["impostor_similarity_max"] > 0.05
    assert result["threshold"] == embedder.default_threshold


def _frames() -> list:
    capture = cv2.VideoCapture(str(GIF))
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok:
            return frames
        frames.append(frame)


def _person(object_id: str, box, size) -> TrackedObject:
    obj = TrackedObject(object_id, "door", "person", box, 0.7, 0.0, 0.0, size)
    obj.confirmed = obj.seen_this_frame = True
    return obj


def test_stage_names_known_people_and_calls_others_unknown(embedder, data_dir: Path) -> None:
    frames = _frames()
    detector = BlazeFaceDetector(SHORT)
    # Enrol only the woman on the left, through a separate gallery connection (as the web API does).
    web_gallery = FaceGallery(data_dir, embedder)
    for index in (0, 20, 40):  # a few poses, as the docs advise
        face = detector.detect_region(frames[index], (0, 0, 240, 270), 0.7)[0]
        web_gallery.enrol("Alice", frames[index], face.box, "test")

    config = CamwatchConfig.model_validate(
        # sure_threshold 1: no single match names anyone, so the two-match rule is what is tested
        {"cameras": {"door": {"url": "x.mp4"}}, "faces": {"enabled": True, "recognition_interval": 0, "sure_threshold": 1.0}}
    )
    stage = FaceStage(config, "door", data_dir, model_path=SHORT, face_camera_model_path=FULL, embedder=embedder)
    size = (480, 270)
    left, right = _person("left", (20, 66, 213, 267), size), _person("right", (248, 50, 447, 270), size)
    results = {r.object_id: r for r in stage.process(frames[30], [left, right], 0.0)}
    assert results["left"].name == UNKNOWN  # one match is not a name yet (faces.name_votes: 2)
    results = {r.object_id: r for r in stage.process(frames[32], [left, right], 1.0)}
    assert results["left"].name == "Alice" and results["left"].name_score >= 0.5
    assert results["right"].name == UNKNOWN and results["right"].name_score is None

    # A person enrolled later through the other connection is seen without a restart.
    for index in (0, 20, 40):
        face = detector.detect_region(frames[index], (240, 0, 480, 270), 0.7)[0]
        web_gallery.enrol("Bob", frames[index], face.box, "test")
    right2 = _person("right2", right.box, size)
    for ts, index in ((2.0, 45), (3.0, 47)):
        results = {r.object_id: r for r in stage.process(frames[index], [left, right2], ts)}
    assert results["right2"].name == "Bob"
    assert results["left"].name == "Alice"
    web_gallery.delete("Alice")
    left2 = _person("left2", left.box, size)
    for ts, index in ((4.0, 50), (5.0, 52)):
        results = {r.object_id: r for r in stage.process(frames[index], [left2, right2], ts)}
    assert results["left2"].name == UNKNOWN
    web_gallery.close()


def test_reembed_after_installing_an_embedder(embedder, data_dir: Path) -> None:
    """Faces enrolled on a detection-only install become recognisable once dlib is there."""
    frames = _frames()
    detector = BlazeFaceDetector(SHORT)
    plain = FaceGallery(data_dir)
    for index in (0, 20, 40):
        face = detector.detect_region(frames[index], (0, 0, 240, 270), 0.7)[0]
        plain.enrol("Alice", frames[index], face.box, "test")
    plain.close()
    gallery = FaceGallery(data_dir, embedder)
    assert gallery.best_match(embedder.embed(frames[0], face.box)) is None  # no dlib embeddings yet
    assert gallery.reembed() == 3
    probe = detector.detect_region(frames[30], (0, 0, 240, 270), 0.7)[0]
    match = gallery.best_match(embedder.embed(frames[30], probe.box))
    assert match is not None and match.name == "Alice" and match.score >= embedder.default_threshold
    gallery.close()
