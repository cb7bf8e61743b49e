"""What a tracked object looks like: a colour histogram of the middle of its box.

Used to recognise an object that comes back into view (re-identification); compared by
correlation (``cv2.compareHist``), it tells two people in different clothes apart.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np


def appearance(frame: np.ndarray, box: Sequence[float]) -> np.ndarray | None:
    """The normalised HSV histogram of ``box`` in the BGR ``frame``, or None for a tiny box."""
    h, w = frame.shape[:2]
    x1, y1 = max(0, int(box[0])), max(0, int(box[1]))
    x2, y2 = min(w, int(box[2])), min(h, int(box[3]))
    if x2 - x1 < 4 or y2 - y1 < 4:
        return None
    # the middle of the box: less background, and the clothes rather than the floor
    mx, my = (x2 - x1) // 6, (y2 - y1) // 8
    crop = frame[y1 + my : y2 - my, x1 + mx : x2 - mx]
    hsv = cv2.cvtColor(crop, cv2.COLOR_BGR2HSV)
    hist = cv2.calcHist([hsv], [0, 1, 2], None, [12, 6, 6], [0, 180, 0, 256, 0, 256])
    return cv2.normalize(hist, hist).flatten()


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    return float(cv2.compareHist(a, b, cv2.HISTCMP_CORREL))
