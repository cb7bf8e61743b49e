"""MediaPipe BlazeFace on a TFLite interpreter: anchors, box decoding and NMS written here.

The models have no post-processing op: each of their N anchors gets 16 regressor values
(box centre offset, width, height and 6 keypoints, in input pixels) and one logit. The
anchor layout follows MediaPipe's SSD anchor calculator with a fixed anchor size of 1:

* short range (128 px) and "back" (256 px): strides 8, 16, 16, 16 → 16×16×2 + 8×8×6 = 896
* full range (192 px): one stride-4 layer → 48×48×1 = 2304

Images are padded to a square at the bottom/right (so coordinates scale back with one
factor), resized, converted to RGB and scaled to [-1, 1].
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from camwatch.detectors.base import Box
from camwatch.detectors.runtime import select_runtime
from camwatch.geometry import iou

_LOGGER = logging.getLogger(__name__)

_LOGIT_CLIP = 100.0
KEYPOINT_NAMES = ("right_eye", "left_eye", "nose", "mouth", "right_ear", "left_ear")


@dataclass(frozen=True, slots=True)
class FaceBox:
    """One face in image pixels: box (x1, y1, x2, y2), score 0..1 and 6 (x, y) keypoints."""

    score: float
    box: Box
    keypoints: tuple[tuple[float, float], ...]

    @property
    def width(self) -> float:
        return self.box[2] - self.box[0]

    @property
    def height(self) -> float:
        return self.box[3] - self.box[1]

    def shifted(self, dx: float, dy: float) -> FaceBox:
        x1, y1, x2, y2 = self.box
        return FaceBox(
            self.score,
            (x1 + dx, y1 + dy, x2 + dx, y2 + dy),
            tuple((x + dx, y + dy) for x, y in self.keypoints),
        )


def ssd_anchors(input_size: int, strides: list[int], anchors_per_layer: int = 2) -> np.ndarray:
    """Anchor centres (N, 2) as fractions of the input, in MediaPipe's order.

    Consecutive layers with the same stride share one grid: their anchors are emitted
    together per cell (``anchors_per_layer`` each), as MediaPipe's calculator does.
    """
    centres: list[tuple[float, float]] = []
    layer = 0
    while layer < len(strides):
        stride = strides[layer]
        repeats = 0
        while layer < len(strides) and strides[layer] == stride:
            repeats += anchors_per_layer
            layer += 1
        grid = int(np.ceil(input_size / stride))
        for y in range(grid):
            for x in range(grid):
                centre = ((x + 0.5) / grid, (y + 0.5) / grid)
                centres.extend([centre] * repeats)
    return np.asarray(centres, dtype=np.float32)


def anchors_for(input_size: int, num_anchors: int) -> np.ndarray:
    """The anchor set of a BlazeFace variant, recognised by its input size and output count."""
    if num_anchors == 896:
        anchors = ssd_anchors(input_size, [8, 16, 16, 16]) if input_size == 128 else ssd_anchors(
            input_size, [16, 32, 32, 32]
        )
    elif num_anchors == 2304:
        anchors = ssd_anchors(input_size, [4], anchors_per_layer=1)
    else:
        raise ValueError(f"unknown BlazeFace layout: {num_anchors} anchors at {input_size} px")
    if len(anchors) != num_anchors:
        raise ValueError(f"anchor layout gives {len(anchors)} anchors, model has {num_anchors}")
    return anchors


def weighted_nms(boxes: np.ndarray, scores: np.ndarray, keypoints: np.ndarray, iou_threshold: float) -> list[int]:
    """Greedy NMS that replaces each kept box by the score-weighted mean of its cluster
    (MediaPipe's "weighted" suppression, which steadies the box between frames).

    ``boxes`` (N, 4) and ``keypoints`` (N, 12) are updated in place for the kept rows;
    returns the indices kept, best first.
    """
    order = list(np.argsort(-scores))
    kept: list[int] = []
    while order:
        best = order[0]
        cluster = [i for i in order if iou(tuple(boxes[best]), tuple(boxes[i])) >= iou_threshold]
        weights = scores[cluster][:, None]
        boxes[best] = (boxes[cluster] * weights).sum(axis=0) / weights.sum()
        keypoints[best] = (keypoints[cluster] * weights).sum(axis=0) / weights.sum()
        kept.append(int(best))
        gone = set(cluster)
        order = [i for i in order if i not in gone]
    return kept


class BlazeFaceDetector:
    """Finds faces in a BGR image with a BlazeFace TFLite model."""

    def __init__(
        self,
        model_path: Path,
        *,
        num_threads: int = 1,
        runtime: str = "auto",
        iou_threshold: float = 0.3,
    ) -> None:
        self.model_path = Path(model_path)
        if not self.model_path.is_file():
            raise FileNotFoundError(f"face model not found: {self.model_path}")
        self.runtime = select_runtime(runtime)
        self._interpreter = self.runtime.interpreter(str(self.model_path), num_threads)
        self._interpreter.allocate_tensors()
        detail = self._interpreter.get_input_details()[0]
        _, height, width, _ = (int(v) for v in detail["shape"])
        if height != width:
            raise ValueError(f"{self.model_path.name}: expected a square input, got {width}x{height}")
        self.input_size = width
        self._input_index = detail["index"]
        outputs = self._interpreter.get_output_details()
        self._regressors = next(o["index"] for o in outputs if int(o["shape"][-1]) == 16)
        self._scores = next(o["index"] for o in outputs if int(o["shape"][-1]) == 1)
        num_anchors = int(next(o["shape"][1] for o in outputs if int(o["shape"][-1]) == 1))
        self.anchors = anchors_for(width, num_anchors)
        self.iou_threshold = iou_threshold
        self.inference_ms = 0.0
        _LOGGER.debug("loaded %s (%d px, %d anchors)", self.model_path.name, width, num_anchors)

    def _prepare(self, image_bgr: np.ndarray) -> tuple[np.ndarray, float]:
        h, w = image_bgr.shape[:2]
        side = max(h, w)
        square = np.zeros((side, side, 3), dtype=np.uint8)
        square[:h, :w] = image_bgr[:, :, :3]
        resized = cv2.resize(square, (self.input_size, self.input_size), interpolation=cv2.INTER_AREA)
        rgb = cv2.cvtColor(resized, cv2.COLOR_BGR2RGB).astype(np.float32)
        return (rgb / 127.5 - 1.0)[None], float(side)

    def detect(self, image_bgr: np.ndarray, min_score: float = 0.5) -> list[FaceBox]:
        """Faces in the image with score ≥ ``min_score``, best first, in image pixels."""
        if image_bgr.ndim != 3 or image_bgr.shape[0] < 2 or image_bgr.shape[1] < 2:
            return []
        tensor, side = self._prepare(image_bgr)
        started = time.perf_counter()
        self._interpreter.set_tensor(self._input_index, tensor)
        self._interpreter.invoke()
        raw = self._interpreter.get_tensor(self._regressors)[0].astype(np.float32)
        logits = self._interpreter.get_tensor(self._scores)[0, :, 0].astype(np.float64)
        elapsed = (time.perf_counter() - started) * 1000.0
        self.inference_ms = elapsed if self.inference_ms == 0 else 0.9 * self.inference_ms + 0.1 * elapsed
        scores = 1.0 / (1.0 + np.exp(-np.clip(logits, -_LOGIT_CLIP, _LOGIT_CLIP)))
        keep = scores >= min_score
        if not np.any(keep):
            return []
        return self._decode(raw[keep], scores[keep], self.anchors[keep], side)

    def _decode(self, raw: np.ndarray, scores: np.ndarray, anchors: np.ndarray, side: float) -> list[FaceBox]:
        size = float(self.input_size)
        cx = raw[:, 0] / size + anchors[:, 0]
        cy = raw[:, 1] / size + anchors[:, 1]
        half_w = raw[:, 2] / size / 2.0
        half_h = raw[:, 3] / size / 2.0
        boxes = np.stack([cx - half_w, cy - half_h, cx + half_w, cy + half_h], axis=1) * side
        keypoints = raw[:, 4:16].reshape(-1, 6, 2) / size + anchors[:, None, :]
        keypoints = keypoints.reshape(-1, 12) * side
        kept = weighted_nms(boxes, scores, keypoints, self.iou_threshold)
        return [
            FaceBox(
                float(scores[i]),
                tuple(float(v) for v in boxes[i]),  # type: ignore[arg-type]
                tuple((float(keypoints[i, 2 * k]), float(keypoints[i, 2 * k + 1])) for k in range(6)),
            )
            for i in kept
        ]

    def detect_region(
        self, frame_bgr: np.ndarray, region: tuple[int, int, int, int], min_score: float = 0.5
    ) -> list[FaceBox]:
        """Faces in ``region`` (x1, y1, x2, y2) of the frame, mapped to frame pixels."""
        x1, y1, x2, y2 = region
        return [f.shifted(x1, y1) for f in self.detect(frame_bgr[y1:y2, x1:x2], min_score)]

    def close(self) -> None:
        self._interpreter = None
