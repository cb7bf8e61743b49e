"""Load generators around the real detector (not mocks: every call still runs the model)."""

from __future__ import annotations

import time

import numpy as np

from camwatch.detectors.base import Detection, Detector


class PacedDetector(Detector):
    """The real detector, made to take at least ``min_seconds`` per call.

    Saturates the detector by construction: with N cameras asking for more than
    ``1 / min_seconds`` calls a second in total it cannot keep up on any machine, however
    fast, so a test of what happens then does not depend on the machine's speed.
    """

    def __init__(self, inner: Detector, min_seconds: float) -> None:
        self.inner = inner
        self.min_seconds = min_seconds
        self.input_size = inner.input_size

    @property
    def inference_ms(self) -> float:  # type: ignore[override]
        return self.inner.inference_ms

    def detect(self, image_bgr: np.ndarray, threshold: float | None = None) -> list[Detection]:
        start = time.perf_counter()
        try:
            return self.inner.detect(image_bgr, threshold)
        finally:
            left = self.min_seconds - (time.perf_counter() - start)
            if left > 0:
                time.sleep(left)

    def describe(self) -> dict:
        return {**self.inner.describe(), "min_seconds_per_call": self.min_seconds}

    def close(self) -> None:
        self.inner.close()
