"""The opted-in MQTT snapshot: the best clean snapshot cropped around the object and scaled."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

_LOGGER = logging.getLogger(__name__)

CROP_MARGIN = 0.5  # extra width/height around the box, as a share of the box size
JPEG_QUALITY = 80


def crop_box(box: Sequence[float], width: int, height: int, margin: float = CROP_MARGIN) -> tuple[int, int, int, int]:
    """The crop rectangle (x1, y1, x2, y2) around ``box`` with ``margin``, inside the frame."""
    x1, y1, x2, y2 = (float(v) for v in box[:4])
    bw, bh = max(1.0, x2 - x1), max(1.0, y2 - y1)
    cx1 = int(max(0.0, x1 - bw * margin / 2))
    cy1 = int(max(0.0, y1 - bh * margin / 2))
    cx2 = int(min(float(width), x2 + bw * margin / 2))
    cy2 = int(min(float(height), y2 + bh * margin / 2))
    if cx2 - cx1 < 2 or cy2 - cy1 < 2:
        return 0, 0, width, height
    return cx1, cy1, cx2, cy2


def cropped_snapshot(path: Path, box: Sequence[float], target_height: int) -> bytes | None:
    """JPEG bytes of the crop around ``box`` scaled to ``target_height``; None when unreadable."""
    data = np.fromfile(str(path), dtype=np.uint8) if path.is_file() else None
    image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data is not None and data.size else None
    if image is None:
        return None
    h, w = image.shape[:2]
    x1, y1, x2, y2 = crop_box(box, w, h) if len(box) >= 4 else (0, 0, w, h)
    crop = image[y1:y2, x1:x2]
    scale = target_height / crop.shape[0]
    size = (max(1, round(crop.shape[1] * scale)), target_height)
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    scaled = cv2.resize(crop, size, interpolation=interpolation)
    ok, jpeg = cv2.imencode(".jpg", scaled, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    return jpeg.tobytes() if ok else None
