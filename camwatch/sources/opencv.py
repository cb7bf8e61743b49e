"""A camera read through OpenCV (FFmpeg for streams and files, V4L2 for USB cameras).

A reader thread decodes, samples at the detect fps and hands frames over through a
one-frame slot: live sources keep the newest frame (older ones are counted as skipped),
files played as fast as possible block until the pipeline takes each frame, so nothing
queues without bound and nothing is lost in replays. A dead or frozen stream is noticed
within the read timeout; the thread then reconnects forever with exponential backoff and
jitter, logging each state change once. A video file that is missing (an unmounted disk,
a file not copied yet) or that disappears while playing is offline and retried the same
way: one missing camera never stops the others.
"""

from __future__ import annotations

import logging
import os
import random
import threading
import time
from pathlib import Path

import cv2
import numpy as np

from camwatch.config.camera import SourceConfig
from camwatch.secrets import redact_url
from camwatch.sources.base import (
    FileSampler,
    Frame,
    LiveSampler,
    RateMeter,
    SourceKind,
    source_kind,
    with_credentials,
)
from camwatch.state import RuntimeState

_LOGGER = logging.getLogger(__name__)
_FFMPEG_OPTIONS = "OPENCV_FFMPEG_CAPTURE_OPTIONS"
_USER_ENV = frozenset(k for k in os.environ if k == _FFMPEG_OPTIONS)  # set before camwatch started
_OPEN_LOCK = threading.Lock()


class SourceError(RuntimeError):
    """The source cannot be used at all."""


class _FileMissing(OSError):
    """The video file is not there (yet, or any more): retried like a dead stream."""


