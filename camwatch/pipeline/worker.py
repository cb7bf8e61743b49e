"""A thread per camera: take the newest sampled frame from the source and run the pipeline.

A slow or dead camera only stalls its own thread. A bug on one frame is logged (once per
kind of error) and the loop goes on with the next frame. A new pipeline for a changed
config is swapped in on this thread, between two frames, so no frame sees half of each.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from camwatch.const import END_REASON_STOPPED
from camwatch.pipeline.camera import CameraPipeline
from camwatch.sources.base import RateMeter
from camwatch.sources.opencv import CameraSource
from camwatch.state import RuntimeState

_LOGGER = logging.getLogger(__name__)
STATE_INTERVAL = 1.0

Rebuild = Callable[[CameraPipeline], CameraPipeline]


class CameraWorker:
    def __init__(self, pipeline: CameraPipeline, source: CameraSource, state: RuntimeState) -> None:
        self.pipeline = pipeline
        self.source = source
        self.state = state
        self.heartbeat = time.monotonic()
        self.finished = threading.Event()
        self._stop = threading.Event()
        self._rate = RateMeter()
        self._errors_seen: set[str] = set()
        self._thread = threading.Thread(target=self._run, name=f"camera-{pipeline.name}", daemon=True)
        self._swap_lock = threading.Lock()
        self._swap: tuple[Rebuild, threading.Event] | None = None
        self._running = False
        self._stop_reason = END_REASON_STOPPED
        self.frames_processed = 0
        self.frame_errors = 0

    @property
    def name(self) -> str:
        return self.pipeline.name

    def start(self) -> None:
        self._running = True
        self.source.start()
        self._thread.start()

    def stop(self, timeout: float = 10.0, reason: str = END_REASON_STOPPED) -> None:
        """Stop the loop; open events end with ``reason`` (unless the file had ended)."""
        self._stop_reason = reason
        self._stop.set()
        self.source.stop()
        self._thread.join(timeout)

    def replace_pipeline(self, rebuild: Rebuild, timeout: float = 10.0) -> bool:
        """Run ``rebuild(current pipeline)`` between two frames and go on with its result.

        Waits until it is done (at most ``timeout`` s: a hung loop); on a loop that has ended
        it runs at once, on the caller's thread.
        """
        done = threading.Event()
        with self._swap_lock:
            if self._running:
                self._swap = (rebuild, done)
            else:
                self.pipeline = rebuild(self.pipeline)
                return True
        return done.wait(timeout)

    def _apply_swap(self) -> None:
        with self._swap_lock:
            pending, self._swap = self._swap, None
        if pending is None:
            return
        rebuild, done = pending
        try:
            self.pipeline = rebuild(self.pipeline)
        except Exception:
            _LOGGER.exception("camera %s: applying the new config failed; keeping the old one", self.name)
        finally:
            done.set()

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    def alive(self, stall_after: float = 30.0) -> bool:
        """False when the loop has not come round for ``stall_after`` seconds (hung)."""
        return self.finished.is_set() or time.monotonic() - self.heartbeat < stall_after

    def _run(self) -> None:
        last_state = 0.0
        last_ts = None
        try:
            while not self._stop.is_set():
                self.heartbeat = time.monotonic()
                self._apply_swap()
                frame = self.source.read(timeout=1.0)
                if frame is None:
                    if self.source.finished:
                        break
                    self._publish_rates(force=True)
                    try:
                        self.pipeline.idle(time.time())
                    except Exception:
                        _LOGGER.exception("camera %s: idle check failed", self.name)
                    continue
                last_ts = frame.ts
                try:
                    self.pipeline.process(frame)
                    self.frames_processed += 1
                    self._rate.tick()
                except Exception as exc:  # one bad frame must not stop the camera
                    self.frame_errors += 1
                    kind = f"{type(exc).__name__}: {exc}"
                    if kind not in self._errors_seen:
                        self._errors_seen.add(kind)
                        _LOGGER.exception("camera %s: frame %d failed", self.name, frame.index)
                        self.state.add_error(f"camera {self.name}", kind)
                now = time.monotonic()
                if now - last_state >= STATE_INTERVAL:
                    last_state = now
                    self._publish_rates()
        finally:
            self._apply_swap()  # a new config that came while the loop was ending
            end_ts = last_ts if (last_ts is not None and self.source.finished) else time.time()
            reason = "end of file" if self.source.finished else self._stop_reason
            try:
                self.pipeline.finish(end_ts, reason)
            except Exception:
                _LOGGER.exception("camera %s: closing events failed", self.name)
            with self._swap_lock:
                self._running = False
            self._apply_swap()  # one that came while finishing: from now on they run at once
            self._publish_rates(force=True)
            self.finished.set()

    def _publish_rates(self, force: bool = False) -> None:
        self.state.update_camera(
            self.name,
            input_fps=self.source.input_fps(),
            processed_fps=self._rate.rate(),
            skipped_fps=self.source.skipped_fps(),
            skipped_total=self.source.skipped,
        )
