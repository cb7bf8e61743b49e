"""One detector shared by every camera; the model in it can be swapped while the cameras run.

The interpreter is not re-entrant, so calls are serialised by a lock. Cameras never queue
frames for it: each camera worker processes only its newest frame (older ones are skipped
and counted at the source), so when the detector cannot keep up, frames are dropped at the
source rather than piled up here.

A new model is built beside the running one and put in under the same lock (:meth:`swap`),
between two calls: no frame sees half of each, no camera stops. For a watch period the
previous model may stay loaded (``keep_previous``): it is then run, under the lock too, on
inputs sampled for comparison, and if the new model raises, the previous one takes over
at once — the frame that failed is detected again with it — and ``on_fallback`` is told.

Each camera gets a view (:meth:`for_camera`) that names it, so a recorder can keep recent
inputs per camera for testing the next model on them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Protocol

import numpy as np

from camwatch.detectors.base import Detection, Detector, ModelInfo


class Recorder(Protocol):
    def offer(
        self, camera: str, image: np.ndarray, threshold: float | None, found: list[Detection], model: str
    ) -> None:
        """One detector call of ``camera``, what the model found and that model's SHA-256; must be quick."""


FallbackHandler = Callable[[Detector, BaseException], None]


class SharedDetector(Detector):
    def __init__(self, detector: Detector, info: ModelInfo | None = None) -> None:
        self.inner = detector
        self.info = info
        self._lock = threading.Lock()
        self.calls = 0
        self.busy_seconds = 0.0
        self.wait_seconds = 0.0
        self.swaps = 0
        self.recorder: Recorder | None = None
        self.on_fallback: FallbackHandler | None = None
        self._previous: Detector | None = None
        self._previous_info: ModelInfo | None = None

    @property
    def input_size(self) -> tuple[int, int]:  # type: ignore[override]
        return self.inner.input_size

    @property
    def inference_ms(self) -> float:  # type: ignore[override]
        return self.inner.inference_ms

    @property
    def region_context(self) -> float:  # type: ignore[override]
        return self.inner.region_context

    @property
    def max_upscale(self) -> float:  # type: ignore[override]
        return self.inner.max_upscale

    @property
    def watching(self) -> bool:
        """The previous model is still loaded (a watch period runs)."""
        return self._previous is not None

    def for_camera(self, camera: str) -> CameraDetector:
        return CameraDetector(self, camera)

    def detect(
        self, image_bgr: np.ndarray, threshold: float | None = None, camera: str | None = None
    ) -> list[Detection]:
        queued = time.perf_counter()
        failure: tuple[Detector, BaseException] | None = None
        with self._lock:
            start = time.perf_counter()
            try:
                try:
                    found = self.inner.detect(image_bgr, threshold)
                except Exception as exc:
                    if self._previous is None or isinstance(exc, ValueError):  # ValueError: a bad image
                        raise
                    failure = (self._roll_back_locked(), exc)
                    found = self.inner.detect(image_bgr, threshold)
                model = self.info.sha256 if self.info is not None else ""
            finally:
                end = time.perf_counter()
                self.calls += 1
                self.busy_seconds += end - start
                self.wait_seconds += start - queued
        if failure is not None and self.on_fallback is not None:
            self.on_fallback(*failure)
        recorder = self.recorder
        if recorder is not None and camera is not None:
            recorder.offer(camera, image_bgr, threshold, found, model)
        return found

    # ------------------------------------------------------------ swapping
    def swap(self, detector: Detector, info: ModelInfo, keep_previous: bool = False) -> Detector | None:
        """Put ``detector`` in; returns the one it replaced, or None when that one stays loaded
        as the previous model (``keep_previous``) until :meth:`release_previous` or :meth:`roll_back`."""
        with self._lock:
            old, old_info = self.inner, self.info
            stale = self._previous
            self.inner, self.info = detector, info
            self.swaps += 1
            if keep_previous:
                self._previous, self._previous_info = old, old_info
        if stale is not None:  # a watch still running: its model is not needed any more
            stale.close()
        return None if keep_previous else old

    def run_previous(self, image_bgr: np.ndarray, threshold: float | None) -> list[Detection] | None:
        """What the previous model finds in ``image_bgr`` (None when it is not loaded)."""
        with self._lock:
            if self._previous is None:
                return None
            return self._previous.detect(image_bgr, threshold)

    def release_previous(self) -> None:
        """The watch period ended well: close the previous model."""
        with self._lock:
            previous, self._previous, self._previous_info = self._previous, None, None
        if previous is not None:
            previous.close()

    def roll_back(self) -> Detector | None:
        """Put the previous model back; returns the model taken out (None when there was no previous)."""
        with self._lock:
            if self._previous is None:
                return None
            return self._roll_back_locked()

    def _roll_back_locked(self) -> Detector:
        assert self._previous is not None
        failed = self.inner
        self.inner, self.info = self._previous, self._previous_info
        self._previous, self._previous_info = None, None
        self.swaps += 1
        return failed

    # ------------------------------------------------------------ facts
    def describe(self) -> dict:
        info = dict(self.inner.describe())
        info["calls"] = self.calls
        if self.info is not None:
            info["model_name"] = self.info.name
            info["model_sha256"] = self.info.sha256
            info["model_version"] = self.info.version
            info["model_source"] = self.info.source
        return info

    def close(self) -> None:
        self.release_previous()
        self.inner.close()


class CameraDetector(Detector):
    """The shared detector as one camera uses it: its calls carry the camera's name."""

    def __init__(self, shared: SharedDetector, camera: str) -> None:
        self.shared = shared
        self.camera = camera

    @property
    def input_size(self) -> tuple[int, int]:  # type: ignore[override]
        return self.shared.input_size

    @property
    def inference_ms(self) -> float:  # type: ignore[override]
        return self.shared.inference_ms

    @property
    def region_context(self) -> float:  # type: ignore[override]
        return self.shared.region_context

    @property
    def max_upscale(self) -> float:  # type: ignore[override]
        return self.shared.max_upscale

    def detect(self, image_bgr: np.ndarray, threshold: float | None = None) -> list[Detection]:
        return self.shared.detect(image_bgr, threshold, camera=self.camera)

    def describe(self) -> dict:
        return self.shared.describe()
