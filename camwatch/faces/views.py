"""Surveillance-quality views of an enrolled face: what a camera will make of the same face.

A homeowner enrols good photos, but a doorbell or a hall camera sees the face 30–60 px wide,
JPEG-compressed, grey under night IR, smeared by walking. dlib's descriptor of such a face moves
away from the descriptor of the sharp photo (measured in docs/faces.md: a person's own similarity
falls from ~0.65 to ~0.50 with motion blur at that scale), so a single poor frame is left unnamed.
Each enrolled face therefore also stores the descriptors of a few degraded copies of it — the
detail of a smaller face, with compression; the same grey with sensor noise; the same with a
horizontal walking blur — and a probe is compared with those too (``gallery``: a person's score
is the mean of their best few matches, which keeps one lucky copy from naming a stranger).

The copies are made deterministically (fixed noise seed), so re-embedding gives the same views.
"""

from __future__ import annotations

import cv2
import numpy as np

from camwatch.detectors.base import Box

#: Face widths (px) whose detail the views keep: a far and a near doorbell/hall face.
VIEW_FACE_WIDTHS = (32, 56)
#: JPEG quality of the views (cheap cameras and busy streams compress hard).
VIEW_JPEG_QUALITY = 50
#: Horizontal motion blur, in px at the view's face scale (a walker at 5–10 fps exposure).
VIEW_BLUR_PX = 4
#: Night IR: contrast kept, offset, sensor noise (grey levels).
IR_GAIN, IR_OFFSET, IR_NOISE = 0.85, 15.0, 5.0
_SEED = 20261207


def _jpeg(image: np.ndarray) -> np.ndarray:
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, VIEW_JPEG_QUALITY])
    decoded = cv2.imdecode(data, cv2.IMREAD_COLOR) if ok else None
    return decoded if decoded is not None else image


def degraded_views(image_bgr: np.ndarray, box: Box) -> list[np.ndarray]:
    """Copies of the image (same size, so ``box`` still frames the face) as a camera would see
    the face at each of VIEW_FACE_WIDTHS: low detail, IR grey with noise, walking blur.

    A face already smaller than a width gets no copy at that width (it is that poor already).
    """
    height, width = image_bgr.shape[:2]
    face_width = max(1.0, box[2] - box[0])
    rng = np.random.default_rng(_SEED)
    views: list[np.ndarray] = []
    for target in VIEW_FACE_WIDTHS:
        scale = target / face_width
        if scale >= 1.0:
            continue
        small = cv2.resize(image_bgr, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        low = cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR)
        grey = cv2.cvtColor(low, cv2.COLOR_BGR2GRAY).astype(np.float32)
        grey = np.clip(grey * IR_GAIN + IR_OFFSET + rng.normal(0, IR_NOISE, grey.shape), 0, 255).astype(np.uint8)
        kernel = max(3, int(round(VIEW_BLUR_PX / scale)) | 1)
        blurred = cv2.filter2D(low, -1, np.full((1, kernel), 1.0 / kernel, dtype=np.float32))
        views += [_jpeg(low), _jpeg(cv2.cvtColor(grey, cv2.COLOR_GRAY2BGR)), _jpeg(blurred)]
    return views
