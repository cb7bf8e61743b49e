"""The real YOLOX-nano int8 models (416 and 320) on real photos, against the real SSD."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from camwatch.const import MODELS_MANIFEST
from camwatch.detectors.base import Detection
from camwatch.detectors.labels import load_labels
from camwatch.detectors.nms import batched_nms, nms
from camwatch.detectors.plugins import YoloxDetector
from camwatch.detectors.preprocess import PAD_GREY, letterbox
from tests.conftest import MEDIA, MODELS, require

COCO80 = MODELS_MANIFEST.parent / "coco80_labels.txt"
VARIANTS = {416: "yolox_nano_ti_lite_416_full_integer_quant.tflite", 320: "yolox_nano_ti_lite_320_full_integer_quant.tflite"}


def yolox_path(size: int) -> Path:
    path = MODELS / VARIANTS[size]
    require(path.is_file(), f"YOLOX model {path}")
    return path


@pytest.fixture(scope="module", params=sorted(VARIANTS), ids=lambda s: f"yolox{s}")
def yolox(request):
    det = YoloxDetector(yolox_path(request.param), load_labels(COCO80), device="cpu", num_threads=2)
    yield det
    det.close()


def image(name: str) -> np.ndarray:
    img = cv2.imread(str(MEDIA / name))
    assert img is not None, name
    return img


def iou(a, b) -> float:
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def best_match(target: Detection, candidates: list[Detection]) -> float:
    return max((iou(target.box, c.box) for c in candidates if c.label == target.label), default=0.0)


@pytest.mark.parametrize("name", ["grace_hopper.bmp", "kite_and_cold.jpg", "posenet_test_image.bmp"])
def test_person_found(yolox, shared_media, name):
    assert "person" in [d.label for d in yolox.detect(image(name), 0.5)]


def test_no_person_in_pets(yolox, shared_media):
    found = [d.label for d in yolox.detect(image("pets.jpg"), 0.3)]
    assert "person" not in found
    assert found.count("dog") >= 2


def test_car_found(yolox, shared_media):
    assert [d.label for d in yolox.detect(image("traffic_frame_0001.bmp"), 0.5)].count("car") >= 2


def test_model_facts_read_from_model(yolox):
    info = yolox.describe()
    assert info["layout"] == "yolox" and info["device"] == "cpu"
    assert yolox.input_size in ((416, 416), (320, 320))


@pytest.mark.parametrize("name,label", [
    ("grace_hopper.bmp", "person"), ("posenet_test_image.bmp", "person"), ("traffic_frame_0001.bmp", "car"),
])
def test_boxes_land_where_ssd_boxes_land(yolox, detector, shared_media, name, label):
    img = image(name)
    ssd = [d for d in detector.detect(img, 0.5) if d.label == label]
    ours = yolox.detect(img, 0.4)
    assert ssd, f"SSD finds no {label} in {name}"
    for d in ssd:
        assert best_match(d, ours) >= 0.7, (d, ours)


@pytest.mark.parametrize("crop", [
    (0, 60, 640, 440),  # wide: 640x380
    (170, 0, 460, 480),  # tall: 290x480
])
def test_letterbox_maps_boxes_back_for_non_square_regions(yolox, shared_media, crop):
    img = image("posenet_test_image.bmp")  # two people at about x 200..430, y 95..400
    full = [d for d in yolox.detect(img, 0.5) if d.label == "person"]
    in_region = [d for d in yolox.detect_region(img, crop, 0.5) if d.label == "person"]
    assert len(full) == 2 and len(in_region) == 2
    for d in full:
        assert best_match(d, in_region) >= 0.8, (d, in_region)
    x1, y1, x2, y2 = crop
    for d in in_region:
        assert x1 <= d.box[0] < d.box[2] <= x2 and y1 <= d.box[1] < d.box[3] <= y2


def test_input_is_bgr_letterboxed_top_left_with_model_quantization(yolox):
    w, h = yolox.input_size
    blue = np.zeros((50, 100, 3), dtype=np.uint8)
    blue[:, :, 0] = 255  # OpenCV order: B, G, R
    tensor, placement = yolox.preprocess(blue)
    assert tensor.dtype == np.int8 and tensor.shape == (1, h, w, 3)
    assert tensor[0, 0, 0].tolist() == [127, -128, -128]  # blue first, q = pixel - 128
    assert tensor[0, h - 1, w - 1].tolist() == [PAD_GREY - 128] * 3  # padding bottom/right
    assert tensor[0, h // 2 - 2, 0].tolist() == [127, -128, -128]  # image fills the top half
    assert tensor[0, h // 2 + 2, 0].tolist() == [PAD_GREY - 128] * 3
    assert placement.scale_x == pytest.approx(100 / w) and placement.scale_y == pytest.approx(50 / (h // 2), rel=0.02)


def test_letterbox_placement_round_trip():
    frame = np.zeros((300, 900, 3), dtype=np.uint8)
    canvas, placement = letterbox(frame, (416, 416))
    assert canvas.shape == (416, 416, 3)
    assert (canvas[139:, :] == PAD_GREY).all() and (canvas[:138, :] == 0).all()
    assert placement.to_frame(0, 0, 416, 138.67) == pytest.approx((0, 0, 900, 300), abs=2)
    assert placement.to_frame(-5, -5, 500, 500) == (0.0, 0.0, 900.0, 300.0)  # clipped to the frame


def test_nms_keeps_best_of_overlapping_same_class():
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [50, 50, 60, 60], [0, 0, 10, 10]], dtype=np.float32)
    scores = np.array([0.6, 0.9, 0.5, 0.7], dtype=np.float32)
    assert nms(boxes, scores, 0.45).tolist() == [1, 2]
    classes = np.array([0, 0, 0, 1])
    assert sorted(batched_nms(boxes, scores, classes, 0.45).tolist()) == [1, 2, 3]  # class 1 box survives
    assert nms(boxes[:0], scores[:0], 0.45).tolist() == []


def test_two_detectors_side_by_side_and_close(shared_media):
    first = YoloxDetector(yolox_path(320), load_labels(COCO80), device="cpu")
    second = YoloxDetector(yolox_path(416), load_labels(COCO80), device="cpu")
    img = image("grace_hopper.bmp")
    first.close()
    assert "person" in [d.label for d in second.detect(img, 0.5)]
    with pytest.raises(RuntimeError, match="closed"):
        first.detect(img)
    second.close()
