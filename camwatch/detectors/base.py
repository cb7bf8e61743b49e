"""The detector interface and the detection record every later stage consumes."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

import numpy as np

Box = tuple[float, float, float, float]  # x1, y1, x2, y2 in frame pixels


class ModelError(RuntimeError):
    """The model file is missing, unreadable, or not the layout it is used as."""


@dataclass(frozen=True, slots=True)
class Detection:
    """One object found in one frame. ``box`` is (x1, y1, x2, y2) in frame pixels."""

    label: str
    score: float
    box: Box

    @property
    def area(self) -> float:
        x1, y1, x2, y2 = self.box
        return max(0.0, x2 - x1) * max(0.0, y2 - y1)

    @property
    def ratio(self) -> float:
        """Width / height."""
        x1, y1, x2, y2 = self.box
        h = max(1e-6, y2 - y1)
        return max(0.0, x2 - x1) / h

    def to_dict(self) -> dict:
        return {"label": self.label, "score": round(self.score, 4), "box": [round(v, 1) for v in self.box]}


@dataclass(frozen=True)
class ModelInfo:
    """Which model a detector runs: for the node status, the System page and update decisions."""

    name: str
    sha256: str
    layout: str
    source: str  # "config" (detector.model / model_path) or "update" (a signed manifest)
    version: int | None = None  # the signed manifest's version

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "sha256": self.sha256, "layout": self.layout, "source": self.source,
                "version": self.version}  # fmt: skip

    @property
    def label(self) -> str:
        return f"{self.name} v{self.version}" if self.version is not None else f"{self.name} (configured)"


class Detector(ABC):
    """Finds objects in a BGR image (as OpenCV decodes it)."""

    #: Model input (width, height).
    input_size: tuple[int, int]
    #: Moving average of inference time, milliseconds.
    inference_ms: float
    #: How this model likes a region around something small (the defaults of the camera's
    #: ``detect.region_context`` and ``detect.max_upscale``): the square's side as a multiple of
    #: the mover's size, and the most the square may be enlarged to the model input.
    region_context: float = 2.0
    max_upscale: float = 3.0

    @abstractmethod
    def detect(self, image_bgr: np.ndarray, threshold: float | None = None) -> list[Detection]:
        """Detect objects in the whole image; boxes are in the image's pixels."""

    def detect_region(
        self, frame_bgr: np.ndarray, region: tuple[int, int, int, int], threshold: float | None = None
    ) -> list[Detection]:
        """Detect in ``region`` (x1, y1, x2, y2) of the frame; boxes are mapped to frame pixels."""
        x1, y1, x2, y2 = region
        crop = frame_bgr[y1:y2, x1:x2]
        return [
            Detection(d.label, d.score, (d.box[0] + x1, d.box[1] + y1, d.box[2] + x1, d.box[3] + y1))
            for d in self.detect(crop, threshold)
        ]

    def describe(self) -> dict:
        """Backend facts for stats and the System page."""
        return {}

    def close(self) -> None:  # noqa: B027 - optional hook, a no-op by default
        """Release the interpreter and delegate."""
