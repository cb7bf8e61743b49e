"""Night views on real frames: greyscale (infrared) frames are recognised, very dim views are
brightened for the detector, and that finds the people in dark-stand.h264."""

from __future__ import annotations

import functools
from pathlib import Path

import cv2
import numpy as np
import pytest

from camwatch.track.lighting import is_greyscale, stretch_dim
from tests.conftest import SHARED, require

EVAL_CLIPS = SHARED / "eval" / "clips"
# The frames the tests look at, in seconds into each clip: each clip is opened once.
SECONDS = {"night_ir_yard.mp4": (60,), "caviar_leave1.mpg": (4,), "one-by-one-person-detection.mp4": (10,),
           "dark-stand.h264": (18, 20, 24)}


@functools.cache
def _frames(path: Path) -> dict[float, np.ndarray]:
    """The frames of ``path`` at SECONDS (read-only: tests share them). An MP4 is sought (FFmpeg
    lands on the exact frame there); other files are read on from the start (raw .h264 cannot
    seek, an MPEG programme stream lands near the frame), the frames before unconverted."""
    require(path.is_file(), f"clip {path}")
    cap = cv2.VideoCapture(str(path))
    fps = cap.get(cv2.CAP_PROP_FPS) or 25.0
    frames = {}
    index = 0
    for second in sorted(SECONDS[path.name]):
        wanted = int(second * fps)
        if path.suffix == ".mp4":
            cap.set(cv2.CAP_PROP_POS_FRAMES, wanted)
            index = wanted
        while index < wanted:
            assert cap.grab(), path
            index += 1
        ok, frame = cap.read()
        assert ok, path
        index += 1
        frame.setflags(write=False)
        frames[second] = frame
    cap.release()
    return frames


def _frame(path: Path, second: float) -> np.ndarray:
    return _frames(path)[second]


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
