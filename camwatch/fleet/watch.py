"""The watch period after a swap: the previous model runs beside the new one on sampled inputs.

The camera threads hand samples in (:meth:`WatchPeriod.take_sample`, through the frame
recorder) and report a failure of the new model (:meth:`WatchPeriod.on_fallback`, when the
previous model had to take over inside a detector call); :meth:`WatchPeriod.run`, on the
update thread, compares and decides. A busy board skips samples rather than queue them.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from typing import Any

from camwatch.config.fleet import UpdatesConfig
from camwatch.detectors.base import Detector
from camwatch.fleet.compare import Tally
from camwatch.fleet.samples import FrameRecorder, Sample

SAMPLE_QUEUE = 16


class WatchPeriod:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._samples: queue.Queue[Sample] = queue.Queue(maxsize=SAMPLE_QUEUE)
        self._failure: tuple[Detector, BaseException] | None = None

    def on_fallback(self, failed: Detector, exc: BaseException) -> None:
        with self._lock:
            self._failure = (failed, exc)

    def take_sample(self, sample: Sample) -> None:
        with contextlib.suppress(queue.Full):  # the watch compares what it can; a busy board skips some
            self._samples.put_nowait(sample)

    def run(
        self, sha256: str, detector: Any, recorder: FrameRecorder, settings: UpdatesConfig, tracked: set[str],
        stop: threading.Event,
    ) -> tuple[bool | None, str | None, Tally]:  # fmt: skip
        """(passed, reason, tally); ``passed`` None when ``stop`` was set first."""
        deadline = time.monotonic() + settings.watch_period
        tally = Tally()
        recorder.watch = self.take_sample
        try:
            while time.monotonic() < deadline:
                if stop.is_set():
                    return None, None, tally
                with self._lock:
                    failure, self._failure = self._failure, None
                if failure is not None:
                    failure[0].close()
                    return False, f"the new model failed ({type(failure[1]).__name__}: {failure[1]})", tally
                try:
                    sample = self._samples.get(timeout=min(0.5, max(0.01, deadline - time.monotonic())))
                except queue.Empty:
                    continue
                if sample.model != sha256:
                    continue
                previous = detector.run_previous(sample.image, sample.threshold)
                if previous is None:
                    continue
                tally.add(previous, sample.found, tracked)
                if tally.too_lossy(settings.allowed_loss, settings.min_objects):
                    failed = detector.roll_back()
                    if failed is not None:
                        failed.close()
                    return False, f"watch period: {tally.describe()}", tally
            return True, None, tally
        finally:
            recorder.watch = None
            while not self._samples.empty():
                self._samples.get_nowait()
