"""Layout recognition and refusal of wrong model files, with the real files from ../shared."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from camwatch.config.detector import DetectorConfig
from camwatch.const import MODELS_MANIFEST
from camwatch.detectors.base import ModelError
from camwatch.detectors.factory import create_detector
from camwatch.detectors.labels import load_labels
from camwatch.detectors.layout import BLAZEFACE, SSD, YOLOX, detect_layout
from camwatch.detectors.plugins import SsdDetector, YoloxDetector
from camwatch.detectors.runtime import open_model, select_runtime
from camwatch.models import ModelManager
from tests.conftest import COCO_LABELS, MEDIA, MODELS, SSD_MODEL, require

YOLOX_320 = MODELS / "yolox_nano_ti_lite_320_full_integer_quant.tflite"
YOLOX_416 = MODELS / "yolox_nano_ti_lite_416_full_integer_quant.tflite"
FACE = MODELS / "face_detection_short_range.tflite"
COCO80 = MODELS_MANIFEST.parent / "coco80_labels.txt"


@pytest.fixture(autouse=True)
def no_host_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Never read /etc/camwatch/config.yml: point CAMWATCH_CONFIG at a file that does not exist."""
    monkeypatch.setenv("CAMWATCH_CONFIG", str(tmp_path / "absent.yml"))


@pytest.fixture(scope="module")
def shared_models() -> Path:
    for path in (SSD_MODEL, YOLOX_320, YOLOX_416, FACE):
        require(path.is_file(), f"model {path}")
    return MODELS


@pytest.mark.parametrize("name,layout,classes", [
    (SSD_MODEL.name, SSD, None),
    (YOLOX_416.name, YOLOX, 80),
    (YOLOX_320.name, YOLOX, 80),
    (FACE.name, BLAZEFACE, None),
    ("face_detection_full_range.tflite", BLAZEFACE, None),
])
def test_layout_read_from_the_tensors(shared_models, name, layout, classes):
    loaded = open_model(select_runtime("auto"), shared_models / name, num_threads=1)
    found = detect_layout(loaded.interpreter)
    assert (found.name, found.classes) == (layout, classes)


@pytest.mark.parametrize("plugin,path,labels,message", [
    (SsdDetector, YOLOX_416, COCO_LABELS, "is a YOLOX object detector.*expected an SSD"),
    (YoloxDetector, SSD_MODEL, COCO80, "is an SSD object detector.*expected a YOLOX"),
    (YoloxDetector, FACE, COCO80, "BlazeFace face detector"),
    (SsdDetector, FACE, COCO_LABELS, "BlazeFace face detector"),
    (YoloxDetector, YOLOX_320, COCO_LABELS, "80 classes but its label map has 90 lines"),
])
def test_wrong_model_for_the_plugin_is_refused(shared_models, plugin, path, labels, message):
    with pytest.raises(ModelError, match=message) as info:
        plugin(path, load_labels(labels), device="cpu")
    assert "\n" not in str(info.value)


def test_truncated_model_is_refused(shared_models, tmp_path):
    cut = tmp_path / YOLOX_416.name
    cut.write_bytes(YOLOX_416.read_bytes()[:500_000])
    with pytest.raises(ModelError, match="cannot load model"):
        YoloxDetector(cut, load_labels(COCO80), device="cpu")


def install(data_dir: Path, source: Path, as_name: str | None = None) -> Path:
    target = data_dir / "models" / (as_name or source.name)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    return target


def test_config_picks_the_model_and_its_label_map(shared_models, data_dir, shared_media):
    ModelManager(data_dir).import_file(YOLOX_320)
    det = create_detector(DetectorConfig(model="yolox_nano_ti_lite_320", device="cpu"), data_dir)
    try:
        assert isinstance(det, YoloxDetector) and det.input_size == (320, 320)
        assert len(det.labels) == 80 and det.labels[2] == "car"
    finally:
        det.close()


def test_yolox_file_under_the_ssd_name_is_a_one_line_error(shared_models, data_dir):
    install(data_dir, YOLOX_416, SSD_MODEL.name)
    config = DetectorConfig(model="ssd_mobilenet_v1_coco_quant", device="cpu")
    with pytest.raises(ModelError, match="ssd_mobilenet_v1_coco_quant: .*YOLOX.*wrong model file") as info:
        create_detector(config, data_dir)
    assert "\n" not in str(info.value)


def test_ssd_file_under_the_yolox_name_is_a_one_line_error(shared_models, data_dir):
    install(data_dir, SSD_MODEL, YOLOX_320.name)
    config = DetectorConfig(model="yolox_nano_ti_lite_320", device="cpu")
    with pytest.raises(ModelError, match="yolox_nano_ti_lite_320: .*is an SSD.*wrong model file") as info:
        create_detector(config, data_dir)
    assert "\n" not in str(info.value)


def test_custom_file_layout_comes_from_the_file(shared_models, data_dir):
    det = create_detector(DetectorConfig(model_path=YOLOX_416, device="cpu"), data_dir)
    try:
        assert isinstance(det, YoloxDetector) and len(det.labels) == 80
    finally:
        det.close()
    with pytest.raises(ModelError, match="BlazeFace face detector"):
        create_detector(DetectorConfig(model_path=FACE, device="cpu"), data_dir)


def test_face_or_unknown_model_in_config_is_a_config_error():
    with pytest.raises(ValidationError, match="face model, not an object detector"):
        DetectorConfig(model="blazeface_short_range")
    with pytest.raises(ValidationError, match="unknown model 'yolov8n'.*yolox_nano_ti_lite_416"):
        DetectorConfig(model="yolov8n")


def test_yolox_has_no_edge_tpu_build_and_says_so(shared_models, data_dir):
    ModelManager(data_dir).import_file(YOLOX_320)
    with pytest.raises(Exception, match="Edge TPU"):  # no libedgetpu here, or no Edge TPU build
        create_detector(DetectorConfig(model="yolox_nano_ti_lite_320", device="usb"), data_dir)
    det = create_detector(DetectorConfig(model="yolox_nano_ti_lite_320", device="auto"), data_dir)
    assert det.describe()["device"] == "cpu"
    det.close()


def camwatch(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "camwatch", *args], capture_output=True, text=True,
                          timeout=120, env=os.environ.copy())


def test_cli_detect_with_model_option(shared_models, data_dir, shared_media):
    assert camwatch("models", "import", str(YOLOX_416)).returncode == 0
    result = camwatch("detect", str(MEDIA / "traffic_frame_0001.bmp"), "--model", "yolox_nano_ti_lite_416")
    assert result.returncode == 0, result.stderr
    assert result.stdout.count(": car ") >= 2
    wrong = camwatch("detect", str(MEDIA / "pets.jpg"), "--model", "blazeface_full_range")
    assert wrong.returncode == 1 and "not an object detector" in wrong.stderr and "Traceback" not in wrong.stderr
    install(data_dir, YOLOX_416, SSD_MODEL.name)
    swapped = camwatch("detect", str(MEDIA / "pets.jpg"), "--model", "ssd_mobilenet_v1_coco_quant")
    assert swapped.returncode == 1 and "Traceback" not in swapped.stderr
    errors = [line for line in swapped.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "YOLOX" in errors[0] and "wrong model file" in errors[0]
