"""The saved face crop: the face with a margin, and where the face lies inside it."""

from __future__ import annotations

import numpy as np

from camwatch.faces.people import GalleryError
from camwatch.geometry import grow

# Saved crops keep this margin around the face box; re-embedding finds the face again there.
CROP_MARGIN = 0.25


def face_crop(image_bgr: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
    h, w = image_bgr.shape[:2]
    x1, y1, x2, y2 = grow(box, CROP_MARGIN)
    left, top = max(0, int(x1)), max(0, int(y1))
    right, bottom = min(w, int(x2)), min(h, int(y2))
    if right - left < 2 or bottom - top < 2:
        raise GalleryError("the face box lies outside the image")
    return image_bgr[top:bottom, left:right].copy()


def inner_face_box(width: int, height: int) -> tuple[float, float, float, float]:
    """The face box inside a crop made by ``face_crop`` (margin on every side)."""
    scale = 1.0 + 2 * CROP_MARGIN
    fw, fh = width / scale, height / scale
    return ((width - fw) / 2, (height - fh) / 2, (width + fw) / 2, (height + fh) / 2)
