"""TFLite SSD models ending in ``TFLite_Detection_PostProcess`` (boxes, classes, scores, count).

Input size, dtype and quantization are read from the model. Frames are resized to the model
input in RGB (``stretch``, as the SSD was trained) or letterboxed to keep the aspect ratio,
and boxes are mapped back to frame pixels.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any, Literal

import cv2
import numpy as np

from camwatch.detectors.base import Detection, Detector
from camwatch.detectors.runtime import (
    EdgeTpuUnavailable,
    Runtime,
    load_edgetpu_delegate,
    select_runtime,
)

_LOGGER = logging.getLogger(__name__)
_EMA_ALPHA = 0.1


class ModelError(RuntimeError):
    """The model file is missing, unreadable or not an SSD with post-processing."""


def load_labels(path: Path) -> list[str]:
    """One label per line, index = class output. A leading ``???`` background line is kept as is."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ModelError(f"cannot read label file {path}: {exc.strerror or exc}") from exc
    labels = []
    for line in lines:
        parts = line.strip().split(maxsplit=1)
        # Accept both "person" and "0 person" formats.
        labels.append(parts[1] if len(parts) == 2 and parts[0].isdigit() else line.strip())
    return labels


class SsdDetector(Detector):
    """A MobileNet-SSD style detector on CPU (LiteRT/tflite-runtime) or the Edge TPU."""

    def __init__(
        self,
        model_path: Path,
        labels: list[str],
        *,
        device: str = "cpu",
        edgetpu_model_path: Path | None = None,
        runtime: str | Runtime = "auto",
        num_threads: int = 2,
        resize: Literal["stretch", "letterbox"] = "stretch",
        min_score: float = 0.4,
        labels_to_keep: set[str] | None = None,
    ) -> None:
        self.runtime = runtime if isinstance(runtime, Runtime) else select_runtime(runtime)
        self.labels = labels
        self.resize = resize
        self.min_score = min_score
        self.labels_to_keep = labels_to_keep
        self.num_threads = num_threads
        self.inference_ms = 0.0
        self.calls = 0
        self.device = "cpu"
        self.model_path = Path(model_path)
        self._interpreter = self._open(device, edgetpu_model_path)
        self._prepare()

    # ----------------------------------------------------------------- loading
    def _open(self, device: str, edgetpu_model_path: Path | None) -> Any:
        if device != "cpu":
            try:
                delegate = load_edgetpu_delegate(self.runtime, device)
                if edgetpu_model_path is None or not Path(edgetpu_model_path).is_file():
                    raise EdgeTpuUnavailable(
                        f"an Edge TPU is present but the Edge TPU build of the model is missing "
                        f"({edgetpu_model_path}); run `camwatch models pull --edgetpu NAME`"
                    )
                interpreter = self.runtime.interpreter(str(edgetpu_model_path), self.num_threads, [delegate])
                interpreter.allocate_tensors()
                self.device = f"edgetpu:{device}"
                self.model_path = Path(edgetpu_model_path)
                _LOGGER.info("detector running on the Edge TPU (%s)", device)
                return interpreter
            except EdgeTpuUnavailable as exc:
                if device != "auto":
                    raise
                _LOGGER.info("no usable Edge TPU, running the detector on the CPU: %s", _first_line(exc))
        if not self.model_path.is_file():
            raise ModelError(f"model file not found: {self.model_path} (run `camwatch models pull`)")
        try:
            interpreter = self.runtime.interpreter(str(self.model_path), self.num_threads)
            interpreter.allocate_tensors()
        except (ValueError, RuntimeError) as exc:
            raise ModelError(f"cannot load model {self.model_path}: {exc}") from exc
        return interpreter

    def _prepare(self) -> None:
        inp = self._interpreter.get_input_details()
        if len(inp) != 1 or len(inp[0]["shape"]) != 4:
            raise ModelError(f"{self.model_path}: expected one NHWC image input")
        self._input_index = inp[0]["index"]
        _, h, w, c = (int(v) for v in inp[0]["shape"])
        if c != 3:
            raise ModelError(f"{self.model_path}: expected a 3-channel input, got {c}")
        self.input_size = (w, h)
        self._input_dtype = inp[0]["dtype"]
        scale, zero = inp[0]["quantization"]
        self._input_quant = (float(scale), int(zero))
        outs = self._interpreter.get_output_details()
        if len(outs) != 4:
            raise ModelError(
                f"{self.model_path}: expected 4 outputs from TFLite_Detection_PostProcess, got {len(outs)}"
            )
        by_name = {o["name"]: o["index"] for o in outs}
        base = "TFLite_Detection_PostProcess"
        if all(n in by_name for n in (base, f"{base}:1", f"{base}:2", f"{base}:3")):
            self._out = tuple(by_name[n] for n in (base, f"{base}:1", f"{base}:2", f"{base}:3"))
        else:  # fall back to shapes: boxes [1,N,4], count [1], then classes, scores in order
            boxes = next(o["index"] for o in outs if len(o["shape"]) == 3)
            count = next(o["index"] for o in outs if len(o["shape"]) == 1)
            rest = [o["index"] for o in outs if len(o["shape"]) == 2]
            self._out = (boxes, rest[0], rest[1], count)
        self._blank = np.zeros((1, h, w, 3), dtype=self._input_dtype)

    # ------------------------------------------------------------- inference
    def _to_input(self, rgb: np.ndarray) -> np.ndarray:
        dtype = self._input_dtype
        if dtype == np.uint8:
            return rgb[np.newaxis]
        if dtype == np.int8:
            return (rgb.astype(np.int16) - 128).astype(np.int8)[np.newaxis]
        scale, zero = self._input_quant
        data = rgb.astype(np.float32) / 127.5 - 1.0
        if scale and dtype != np.float32:
            data = np.round(data / scale + zero)
        return data.astype(dtype)[np.newaxis]

    def preprocess(self, image_bgr: np.ndarray) -> tuple[np.ndarray, float, float, float, float]:
        """Returns the input tensor and the mapping (sx, sy, ox, oy): frame = model * s + o."""
        w, h = self.input_size
        ih, iw = image_bgr.shape[:2]
        if self.resize == "letterbox" and iw != ih:
            side = max(iw, ih)
            scale = side / w
            nw, nh = max(1, round(iw / scale)), max(1, round(ih / scale))
            canvas = np.full((h, w, 3), 114, dtype=np.uint8)
            canvas[:nh, :nw] = cv2.resize(image_bgr, (nw, nh), interpolation=cv2.INTER_AREA)
            rgb = cv2.cvtColor(canvas, cv2.COLOR_BGR2RGB)
            return self._to_input(rgb), side, side, 0.0, 0.0
        interp = cv2.INTER_AREA if iw > w else cv2.INTER_LINEAR
        resized = image_bgr if (iw, ih) == (w, h) else cv2.resize(image_bgr, (w, h), interpolation=interp)
        rgb = cv2.cvtColor(resized, cv2.COLOR_BGR2RGB)
        return self._to_input(rgb), float(iw), float(ih), 0.0, 0.0

    def invoke(self, tensor: np.ndarray) -> None:
        self._interpreter.set_tensor(self._input_index, tensor)
        self._interpreter.invoke()

    def detect(self, image_bgr: np.ndarray, threshold: float | None = None) -> list[Detection]:
        if image_bgr is None or image_bgr.ndim != 3 or image_bgr.shape[2] != 3 or image_bgr.size == 0:
            raise ValueError("detect() needs a non-empty BGR image (H x W x 3)")
        tensor, sx, sy, ox, oy = self.preprocess(image_bgr)
        start = time.perf_counter()
        self.invoke(tensor)
        elapsed = (time.perf_counter() - start) * 1000.0
        self.inference_ms = elapsed if self.calls == 0 else self.inference_ms + _EMA_ALPHA * (elapsed - self.inference_ms)
        self.calls += 1
        return self._postprocess(sx, sy, ox, oy, self.min_score if threshold is None else threshold)

    def _postprocess(self, sx: float, sy: float, ox: float, oy: float, threshold: float) -> list[Detection]:
        get = self._interpreter.get_tensor
        boxes, classes, scores, count = (get(i) for i in self._out)
        n = min(int(count.reshape(-1)[0]), scores.shape[-1])
        out: list[Detection] = []
        ih, iw = sy, sx
        for i in range(n):
            score = float(scores[0, i])
            if score < threshold:
                continue
            cls = int(classes[0, i])
            label = self.labels[cls] if 0 <= cls < len(self.labels) else str(cls)
            if label in ("n/a", "???") or (self.labels_to_keep is not None and label not in self.labels_to_keep):
                continue
            y1, x1, y2, x2 = (float(v) for v in boxes[0, i])
            bx1 = min(max(x1, 0.0), 1.0) * sx + ox
            by1 = min(max(y1, 0.0), 1.0) * sy + oy
            bx2 = min(max(x2, 0.0), 1.0) * sx + ox
            by2 = min(max(y2, 0.0), 1.0) * sy + oy
            if self.resize == "letterbox":  # clip to the real image
                bx2, by2 = min(bx2, iw), min(by2, ih)
            if bx2 - bx1 < 1 or by2 - by1 < 1:
                continue
            out.append(Detection(label, score, (bx1, by1, bx2, by2)))
        return out

    def describe(self) -> dict:
        return {
            "model": self.model_path.name,
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


def _first_line(exc: BaseException) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
