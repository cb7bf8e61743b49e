"""TFLite SSD models ending in ``TFLite_Detection_PostProcess`` (boxes, classes, scores, count):
SSD MobileNet v1/v2 and SSDLite MobileDet.

Input size, dtype and quantization are read from the model. Frames go in as RGB, resized to
the model input (``stretch``, as these SSDs were trained) or letterboxed; the model's
normalised boxes are mapped back to frame pixels.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import cv2
import numpy as np
from typing_extensions import Unpack

from camwatch.detectors.base import Detection, ModelError
from camwatch.detectors.labels import load_labels
from camwatch.detectors.layout import SSD, Layout
from camwatch.detectors.preprocess import Placement, letterbox, stretch

from .tflite import DetectorOptions, TfliteDetector

__all__ = ["ModelError", "SsdDetector", "load_labels"]

_POSTPROCESS = "TFLite_Detection_PostProcess"


class SsdDetector(TfliteDetector):
    """A MobileNet-SSD style detector on CPU (LiteRT/tflite-runtime) or the Edge TPU."""

    layout = SSD

    def __init__(
        self,
        model_path: Path,
        labels: list[str],
        *,
        resize: Literal["stretch", "letterbox"] = "stretch",
        **options: Unpack[DetectorOptions],
    ) -> None:
        self.resize = resize
        super().__init__(model_path, labels, **options)

    def _prepare(self, layout: Layout) -> None:
        outs = self._interpreter.get_output_details()
        by_name = {o["name"]: o["index"] for o in outs}
        names = (_POSTPROCESS, f"{_POSTPROCESS}:1", f"{_POSTPROCESS}:2", f"{_POSTPROCESS}:3")
        if all(n in by_name for n in names):
            self._out = tuple(by_name[n] for n in names)
            return
        # Renamed outputs: boxes are [1,N,4], count [1], and classes precede scores, as the op emits them.
        boxes = next(o["index"] for o in outs if len(o["shape"]) == 3)
        count = next(o["index"] for o in outs if len(o["shape"]) == 1)
        rest = [o["index"] for o in outs if len(o["shape"]) == 2]
        self._out = (boxes, rest[0], rest[1], count)

    def _to_input(self, rgb: np.ndarray) -> np.ndarray:
        dtype = self._input_dtype
        if dtype == np.uint8:  # scale 1/128, zero point 128: raw pixels are the expected values
            return rgb[np.newaxis]
        if dtype == np.int8:
            return (rgb.astype(np.int16) - 128).astype(np.int8)[np.newaxis]
        scale, zero = self._input_quant
        data = rgb.astype(np.float32) / 127.5 - 1.0
        if scale and dtype != np.float32:
            data = np.round(data / scale + zero)
        return data.astype(dtype)[np.newaxis]

    def preprocess(self, image_bgr: np.ndarray) -> tuple[np.ndarray, Placement]:
        fit = letterbox if self.resize == "letterbox" else stretch
        resized, placement = fit(image_bgr, self.input_size)
        return self._to_input(cv2.cvtColor(resized, cv2.COLOR_BGR2RGB)), placement

    def _decode(self, placement: Placement, threshold: float) -> list[Detection]:
        boxes, classes, scores, count = (self._output(i) for i in self._out)
        n = min(int(count.reshape(-1)[0]), scores.shape[-1])
        w, h = self.input_size
        out: list[Detection] = []
        for i in range(n):
            score = float(scores[0, i])
            if score < threshold:
                continue
            label = self._label(int(classes[0, i]))
            if label is None:
                continue
            y1, x1, y2, x2 = (float(v) for v in boxes[0, i])
            box = placement.to_frame(x1 * w, y1 * h, x2 * w, y2 * h)
            if box[2] - box[0] < 1 or box[3] - box[1] < 1:
                continue
            out.append(Detection(label, score, box))
        return out
