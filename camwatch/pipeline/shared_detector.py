"""One detector shared by every camera.

The interpreter is not re-entrant, so calls are serialised by a lock. Cameras never queue
frames for it: each camera worker processes only its newest frame (older ones are skipped
and counted at the source), so when the detector cannot keep up, frames are dropped at the
source rather than piled up here.
"""

from __future__ import annotations

import threading
import time

import numpy as np

from camwatch.detectors.base import Detection, Detector


class SharedDetector(Detector):
    def __init__(self, detector: Detector) -> None:
        self.inner = detector
        self.input_size = detector.input_size
        self._lock = threading.Lock()
        self.calls = 0
        self.busy_seconds = 0.0
        self.wait_seconds = 0.0

    @property
    def inference_ms(self) -> float:  # type: ignore[override]
        return self.inner.inference_ms

    def detect(self, image_bgr: np.ndarray, threshold: float | None = None) -> list[Detection]:
        queued = time.perf_counter()
        with self._lock:
            start = time.perf_counter()
            try:
                return self.inner.detect(image_bgr, threshold)
            finally:
                end = time.perf_counter()
                self.calls += 1
                self.busy_seconds += end - start
                self.wait_seconds += start - queued

    def describe(self) -> dict:
        info = dict(self.inner.describe())
        info["calls"] = self.calls
        return info

    def close(self) -> None:
        self.inner.close()
