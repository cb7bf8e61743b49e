"""Detector section: which model, where it runs."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator

from camwatch.config.base import Section
from camwatch.const import DEFAULT_DETECTOR_MODEL

_DEVICE = re.compile(r"^(auto|cpu|pci|usb(:\d+)?)$")


class DetectorConfig(Section):
    model: str = Field(
        DEFAULT_DETECTOR_MODEL,
        title="Model",
        description=(
            "Name of the object detector in models/manifest.yml (`camwatch models list`): "
            "ssd_mobilenet_v1_coco_quant, ssdlite_mobiledet_coco_qat, ssd_mobilenet_v2_coco_quant, "
            "yolox_nano_ti_lite_416 or yolox_nano_ti_lite_320. Each brings its own label map."
        ),
    )
    model_path: Path | None = Field(
        None,
        title="Model file",
        description=(
            "Use this .tflite file instead of the manifest model in the data directory; its layout "
            "(SSD or YOLOX) is read from the file."
        ),
    )
    labels_path: Path | None = Field(
        None,
        title="Label file",
        description=(
            "Label file, one name per line in class order; defaults to the model's own label map "
            "(COCO 90 for SSD, COCO 80 for YOLOX)."
        ),
    )
    device: str = Field(
        "auto",
        title="Device",
        description="auto (Edge TPU if present, else CPU), cpu, usb, usb:N or pci.",
    )
    runtime: Literal["auto", "litert", "tflite_runtime"] = Field(
        "auto",
        title="Inference runtime",
        description="auto prefers ai-edge-litert (about 4.5x faster on CPU) and falls back to tflite-runtime.",
    )
    num_threads: int = Field(2, ge=1, le=64, title="CPU threads", description="Interpreter threads on the CPU.")

    @field_validator("model")
    @classmethod
    def _check_model(cls, value: str) -> str:
        from camwatch.models import ModelError, load_manifest

        try:
            entries = load_manifest()
        except ModelError:
            return value  # an unreadable manifest is reported by the model manager itself
        detectors = [name for name, entry in entries.items() if entry.is_object_detector]
        entry = entries.get(value)
        if entry is None:
            raise ValueError(f"unknown model {value!r}; object detectors: {', '.join(detectors)}")
        if not entry.is_object_detector:
            raise ValueError(f"{value} is a face model, not an object detector; choose one of {', '.join(detectors)}")
        return value

    @field_validator("device")
    @classmethod
    def _check_device(cls, value: str) -> str:
        if not _DEVICE.fullmatch(value):
            raise ValueError("must be auto, cpu, usb, usb:N or pci")
        return value
