"""Trying a camera before it is saved: one picture through the pipeline's own source, or why not.

The trial runs exactly what a running camera runs — a :class:`CameraSource` with the same
address, login and capture options — for a moment, on a state of its own (the live cameras
never see it). It hands back the first picture as a JPEG with its size and the frame rate
(counted over a short window for streams and USB cameras; a file's own rate), or the reason
it got none: for streams the camera is asked why (camwatch.sources.diagnose), for files and
USB cameras the file system says it.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, replace
from pathlib import Path

import cv2

from camwatch.config.camera import SourceConfig
from camwatch.sources import diagnose
from camwatch.sources.base import Frame, SourceKind, source_kind
from camwatch.sources.opencv import CameraSource
from camwatch.state import RuntimeState

_LOGGER = logging.getLogger(__name__)

#: Streams hand over what FFmpeg buffered while it probed in one burst: not counted.
WARMUP_SECONDS = 0.5
MEASURE_SECONDS = 1.5
MAX_WIDTH = 1280  # the picture shown on the page
JPEG_QUALITY = 80


@dataclass(frozen=True)
class TrialResult:
    ok: bool
    reason: str | None  # None when ok, else one of camwatch.sources.diagnose's reasons
    message: str
    jpeg: bytes | None = None
    width: int = 0
    height: int = 0
    fps: float = 0.0
    fps_measured: bool = False  # counted (stream, USB) rather than the file's own rate
    seconds: float = 0.0


def try_source(
    url: str,
    *,
    username: str | None = None,
    password: str | None = None,
    options: SourceConfig | None = None,
    fps: float = 5.0,
    name: str = "trial",
) -> TrialResult:
    """Open ``url`` as the pipeline would, wait for one picture, measure the frame rate."""
    options = options or SourceConfig()
    kind = source_kind(url)
    started = time.monotonic()
    state = RuntimeState()
    label = f"{name} (test)"
    source = CameraSource(label, url, fps, options.model_copy(update={"loop": False}), state,
                          username=username, password=password)
    source.start()
    try:
        frame = _first_frame(source, state, label, options)
        if frame is None:
            status = state.camera(label)
            if status.state != "offline" and not source.finished:
                waited = options.open_timeout + options.read_timeout
                return _done(TrialResult(False, diagnose.TIMEOUT, f"timeout: no picture within {waited:g} s"), started)
            return _done(_failure(url, kind, username, password, options, status.last_error), started)
        height, width = frame.image.shape[:2]
        if kind is SourceKind.FILE:
            rate, measured = source.source_fps, False
        else:
            rate, measured = _measure(source), True
        jpeg = _jpeg(frame)
    finally:
        source.stop()
    what = f"{width}x{height}, {rate:.1f} fps" + (" measured" if measured else "")
    return _done(TrialResult(True, None, f"works: {what}", jpeg, width, height, round(rate, 2), measured),
                 started)


def _done(result: TrialResult, started: float) -> TrialResult:
    return replace(result, seconds=round(time.monotonic() - started, 2))


def _first_frame(source: CameraSource, state: RuntimeState, label: str, options: SourceConfig) -> Frame | None:
    deadline = time.monotonic() + options.open_timeout + options.read_timeout + 1.0
    while time.monotonic() < deadline:
        # A short wait: a source that goes offline says so in its state only (read() waits on).
        frame = source.read(0.05)
        if frame is not None:
            return frame
        if source.finished or state.camera(label).state == "offline":
            return None
    return None


def _measure(source: CameraSource) -> float:
    """Frames decoded per second after the warm-up burst (the camera's real rate)."""
    time.sleep(WARMUP_SECONDS)
    first, start = source.frames_decoded, time.monotonic()
    time.sleep(MEASURE_SECONDS)
    frames, seconds = source.frames_decoded - first, time.monotonic() - start
    return frames / seconds if seconds > 0 else 0.0


def _jpeg(frame: Frame) -> bytes | None:
    image = frame.image
    if image.shape[1] > MAX_WIDTH:
        scale = MAX_WIDTH / image.shape[1]
        image = cv2.resize(image, (MAX_WIDTH, max(1, round(image.shape[0] * scale))), interpolation=cv2.INTER_AREA)
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    return data.tobytes() if ok else None


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except OSError:  # a name too long for the file system, say
        return False


def _failure(url: str, kind: SourceKind, username: str | None, password: str | None, options: SourceConfig,
             error: str | None) -> TrialResult:
    if kind is SourceKind.FILE:
        path = Path(url)
        if not _is_file(path):
            return TrialResult(False, diagnose.NOT_FOUND, f"not found: there is no file {url}")
        if not os.access(path, os.R_OK):
            return TrialResult(False, diagnose.FAILED, f"camwatch may not read {url} (file permissions)")
        return TrialResult(False, diagnose.NOT_VIDEO, f"not a video: {path.name} could not be decoded")
    if kind is SourceKind.USB:
        node = Path(url) if url.startswith("/dev/") else Path(f"/dev/video{url}")
        if not node.exists():
            return TrialResult(False, diagnose.NOT_FOUND, f"not found: {node} is not there (plugged in?)")
        if not os.access(node, os.R_OK | os.W_OK):
            return TrialResult(False, diagnose.FAILED, f"no access to {node}: camwatch's user needs the group video")
        return TrialResult(False, diagnose.NOT_VIDEO, f"{node} gives no picture (busy with another program, or "
                                                      "not a capture device: try the next /dev/video)")
    if error and error.startswith("no frame"):
        return TrialResult(False, diagnose.TIMEOUT, f"timeout: connected, but {error}")
    found = diagnose.diagnose_stream(url, username, password, options.open_timeout)
    return TrialResult(False, found.reason, found.message)
