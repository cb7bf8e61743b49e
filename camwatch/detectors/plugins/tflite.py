"""What every TFLite detector plugin shares: opening the model, checking its layout,
timing the inference and describing itself. A plugin adds preprocessing and decoding.

A detector owns its interpreter and nothing global, so two can live side by side and one
can be closed while the other takes over.
"""

from __future__ import annotations

import logging
import time
from abc import abstractmethod
from pathlib import Path
from typing import Any, ClassVar, TypedDict

import numpy as np
from typing_extensions import Unpack  # typing.Unpack from Python 3.11

from camwatch.detectors.base import Detection, Detector, ModelError
from camwatch.detectors.labels import UNUSED_LABELS
from camwatch.detectors.layout import Layout, describe_layout, detect_layout
from camwatch.detectors.preprocess import Placement
from camwatch.detectors.runtime import Runtime, open_model, select_runtime

_LOGGER = logging.getLogger(__name__)
_EMA_ALPHA = 0.1


class DetectorOptions(TypedDict, total=False):
    """What every plugin accepts besides the model file and its labels."""

    device: str  # cpu | auto | usb | usb:N | pci (default cpu)
    edgetpu_model_path: Path | None  # the model's Edge TPU build, for a TPU device
    runtime: str | Runtime  # auto | litert | tflite, or an opened runtime
    num_threads: int  # CPU interpreter threads (default 2)
    min_score: float  # detections below are dropped (default 0.4)
    labels_to_keep: set[str] | None  # only these labels (default all)


class TfliteDetector(Detector):
    #: The output layout this plugin decodes (camwatch.detectors.layout).
    layout: ClassVar[str]

    def __init__(self, model_path: Path, labels: list[str], **options: Unpack[DetectorOptions]) -> None:
        runtime = options.get("runtime", "auto")
        self.runtime = runtime if isinstance(runtime, Runtime) else select_runtime(runtime)
        self.labels = list(labels)
        self.min_score = options.get("min_score", 0.4)
        self.labels_to_keep = options.get("labels_to_keep")
        self.num_threads = options.get("num_threads", 2)
        self.inference_ms = 0.0
        self.calls = 0
        loaded = open_model(
            self.runtime, Path(model_path), device=options.get("device", "cpu"),
            edgetpu_model_path=options.get("edgetpu_model_path"), num_threads=self.num_threads,
        )
        self._interpreter: Any = loaded.interpreter
        self.model_path = loaded.path
        self.device = loaded.device
        found = detect_layout(self._interpreter)
        if found.name != self.layout:
            self._interpreter = None
            raise ModelError(wrong_layout(self.model_path, found, self.layout))
        inp = self._interpreter.get_input_details()[0]
        _, h, w, _ = (int(v) for v in inp["shape"])
        self.input_size = (w, h)
        self._input_index = inp["index"]
        self._input_dtype = np.dtype(inp["dtype"])
        scale, zero = inp["quantization"]
        self._input_quant = (float(scale), int(zero))
        self._prepare(found)

    # ------------------------------------------------------------- plugin hooks
    @abstractmethod
    def _prepare(self, layout: Layout) -> None:
        """Read what the decoder needs from the output tensors; raise ModelError if unusable."""

    @abstractmethod
    def preprocess(self, image_bgr: np.ndarray) -> tuple[np.ndarray, Placement]:
        """The input tensor for ``image_bgr`` and where the image went in it."""

    @abstractmethod
    def _decode(self, placement: Placement, threshold: float) -> list[Detection]:
        """Detections in frame pixels from the output tensors of the last invoke."""

    # ---------------------------------------------------------------- inference
    def invoke(self, tensor: np.ndarray) -> None:
        if self._interpreter is None:
            raise RuntimeError("detector is closed")
        self._interpreter.set_tensor(self._input_index, tensor)
        self._interpreter.invoke()

    def detect(self, image_bgr: np.ndarray, threshold: float | None = None) -> list[Detection]:
        if image_bgr is None or image_bgr.ndim != 3 or image_bgr.shape[2] != 3 or image_bgr.size == 0:
            raise ValueError("detect() needs a non-empty BGR image (H x W x 3)")
        tensor, placement = self.preprocess(image_bgr)
        start = time.perf_counter()
        self.invoke(tensor)
        elapsed = (time.perf_counter() - start) * 1000.0
        self.inference_ms = elapsed if self.calls == 0 else self.inference_ms + _EMA_ALPHA * (elapsed - self.inference_ms)
        self.calls += 1
        return self._decode(placement, self.min_score if threshold is None else threshold)

    def _output(self, index: int) -> np.ndarray:
        return self._interpreter.get_tensor(index)

    def _label(self, cls: int) -> str | None:
        """The class's name, or None when it is unused or filtered out."""
        label = self.labels[cls] if 0 <= cls < len(self.labels) else str(cls)
        if label in UNUSED_LABELS or (self.labels_to_keep is not None and label not in self.labels_to_keep):
            return None
        return label

    def describe(self) -> dict:
        return {
            "model": self.model_path.name,
            "layout": self.layout,
            "runtime": self.runtime.name,
            "runtime_version": self.runtime.version,
            "device": self.device,
            "num_threads": self.num_threads,
            "input_size": list(self.input_size),
            "inference_ms": round(self.inference_ms, 2),
            "calls": self.calls,
        }

    def close(self) -> None:
        self._interpreter = None


def wrong_layout(path: Path, found: Layout, expected: str) -> str:
    return f"{path.name} is {found.describe()}; expected {describe_layout(expected)} (wrong model file?)"
