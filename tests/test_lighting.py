"""Night views on real frames: greyscale (infrared) frames are recognised, very dim views are
brightened for the detector, and that finds the people in dark-stand.h264."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from camwatch.track.lighting import is_greyscale, stretch_dim
from tests.conftest import SHARED, require

EVAL_CLIPS = SHARED / "eval" / "clips"


def _frame(path, second: float) -> np.ndarray:
    require(path.is_file(), f"clip {path}")
    cap = cv2.VideoCapture(str(path))
    fps = cap.get(cv2.CAP_PROP_FPS) or 25.0
    frame = None
    for _ in range(int(second * fps) + 1):  # read on: raw .h264 cannot seek
        ok, frame = cap.read()
        assert ok, path
    cap.release()
    return frame


def test_infrared_frames_are_greyscale_and_colour_or_black_ones_are_not(shared_media):
    assert is_greyscale(_frame(EVAL_CLIPS / "night_ir_yard.mp4", 60))
    assert not is_greyscale(_frame(EVAL_CLIPS / "caviar_leave1.mpg", 4))
    assert not is_greyscale(_frame(shared_media / "one-by-one-person-detection.mp4", 10))
    assert not is_greyscale(np.zeros((480, 640, 3), np.uint8))  # black: nothing to tell


def test_only_very_dim_views_are_stretched(shared_media):
    ir = _frame(EVAL_CLIPS / "night_ir_yard.mp4", 60)
    assert stretch_dim(ir) is ir  # about 120 grey levels: left alone
    black = np.zeros((480, 640, 3), np.uint8)
    assert stretch_dim(black) is black
    dim = _frame(shared_media / "dark-stand.h264", 20)
    bright = stretch_dim(dim)
    assert np.percentile(bright, 99) - np.percentile(bright, 1) > 200 > np.percentile(dim, 99) - np.percentile(dim, 1)


@pytest.mark.parametrize("second", [18, 20, 24])
def test_stretching_a_dim_view_lets_the_detector_see_the_person(shared_media, detector, second):
    """Measured: people in dark-stand.h264 score 0.37-0.45 raw, 0.61-0.73 stretched."""
    frame = _frame(shared_media / "dark-stand.h264", second)
    raw = max((d.score for d in detector.detect(frame, 0.2) if d.label == "person"), default=0.0)
    seen = max((d.score for d in detector.detect(stretch_dim(frame), 0.2) if d.label == "person"), default=0.0)
    assert raw < 0.5 <= seen, (raw, seen)
