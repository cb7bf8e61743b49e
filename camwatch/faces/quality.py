"""Quality gates a face must pass before it becomes an alert.

BlazeFace scores 0.5–0.64 on empty rooms while the light changes and fires on dogs'
faces, so a face needs a high score, a minimum size and a sharp enough crop; that it sits on
a tracked person's head is checked by ``faces.heads``.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from camwatch.detectors.base import Box

#: Crops are scaled to this side before measuring sharpness, so the figure does not
#: depend on how large the face is in the frame.
SHARPNESS_SIDE = 64


def sharpness(crop_bgr: np.ndarray) -> float:
    """Variance of the Laplacian of the grey crop scaled to SHARPNESS_SIDE px (blur → low)."""
    if crop_bgr.size == 0:
        return 0.0
    grey = cv2.cvtColor(crop_bgr, cv2.COLOR_BGR2GRAY) if crop_bgr.ndim == 3 else crop_bgr
    grey = cv2.resize(grey, (SHARPNESS_SIDE, SHARPNESS_SIDE), interpolation=cv2.INTER_AREA)
    return float(cv2.Laplacian(grey, cv2.CV_64F).var())


def clip_box(box: Box, width: int, height: int) -> tuple[int, int, int, int]:
    x1, y1, x2, y2 = box
    return (
        int(max(0, min(width, round(x1)))),
        int(max(0, min(height, round(y1)))),
        int(max(0, min(width, round(x2)))),
        int(max(0, min(height, round(y2)))),
    )


@dataclass(frozen=True)
class QualityGate:
    """Thresholds: score, smaller side in pixels, sharpness."""

    min_score: float = 0.7
    min_size: float = 16.0
    min_sharpness: float = 6.0

    def reject_reason(self, score: float, box: Box, crop_bgr: np.ndarray) -> str | None:
        """Why the face fails a gate, or None when it passes."""
        if score < self.min_score:
            return "score"
        if min(box[2] - box[0], box[3] - box[1]) < self.min_size:
            return "size"
        if sharpness(crop_bgr) < self.min_sharpness:
            return "blur"
        return None


#: Face width (px) and sharpness from which a face is fully usable for recognition: dlib's
#: descriptor works on a 150 px chip, and a walker's face measured 8–50 (a still face hundreds).
GOOD_WIDTH = 96.0
GOOD_SHARPNESS = 40.0


def face_quality(score: float, width: float, sharpness_value: float) -> float:
    """How good a face is for recognition, 0..1: detection score × size × sharpness (each capped)."""
    return float(score) * min(1.0, width / GOOD_WIDTH) * min(1.0, sharpness_value / GOOD_SHARPNESS)
