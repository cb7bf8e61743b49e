"""The real SSD model on real photos, runtime selection and the Edge TPU path."""

from __future__ import annotations

import logging

import cv2
import numpy as np
import pytest

from camwatch.detectors.plugins.ssd import ModelError, SsdDetector, load_labels
from camwatch.detectors.runtime import EdgeTpuUnavailable, available_runtimes, select_runtime
from tests.conftest import COCO_LABELS, MEDIA


def labels_found(detector, name: str, threshold: float = 0.5) -> list[str]:
    image = cv2.imread(str(MEDIA / name))
    assert image is not None, name
    return [d.label for d in detector.detect(image, threshold)]


@pytest.mark.parametrize("name", ["grace_hopper.bmp", "kite_and_cold.jpg", "posenet_test_image.bmp"])
def test_person_found(detector, shared_media, name):
    assert "person" in labels_found(detector, name)


def test_car_found(detector, shared_media):
    assert labels_found(detector, "traffic_frame_0001.bmp").count("car") >= 1


def test_no_person_in_pets(detector, shared_media):
    found = labels_found(detector, "pets.jpg", threshold=0.3)
    assert "person" not in found
    assert "dog" in found


def test_model_facts_read_from_model(detector):
    assert detector.input_size == (300, 300)
    info = detector.describe()
    assert info["runtime"] in ("litert", "tflite_runtime")
    assert info["device"] == "cpu"


def test_boxes_are_in_frame_pixels(detector, shared_media):
    image = cv2.imread(str(MEDIA / "grace_hopper.bmp"))  # 512x600 portrait, one person filling it
    h, w = image.shape[:2]
    person = max((d for d in detector.detect(image, 0.5) if d.label == "person"), key=lambda d: d.score)
    x1, y1, x2, y2 = person.box
    assert 0 <= x1 < x2 <= w and 0 <= y1 < y2 <= h
    assert (x2 - x1) > 0.6 * w and (y2 - y1) > 0.6 * h  # the figure fills the portrait


def test_region_boxes_map_back_to_the_frame(detector, shared_media):
    image = cv2.imread(str(MEDIA / "grace_hopper.bmp"))
    canvas = np.zeros((1000, 1400, 3), dtype=np.uint8)
    canvas[300:900, 700:1212] = image
    dets = [d for d in detector.detect_region(canvas, (650, 250, 1262, 950), 0.5) if d.label == "person"]
    assert dets
    x1, y1, x2, y2 = dets[0].box
    assert 670 <= x1 < x2 <= 1240 and 270 <= y1 < y2 <= 930  # the pasted photo is at (700..1212, 300..900)
    assert (x2 - x1) > 400


def test_letterbox_keeps_boxes_aligned(ssd_model, shared_media):
    det = SsdDetector(ssd_model, load_labels(COCO_LABELS), device="cpu", resize="letterbox")
    image = cv2.imread(str(MEDIA / "posenet_test_image.bmp"))
    people = [d for d in det.detect(image, 0.4) if d.label == "person"]
    assert people
    for d in people:
        assert d.box[2] <= image.shape[1] and d.box[3] <= image.shape[0]


def test_inference_time_is_averaged(detector, shared_media):
    image = cv2.imread(str(MEDIA / "pets.jpg"))
    detector.detect(image)
    assert detector.inference_ms > 0


def test_bad_image_is_a_clear_error(detector):
    with pytest.raises(ValueError, match="non-empty BGR image"):
        detector.detect(np.zeros((0, 0, 3), dtype=np.uint8))


def test_litert_preferred_when_present():
    runtimes = available_runtimes()
    assert runtimes, "no TFLite runtime installed"
    assert select_runtime("auto").name == runtimes[0]
    if "litert" in runtimes:
        assert select_runtime("auto").name == "litert"


def test_missing_runtime_named_clearly():
    if "tflite_runtime" in available_runtimes():
        pytest.skip("tflite-runtime is installed here")
    with pytest.raises(RuntimeError, match="tflite_runtime"):
        select_runtime("tflite_runtime")


def test_missing_model_file(tmp_path):
    with pytest.raises(ModelError, match="model file not found"):
        SsdDetector(tmp_path / "nope.tflite", ["person"], device="cpu")


def test_not_a_model(tmp_path):
    bogus = tmp_path / "bogus.tflite"
    bogus.write_bytes(b"this is not a flatbuffer" * 100)
    with pytest.raises(ModelError, match="cannot load model"):
        SsdDetector(bogus, ["person"], device="cpu")


def test_explicit_edgetpu_without_one_is_a_clear_error(ssd_model):
    with pytest.raises(EdgeTpuUnavailable, match="libedgetpu"):
        SsdDetector(ssd_model, load_labels(COCO_LABELS), device="usb", edgetpu_model_path=ssd_model)


def test_auto_falls_back_to_cpu_with_one_log_line(ssd_model, caplog):
    caplog.set_level(logging.INFO, logger="camwatch")
    det = SsdDetector(ssd_model, load_labels(COCO_LABELS), device="auto", edgetpu_model_path=ssd_model)
    assert det.device == "cpu"
    lines = [r.getMessage() for r in caplog.records if "Edge TPU" in r.getMessage()]
    assert len(lines) == 1 and "running the detector on the CPU" in lines[0]


def test_edgetpu_options_reach_the_delegate(ssd_model):
    """Everything up to the delegate load: the device option is passed as Coral expects."""
    from camwatch.detectors.runtime import edgetpu_options, load_edgetpu_delegate

    assert edgetpu_options("usb:1") == {"device": "usb:1"}
    assert edgetpu_options("pci") == {"device": "pci"}
    assert edgetpu_options("auto") == {}
    calls = []

    class RecordingRuntime:
        name = "recording"

        def load_delegate(self, library, options):
            calls.append((library, options))
            raise OSError(f"{library}: cannot open shared object file")

    with pytest.raises(EdgeTpuUnavailable):
        load_edgetpu_delegate(RecordingRuntime(), "usb:0")
    assert calls == [("libedgetpu.so.1", {"device": "usb:0"})]
