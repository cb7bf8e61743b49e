"""Tampering applied to real footage, for the tests, the benchmark and self-checks.

Frames are decoded from a real clip and sampled at a fixed rate; a tamper kind then
changes them from ``start`` on: a uniform or skin-coloured patch growing over the lens, a
Gaussian blur ramp, a shifted or rotated view, or a frozen frame.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from camwatch.sources.base import every_nth_frame

SKIN_BGR = (120, 150, 205)  # a light skin tone, as a hand over the lens
GREY_BGR = (128, 128, 128)
KINDS: tuple[str, ...] = ("cover_skin", "cover_grey", "blur", "shift", "rotate", "freeze")
EXPECTED_STATE = {
    "cover_skin": "covered",
    "cover_grey": "covered",
    "blur": "defocused",
    "shift": "moved",
    "rotate": "moved",
    "freeze": "frozen",
}


def sample_clip(path: Path, fps: float = 5.0, max_seconds: float | None = None) -> Iterator[tuple[float, np.ndarray]]:
    """Yield (seconds from start, BGR frame) at about ``fps`` from a real clip."""
    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        raise OSError(f"cannot open clip {path}")
    src_fps = cap.get(cv2.CAP_PROP_FPS) or 25.0
    if not 1.0 <= src_fps <= 120.0:
        src_fps = 25.0
    step = max(1, round(src_fps / fps))
    try:
        for index, frame in every_nth_frame(cap, step):
            ts = index / src_fps
            if max_seconds is not None and ts > max_seconds:
                return
            yield ts, frame
    finally:
        cap.release()


def cover(frame: np.ndarray, progress: float, color: tuple[int, int, int]) -> np.ndarray:
    """A patch sliding in from the left edge; ``progress`` 1 covers the whole lens."""
    out = frame.copy()
    width = int(round(frame.shape[1] * min(1.0, max(0.0, progress))))
    if width > 0:
        out[:, :width] = color
    return out


def blur(frame: np.ndarray, progress: float) -> np.ndarray:
    """Gaussian blur up to sigma = 1/40 of the frame width (a badly defocused or smeared lens)."""
    sigma = min(1.0, max(0.0, progress)) * frame.shape[1] / 40.0
    if sigma < 0.3:
        return frame
    return cv2.GaussianBlur(frame, (0, 0), sigma)


def warp(frame: np.ndarray, progress: float, dx: float = 0.0, dy: float = 0.0, angle: float = 0.0) -> np.ndarray:
    """Shift by (dx, dy) of the frame size and rotate by ``angle`` degrees, scaled by progress."""
    p = min(1.0, max(0.0, progress))
    h, w = frame.shape[:2]
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), angle * p, 1.0)
    matrix[0, 2] += dx * p * w
    matrix[1, 2] += dy * p * h
    return cv2.warpAffine(frame, matrix, (w, h), borderMode=cv2.BORDER_REFLECT)


@dataclass(frozen=True, slots=True)
class Scenario:
    kind: str
    start: float  # tampering begins
    ramp: float = 1.0  # seconds until it is complete

    @property
    def complete(self) -> float:
        """When the tampering is fully applied (delays are measured from here)."""
        return self.start + self.ramp

    def apply(self, samples: Iterator[tuple[float, np.ndarray]]) -> Iterator[tuple[float, np.ndarray]]:
        held: np.ndarray | None = None
        for ts, frame in samples:
            if ts < self.start:
                yield ts, frame
                continue
            progress = 1.0 if self.ramp <= 0 else (ts - self.start) / self.ramp
            if self.kind == "freeze":
                if held is None:
                    held = frame
                yield ts, held
            elif self.kind == "cover_skin":
                yield ts, cover(frame, progress, SKIN_BGR)
            elif self.kind == "cover_grey":
                yield ts, cover(frame, progress, GREY_BGR)
            elif self.kind == "blur":
                yield ts, blur(frame, progress)
            elif self.kind == "shift":
                yield ts, warp(frame, progress, dx=0.15, dy=0.05)
            elif self.kind == "rotate":
                yield ts, warp(frame, progress, angle=12.0)
            else:
                raise ValueError(f"unknown tamper kind {self.kind!r} (known: {', '.join(KINDS)})")
