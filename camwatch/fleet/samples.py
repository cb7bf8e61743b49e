"""Recent detector inputs of each camera, kept to test a new model on before and after it goes live.

The shared detector offers every call; at most one per camera per ``sample_interval`` is
taken. Inputs where the running model found a tracked object go into a small ring per
camera (``recent_frames``), a few without one into another (to see what a new model adds).
They are copies, scaled down to at most 640 px wide, in memory only, never written
anywhere. During a watch period the samples also go to the watch, which runs the previous
model on them.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from camwatch.detectors.base import Detection

MAX_WIDTH = 640
EMPTY_PER_CAMERA = 2


@dataclass(frozen=True)
class Sample:
    camera: str
    image: np.ndarray
    threshold: float | None
    found: tuple[Detection, ...]  # what the model running then found, in ``image`` pixels
    model: str  # SHA-256 of that model
    time: float


def _scaled(image: np.ndarray, found: list[Detection]) -> tuple[np.ndarray, tuple[Detection, ...]]:
    height, width = image.shape[:2]
    if width <= MAX_WIDTH:
        return image.copy(), tuple(found)
    scale = MAX_WIDTH / width
    small = cv2.resize(image, (MAX_WIDTH, max(1, round(height * scale))), interpolation=cv2.INTER_AREA)
    boxes = tuple(Detection(d.label, d.score, tuple(v * scale for v in d.box)) for d in found)  # type: ignore[misc]
    return small, boxes


class FrameRecorder:
    """Implements the shared detector's ``Recorder``; thread-safe."""

    def __init__(self, recent_frames: int, sample_interval: float, tracked: Callable[[], set[str]]) -> None:
        self.recent_frames = recent_frames
        self.sample_interval = sample_interval
        self.tracked = tracked
        self._lock = threading.Lock()
        self._with: dict[str, deque[Sample]] = {}
        self._without: dict[str, deque[Sample]] = {}
        self._last: dict[str, float] = {}
        self.watch: Callable[[Sample], None] | None = None

    def offer(
        self, camera: str, image: np.ndarray, threshold: float | None, found: list[Detection], model: str
    ) -> None:
        now = time.monotonic()
        watch = self.watch
        with self._lock:
            if now - self._last.get(camera, -1e9) < self.sample_interval:
                return
            self._last[camera] = now
        if self.recent_frames == 0 and watch is None:
            return
        tracked = self.tracked()
        interesting = [d for d in found if d.label in tracked]
        image, boxes = _scaled(image, interesting)
        sample = Sample(camera, image, threshold, boxes, model, time.time())
        if self.recent_frames:
            with self._lock:
                if interesting:
                    ring = self._with.setdefault(camera, deque(maxlen=self.recent_frames))
                else:
                    ring = self._without.setdefault(camera, deque(maxlen=EMPTY_PER_CAMERA))
                ring.append(sample)
        if watch is not None:
            watch(sample)

    def samples(self, model: str) -> list[Sample]:
        """Every kept sample the model ``model`` (its SHA-256) decided on."""
        with self._lock:
            kept = [s for ring in (*self._with.values(), *self._without.values()) for s in ring]
        return [s for s in kept if s.model == model]

    def forget_camera(self, camera: str) -> None:
        with self._lock:
            self._with.pop(camera, None)
            self._without.pop(camera, None)
            self._last.pop(camera, None)
