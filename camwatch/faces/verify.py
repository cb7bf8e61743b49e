"""Is what BlazeFace found a face? A second opinion from an independent face detector.

BlazeFace finds the back of a head as readily as a face: on one-by-one-person-detection.mp4 (six
visitors, all seen from behind) it scored hair and neck 0.70-0.83, and placed its six keypoints in
a face's layout on them. Neither the score (real walkers' faces: 0.70-0.80) nor the keypoints (a
back of a head turned a little lays them out as a face does) tell the two apart, and the face
descriptor finds different people's backs of heads alike, so they group and would be named.

dlib's HOG face detector is a different kind of model (gradient histograms and a linear SVM, with
filters for faces seen from the front, turned left or right and tilted) and looks for what a back of
a head lacks: eyes, nose and mouth edges. It is asked one question only — is there a face at the
box BlazeFace gave, at its size — on a chip where the face is ``CHIP_FACE`` px wide and turned
upright by BlazeFace's eye line. Its score at that spot (its SVM margin; 0 is where dlib itself
reports a face) is the evidence. Measured here (``benchmarks/face_or_not.py``):

* backs of heads (85 faces of one-by-one through the pipeline, with the SSD and with YOLOX): at
  most -1.27; the White House sign behind a speaker, which BlazeFace scored 0.72-0.77: at most -1.20;
* real faces of the faces-eval photos (33) and of their degraded copies (59: a 48 px face's detail,
  grey and noisy, motion-blurred): at least 0.14; the GIF faces (43; 20 px wide, tilted 40°): at
  least -0.64;
* the walker of walking-by.h264, in profile and motion-blurred: -1.75 to -0.09, 13 of 25 frames
  above ``MIN_EVIDENCE``: a profile is what this detector sees worst, and a walker shows a few.

It takes about 5 ms per face (this 2-core machine, loaded).

dlib comes with the ``faces`` extra; without it there is no second opinion (``load_face_check``).
"""

from __future__ import annotations

import importlib
import logging
import math
import threading
from typing import Any

import cv2
import numpy as np

from camwatch.faces.blazeface import FaceBox

_LOGGER = logging.getLogger(__name__)

#: The face is scaled to this width on the chip: dlib's HOG detector looks at 80x80 windows.
CHIP_FACE = 100.0
#: The chip is this many face widths on a side, so the detector sees the head and some background.
CHIP_SIDE = 2.0
#: Evidence (dlib HOG SVM margin) a face needs. Between backs of heads (≤ -1.27) and faces (≥ -0.64).
MIN_EVIDENCE = -1.0
#: Scores lower than this are not asked for (nothing near the face comes out at all).
_FLOOR = -2.5
#: The eye line is followed only when the eyes are this far apart (share of the face width): in a
#: profile they nearly meet and their angle means nothing. Tilts beyond this are not undone.
_EYES_APART = 0.2
_MAX_TILT = 60.0


def upright_chip(image_bgr: np.ndarray, face: FaceBox) -> np.ndarray:
    """The face scaled to CHIP_FACE px wide, centred, turned upright by its eye line."""
    x1, y1, x2, y2 = face.box
    width = max(1.0, x2 - x1, y2 - y1)
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    angle = 0.0
    if len(face.keypoints) >= 2:
        (rx, ry), (lx, ly) = face.keypoints[0], face.keypoints[1]  # the subject's right eye is on the image's left
        if math.hypot(lx - rx, ly - ry) >= _EYES_APART * width:
            angle = max(-_MAX_TILT, min(_MAX_TILT, math.degrees(math.atan2(ly - ry, lx - rx))))
    side = int(round(CHIP_SIDE * CHIP_FACE))
    matrix = cv2.getRotationMatrix2D((cx, cy), angle, CHIP_FACE / width)
    matrix[0, 2] += side / 2 - cx
    matrix[1, 2] += side / 2 - cy
    return cv2.warpAffine(image_bgr, matrix, (side, side), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


_HOG: tuple[Any, threading.Lock] | None = None
_HOG_LOADING = threading.Lock()


def _hog_detector() -> tuple[Any, threading.Lock]:
    """dlib's HOG face detector and the lock its callers share (dlib objects are not documented as
    thread-safe): loaded once per process, it takes ~0.7 s of CPU and a camwatch asks for it twice
    (the faces stage and the enrolment's face finder)."""
    global _HOG
    with _HOG_LOADING:
        if _HOG is None:
            dlib = importlib.import_module("dlib")  # ImportError without the faces extra
            _HOG = (dlib.get_frontal_face_detector(), threading.Lock())
        return _HOG


class FaceCheck:
    """dlib's HOG face detector asked whether a BlazeFace face is one."""

    def __init__(self, min_evidence: float = MIN_EVIDENCE) -> None:
        self._detector, self._lock = _hog_detector()
        self.min_evidence = min_evidence

    def evidence(self, image_bgr: np.ndarray, face: FaceBox) -> float:
        """dlib's score for a face where BlazeFace put it (``_FLOOR`` when it sees none there)."""
        chip = upright_chip(image_bgr, face)
        rgb = np.ascontiguousarray(cv2.cvtColor(chip, cv2.COLOR_BGR2RGB))
        with self._lock:
            rects, scores, _ = self._detector.run(rgb, 0, _FLOOR)
        centre = chip.shape[0] / 2
        best = _FLOOR
        for rect, score in zip(rects, scores, strict=True):
            near = math.hypot((rect.left() + rect.right()) / 2 - centre, (rect.top() + rect.bottom()) / 2 - centre)
            if near <= CHIP_FACE / 2 and 0.5 <= rect.width() / CHIP_FACE <= 2.0:
                best = max(best, float(score))
        return best

    def is_face(self, image_bgr: np.ndarray, face: FaceBox) -> bool:
        return self.evidence(image_bgr, face) >= self.min_evidence


def load_face_check() -> FaceCheck | None:
    """The check when dlib is installed (the faces extra), else None: BlazeFace alone decides."""
    try:
        return FaceCheck()
    except ImportError:
        _LOGGER.info("no second opinion on faces (dlib missing): install the extra: pip install 'camwatch[faces]'")
        return None
