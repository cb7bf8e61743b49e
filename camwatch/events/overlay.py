"""Labels drawn on stills: always whole and readable, whatever the box's place in the frame.

A label goes above its anchor when it fits there, else just below (inside the box); it is
moved left or up so that it never runs off the frame, and drawn on a filled background. The
size follows the frame, so a label stays legible on a phone showing a 1080p still.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

FONT = cv2.FONT_HERSHEY_SIMPLEX
PAD = 3  # pixels around the text
REFERENCE_SIDE = 720.0  # at this shorter frame side the text scale is BASE_SCALE
BASE_SCALE = 0.6
MIN_SCALE = 0.5

Color = tuple[int, int, int]


def label_scale(width: int, height: int) -> float:
    return max(MIN_SCALE, min(width, height) / REFERENCE_SIDE * BASE_SCALE)


def draw_label(
    image: np.ndarray,
    text: str,
    anchor: Sequence[float],
    color: Color,
    text_color: Color = (0, 0, 0),
    scale: float | None = None,
) -> tuple[int, int, int, int]:
    """Draw ``text`` at ``anchor`` (x, y: a box's top-left corner or a point); returns the
    label's rectangle (x1, y1, x2, y2), which lies inside the image."""
    height, width = image.shape[:2]
    scale = scale or label_scale(width, height)
    thickness = max(1, round(scale * 1.6))
    (text_w, text_h), base = cv2.getTextSize(text, FONT, scale, thickness)
    box_w, box_h = text_w + 2 * PAD, text_h + base + 2 * PAD
    x, y = int(round(anchor[0])), int(round(anchor[1]))
    top = y - box_h if y - box_h >= 0 else max(0, y)
    top = max(0, min(top, height - 1 - box_h))
    left = max(0, min(x, width - 1 - box_w))
    right, bottom = left + box_w, top + box_h
    cv2.rectangle(image, (left, top), (right, bottom), color, -1)
    cv2.putText(image, text, (left + PAD, top + PAD + text_h), FONT, scale, text_color, thickness, cv2.LINE_AA)
    return left, top, right, bottom
