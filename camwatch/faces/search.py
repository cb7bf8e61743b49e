"""Finding faces at a scale that suits the BlazeFace models, in a region of any size.

Measured here (faces-eval photos, a face put into square windows of growing size): short range
finds a face whose width is 13–80 % of the window side, full range 6–50 %. Both models shrink the
window to 128 or 192 px, so a small face in a big window is lost whatever the pixel count: a
region is searched as a whole with both models, and a region much longer than wide (a standing
person cut by the frame bottom, a portrait photo) also as square windows along its length, where
the face is again a good share of the window. Big regions are shrunk once first (the models see
at most 192 px anyway). Faces found twice (two windows, two models) are kept once.
"""

from __future__ import annotations

import cv2
import numpy as np

from camwatch.faces.blazeface import BlazeFaceDetector, FaceBox

#: A region is shrunk to this longest side before the models see it (4x the largest input).
WORK_SIDE = 768
#: A region longer than this many times its width is also searched in square windows.
TILE_ASPECT = 1.4
#: Faces overlapping this much (share of the smaller box) are the same face.
SAME_FACE = 0.5

Region = tuple[int, int, int, int]


def overlap_of_smaller(a, b) -> float:
    """Intersection over the smaller box's area (a face cut by a window edge lies inside the whole face)."""
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    smaller = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
    return ix * iy / smaller if smaller > 0 else 0.0


def windows(width: int, height: int) -> list[Region]:
    """The whole region, plus square windows along its long side (half-overlapping) when it is long."""
    out: list[Region] = [(0, 0, width, height)]
    long_side, short_side = max(width, height), min(width, height)
    if short_side < 8 or long_side <= TILE_ASPECT * short_side:
        return out
    count = int(np.ceil((long_side - short_side) / (short_side / 2))) + 1
    for i in range(count):
        start = int(round(i * (long_side - short_side) / (count - 1)))
        out.append((0, start, width, start + short_side) if height > width else (start, 0, start + short_side, height))
    return out


def merge_faces(faces: list[FaceBox]) -> list[FaceBox]:
    """One box per face: the best-scoring of those that overlap, best first."""
    kept: list[FaceBox] = []
    for face in sorted(faces, key=lambda f: f.score, reverse=True):
        if all(overlap_of_smaller(face.box, k.box) < SAME_FACE for k in kept):
            kept.append(face)
    return kept


def _scaled(face: FaceBox, scale: float, dx: float, dy: float) -> FaceBox:
    x1, y1, x2, y2 = face.box
    return FaceBox(
        face.score,
        (x1 * scale + dx, y1 * scale + dy, x2 * scale + dx, y2 * scale + dy),
        tuple((x * scale + dx, y * scale + dy) for x, y in face.keypoints),
    )


class FaceSearch:
    """Runs one or more BlazeFace models over a region at the scales above."""

    def __init__(self, detectors: list[BlazeFaceDetector]) -> None:
        if not detectors:
            raise ValueError("FaceSearch needs at least one face model")
        self.detectors = detectors
        self.invocations = 0

    def find(self, image_bgr: np.ndarray, region: Region | None = None, min_score: float = 0.5) -> list[FaceBox]:
        """Faces in ``region`` (x1, y1, x2, y2; default the whole image), in image pixels, best first."""
        height, width = image_bgr.shape[:2]
        x1, y1, x2, y2 = region if region is not None else (0, 0, width, height)
        x1, y1, x2, y2 = max(0, x1), max(0, y1), min(width, x2), min(height, y2)
        if x2 - x1 < 8 or y2 - y1 < 8:
            return []
        crop = image_bgr[y1:y2, x1:x2]
        scale = max(1.0, max(crop.shape[:2]) / WORK_SIDE)
        if scale > 1.0:
            size = (max(1, round(crop.shape[1] / scale)), max(1, round(crop.shape[0] / scale)))
            crop = cv2.resize(crop, size, interpolation=cv2.INTER_AREA)
        found: list[FaceBox] = []
        for wx1, wy1, wx2, wy2 in windows(crop.shape[1], crop.shape[0]):
            window = crop[wy1:wy2, wx1:wx2]
            for detector in self.detectors:
                self.invocations += 1
                for face in detector.detect(window, min_score):
                    found.append(_scaled(face, scale, x1 + wx1 * scale, y1 + wy1 * scale))
        return merge_faces(found)

    @property
    def inference_ms(self) -> float:
        return max(d.inference_ms for d in self.detectors)

    def close(self) -> None:
        for detector in self.detectors:
            detector.close()