class CameraSource:
    def __init__(
        self,
        name: str,
        url: str,
        fps: float,
        options: SourceConfig | None = None,
        state: RuntimeState | None = None,
        start_time: float | None = None,
        username: str | None = None,
        password: str | None = None,
    ) -> None:
        self.name = name
        self.url = url
        self.username = username
        self._password = password  # joined to the address only in _open
        self.kind = source_kind(url)
        self.fps = fps
        self.options = options or SourceConfig()
        self.state = state or RuntimeState()
        self.start_time = start_time
        self._slot: Frame | None = None
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.finished = False  # a file source reached its end (and does not loop)
        self.frames_decoded = 0
        self.frames_sampled = 0
        self.skipped = 0
        self.corrupt = 0
        self._input_rate = RateMeter()
        self._skip_rate = RateMeter()
        self._ever_online = False
        self._online = False
        self._backoff = self.options.reconnect_min
        self.source_fps = 0.0
        self._file_base: float | None = None
        self._pace_base: float | None = None  # monotonic time of a file's position 0 (real-time loops)

    @property
    def label(self) -> str:
        return redact_url(self.url)

    @property
    def blocking(self) -> bool:
        """Files played as fast as possible hand over every sampled frame."""
        return self.kind is SourceKind.FILE and not self.options.realtime

    # ----------------------------------------------------------------- control
    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"source-{self.name}", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        if self._thread:
            self._thread.join(timeout)
        self._set_state(False, "stopped", None)

    def read(self, timeout: float = 1.0) -> Frame | None:
        """The next sampled frame, or None after ``timeout`` (or when the file ended)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._slot is None:
                if self.finished or self._stop.is_set():
                    return None
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._cond.wait(left)
            frame, self._slot = self._slot, None
            self._cond.notify_all()
            return frame

    def input_fps(self) -> float:
        return self._input_rate.rate()

    def skipped_fps(self) -> float:
        return self._skip_rate.rate()

    # ------------------------------------------------------------------ reader
    def _open(self) -> cv2.VideoCapture:
        opts = self.options
        _LOGGER.debug("camera %s: opening %s", self.name, self.label)
        if self.kind is SourceKind.FILE and not Path(self.url).is_file():
            raise _FileMissing(f"video file not found: {self.url}")
        if self.kind is SourceKind.USB:
            index = int(self.url[len("/dev/video") :]) if self.url.startswith("/dev/video") else int(self.url)
            cap = cv2.VideoCapture(index, cv2.CAP_V4L2)
        else:
            address = with_credentials(self.url, self.username, self._password)
            params = [
                cv2.CAP_PROP_OPEN_TIMEOUT_MSEC,
                int(opts.open_timeout * 1000),
                cv2.CAP_PROP_READ_TIMEOUT_MSEC,
                int(opts.read_timeout * 1000),
            ]
            rtsp = self.kind is SourceKind.STREAM and self.url.lower().startswith("rtsp")
            # OpenCV reads FFmpeg options from the environment when it opens a capture: set this
            # camera's RTSP transport for its own open only (unless the user set the variable).
            # (RTSP opens are serialised for that; files and other streams never wait.)
            if rtsp and _FFMPEG_OPTIONS not in _USER_ENV:
                with _OPEN_LOCK:
                    os.environ[_FFMPEG_OPTIONS] = f"rtsp_transport;{opts.rtsp_transport}"
                    try:
                        cap = cv2.VideoCapture(address, cv2.CAP_FFMPEG, params)
                    finally:
                        os.environ.pop(_FFMPEG_OPTIONS, None)
            else:
                cap = cv2.VideoCapture(address, cv2.CAP_FFMPEG, params)
        if not cap.isOpened():
            cap.release()
            raise OSError(self._open_error())
        return cap

    def _open_error(self) -> str:
        if self.kind is SourceKind.FILE:
            return f"cannot decode video file {self.url}"
        if self.kind is SourceKind.USB:
            return f"cannot open USB camera {self.url} (is it plugged in, and is the user in group video?)"
        return f"cannot connect to {self.label} within {self.options.open_timeout:g} s"

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                cap = self._open()
            except OSError as exc:
                # a file that is there but cannot be decoded would only fail again
                final = self.kind is SourceKind.FILE and not isinstance(exc, _FileMissing)
                self._set_state(False, "offline", str(exc), retry=not final)
                if final:
                    self.finished = True
                    with self._cond:
                        self._cond.notify_all()
                    return
                self._wait_backoff()
                continue
            try:
                outcome = self._read_loop(cap)
            finally:
                cap.release()
            if outcome == "restart":  # a looping file: reopen at once (raw streams cannot seek)
                continue
            if outcome == "ended":
                self.finished = True
                self._set_state(False, "finished", None)
                with self._cond:
                    self._cond.notify_all()
                return
            if not self._stop.is_set():
                self._wait_backoff()

    def _wait_backoff(self) -> None:
        delay = self._backoff * random.uniform(0.8, 1.2)
        self._backoff = min(self._backoff * 2, self.options.reconnect_max)
        self._stop.wait(delay)

    def _read_loop(self, cap: cv2.VideoCapture) -> str:
        """Read until the stream fails ("failed"), a file ends ("ended") or loops ("restart")."""
        is_file = self.kind is SourceKind.FILE
        self.source_fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
        if not (0 < self.source_fps < 1000):
            self.source_fps = 25.0 if is_file else 0.0
        file_sampler = FileSampler(self.source_fps, self.fps) if is_file else None
        live_sampler = LiveSampler(self.fps)
        if self._file_base is None:
            self._file_base = self.start_time if self.start_time is not None else time.time()
        base = self._file_base
        if self._pace_base is None:
            self._pace_base = time.monotonic()
        # Paced on one timeline across loops, so looping never drifts from the wall clock.
        wall_start = self._pace_base
        index = 0
        first = True
        stall = 0.9 * self.options.read_timeout
        last_frame = time.monotonic()
        while not self._stop.is_set():
            asked = time.monotonic()
            # A file's frame the sampler will not keep is decoded (the next one needs it) but
            # never converted to BGR: at 5 fps from a 30 fps file, five conversions in six.
            skipped = is_file and not first and not file_sampler.wants(index)
            ok, image = (cap.grab(), None) if skipped else cap.read()
            took = time.monotonic() - asked
            if not is_file and ok and took >= stall:
                # After a stall FFmpeg hands out the frames it still had, one per timeout:
                # a read that took the whole timeout means the stream is frozen.
                self._set_state(False, "offline", f"no new frame for {took:.1f} s (stream frozen)")
                return "failed"
            if not ok or (image is None and not skipped):
                if is_file and not Path(self.url).is_file():
                    self._set_state(False, "offline", f"video file disappeared: {self.url}")
                    # when it is back it plays on from here (wall clock for a live-like file)
                    self._file_base = None if self.start_time is None else base + index / self.source_fps
                    self._pace_base = None
                    return "failed"
                if is_file:
                    if index == 0:
                        self._set_state(False, "offline", f"no frame could be decoded from {self.url}")
                        return "ended"
                    if self.options.loop:
                        self._file_base = base + index / self.source_fps
                        self._pace_base = wall_start + index / self.source_fps
                        return "restart"
                    return "ended"
                self._set_state(False, "offline", _lost_reason(time.monotonic() - last_frame, took, self.options.read_timeout))
                return "failed"
            if not skipped and (not isinstance(image, np.ndarray) or image.ndim != 3 or image.size == 0):
                self.corrupt += 1
                continue
            last_frame = time.monotonic()
            if first:
                first = False
                self._backoff = self.options.reconnect_min
                self._set_state(True, "online", None, frame_size=(image.shape[1], image.shape[0]))
            self.frames_decoded += 1
            self._input_rate.tick()
            if is_file:
                ts = base + index / self.source_fps
                if self.options.realtime:
                    lag = (wall_start + index / self.source_fps) - time.monotonic()
                    if lag > 0:
                        self._stop.wait(lag)
                keep = file_sampler.keep(index)
            else:
                ts = time.time()
                keep = live_sampler.keep(ts)
            index += 1
            if keep:
                self._deliver(Frame(image, ts, index - 1))
        return "failed"

    def _deliver(self, frame: Frame) -> None:
        self.frames_sampled += 1
        with self._cond:
            if self.blocking:
                while self._slot is not None and not self._stop.is_set():
                    self._cond.wait(0.5)
            elif self._slot is not None:
                self.skipped += 1
                self._skip_rate.tick()
            self._slot = frame
            self._cond.notify_all()

    def _set_state(self, online: bool, state: str, error: str | None, retry: bool = True, **extra: object) -> None:
        changed = online != self._online or self.state.camera(self.name).state != state
        reconnect = online and self._ever_online and not self._online
        self._online = online
        status = self.state.camera(self.name)
        changes: dict[str, object] = {"online": online, "state": state, **extra}
        if error is not None:
            changes["last_error"] = error
        if reconnect:
            changes["reconnects"] = status.reconnects + 1
        if online:
            self._ever_online = True
        self.state.update_camera(self.name, **changes)
        if changed:
            if online:
                _LOGGER.info("camera %s online (%s)%s", self.name, self.label, " after reconnect" if reconnect else "")
            elif state == "offline":
                _LOGGER.warning("camera %s offline: %s%s", self.name, error, "; retrying with backoff" if retry else "")
                self.state.add_error(f"camera {self.name}", error or "offline")
            elif state == "finished":
                _LOGGER.info("camera %s: end of file", self.name)


def _lost_reason(since_frame: float, read_took: float, read_timeout: float) -> str:
    """What was seen when a stream stopped giving frames (measured, not the configured limit)."""
    if read_took >= 0.9 * read_timeout:
        return f"no frame for {since_frame:.1f} s (read timed out after {read_took:.1f} s: stream frozen or unreachable)"
    return f"stream ended {since_frame:.1f} s after the last frame (the camera closed the connection or sent an error)"
