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
        description="Name of the detector model in models/manifest.yml (see `camwatch models list`).",
    )
    model_path: Path | None = Field(
        None,
        title="Model file",
        description="Use this .tflite file instead of the manifest model in the data directory.",
    )
    labels_path: Path | None = Field(
        None,
        title="Label file",
        description="Label file to use with model_path; defaults to the manifest's label file.",
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

    @field_validator("device")
    @classmethod
    def _check_device(cls, value: str) -> str:
        if not _DEVICE.match(value):
            raise ValueError("must be auto, cpu, usb, usb:N or pci")
        return value
