"""YOLOX exported as one tensor ``[1, anchors, 5 + classes]`` (e.g. yolox_nano_ti_lite int8).

How the model is fed (see ../shared/PROVENANCE.md for the measurements behind it):
- BGR channel order, letterboxed into the top-left corner and padded with grey 114 — a
  plain stretch lost people in the measurements;
- the input's own quantization (for the int8 exports: scale 1, zero point -128, so
  q = pixel - 128), and the output's own quantization to dequantize.

Each row is ``dx, dy, log_w, log_h, obj, cls...`` with obj and cls already sigmoid, on grids
of strides 8, 16 and 32 in row order; score = obj x cls. The model has no NMS: it is done
here, per class.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from typing_extensions import Unpack

from camwatch.detectors.base import Detection, ModelError
from camwatch.detectors.layout import YOLOX, YOLOX_STRIDES, Layout
from camwatch.detectors.nms import batched_nms
from camwatch.detectors.preprocess import Placement, letterbox, quantize

from .tflite import DetectorOptions, TfliteDetector

#: Overlap above which the weaker of two same-class boxes is dropped.
NMS_IOU = 0.45
MAX_DETECTIONS = 100
_MAX_LOG_SIZE = 10.0  # exp() guard for float exports; int8 outputs cannot reach it


class YoloxDetector(TfliteDetector):
    layout = YOLOX
    # Measured with YOLOX-nano 320 on small, dim and half-hidden people (20-45 px tall in a
    # 384x288 view, an infrared figure by a fence): they score higher with more scene around them
    # and lose their box when a crop is enlarged past about 2x (the enlarged crop is only blur).
    # The SSDs keep the base class's 2x context and 3x enlargement, which suited them better.
    region_context = 3.0
    max_upscale = 2.0

    def __init__(
        self,
        model_path: Path,
        labels: list[str],
        *,
        nms_iou: float = NMS_IOU,
        max_detections: int = MAX_DETECTIONS,
        **options: Unpack[DetectorOptions],
    ) -> None:
        self.nms_iou = nms_iou
        self.max_detections = max_detections
        super().__init__(model_path, labels, **options)

    def _prepare(self, layout: Layout) -> None:
        if layout.classes != len(self.labels):
            raise ModelError(
                f"{self.model_path.name} has {layout.classes} classes but its label map has {len(self.labels)} "
                f"lines; give it a label map with {layout.classes} lines (coco80_labels.txt for COCO)"
            )
        out = self._interpreter.get_output_details()[0]
        self._out_index = out["index"]
        scale, zero = out["quantization"]
        self._out_quant = (float(scale), int(zero)) if scale else None
        w, h = self.input_size
        cells_x, cells_y, strides = [], [], []
        for stride in YOLOX_STRIDES:
            ys, xs = np.mgrid[0 : h // stride, 0 : w // stride]
            cells_x.append(xs.ravel())
            cells_y.append(ys.ravel())
            strides.append(np.full(xs.size, stride))
        self._cells = np.stack([np.concatenate(cells_x), np.concatenate(cells_y)], axis=1).astype(np.float32)
        self._strides = np.concatenate(strides).astype(np.float32)[:, None]

    def preprocess(self, image_bgr: np.ndarray) -> tuple[np.ndarray, Placement]:
        canvas, placement = letterbox(image_bgr, self.input_size)  # stays BGR: the model was trained so
        scale, zero = self._input_quant
        return quantize(canvas, self._input_dtype, scale, zero), placement

    def _rows(self) -> np.ndarray:
        raw = self._output(self._out_index)[0]
        if self._out_quant is None:
            return raw.astype(np.float32, copy=False)
        scale, zero = self._out_quant
        return (raw.astype(np.float32) - zero) * scale

    def _decode(self, placement: Placement, threshold: float) -> list[Detection]:
        rows = self._rows()
        # score = obj x cls <= obj, so rows whose objectness is below the threshold cannot pass.
        candidates = np.nonzero(rows[:, 4] >= threshold)[0]
        if candidates.size == 0:
            return []
        picked = rows[candidates]
        classes = np.argmax(picked[:, 5:], axis=1)
        scores = picked[:, 4] * picked[np.arange(len(picked)), 5 + classes]
        good = scores >= threshold
        if not np.any(good):
            return []
        candidates, picked, classes, scores = candidates[good], picked[good], classes[good], scores[good]
        strides = self._strides[candidates]
        centres = (picked[:, 0:2] + self._cells[candidates]) * strides
        sizes = np.exp(np.minimum(picked[:, 2:4], _MAX_LOG_SIZE)) * strides
        boxes = np.concatenate([centres - sizes / 2, centres + sizes / 2], axis=1)
        out: list[Detection] = []
        for i in batched_nms(boxes, scores, classes, self.nms_iou, self.max_detections):
            label = self._label(int(classes[i]))
            if label is None:
                continue
            box = placement.to_frame(*(float(v) for v in boxes[i]))
            if box[2] - box[0] < 1 or box[3] - box[1] < 1:
                continue
            out.append(Detection(label, float(scores[i]), box))
        return out
