"""Frames, source kinds and frame-rate sampling."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import numpy as np

_V4L2 = re.compile(r"^(/dev/video\d+|\d+)$")


class SourceKind(str, Enum):
    STREAM = "stream"  # rtsp://, rtsps://, http(s)://, rtmp://
    FILE = "file"
    USB = "usb"  # V4L2 device


def source_kind(url: str) -> SourceKind:
    lowered = url.lower()
    if lowered.startswith(("rtsp://", "rtsps://", "http://", "https://", "rtmp://", "udp://", "tcp://")):
        return SourceKind.STREAM
    if _V4L2.fullmatch(url):
        return SourceKind.USB
    return SourceKind.FILE


def with_credentials(url: str, username: str | None, password: str | None) -> str:
    """``url`` with the login added (percent-encoded), for the moment a stream is opened.

    The config keeps the address and the password apart (the password in a secret file):
    the address with the password in it exists only while it is handed to FFmpeg.
    """
    if not username:
        return url
    parts = urlsplit(url)
    login = quote(username, safe="")
    if password is not None:
        login += ":" + quote(password, safe="")
    return urlunsplit((parts.scheme, f"{login}@{parts.netloc}", parts.path, parts.query, parts.fragment))


@dataclass(slots=True)
class Frame:
    image: np.ndarray  # BGR, full resolution
    ts: float  # wall clock for live sources; start time + position for files
    index: int  # decoded frame number since the source (re)started


class FileSampler:
    """Keeps frames of a file at ``fps`` using frame numbers (exact, independent of speed)."""

    def __init__(self, source_fps: float, fps: float) -> None:
        self.ratio = min(1.0, fps / source_fps) if source_fps > 0 else 1.0
        self._last_slot = -1

    def wants(self, index: int) -> bool:
        """Whether ``keep(index)`` will keep the frame (without deciding it)."""
        return int(index * self.ratio + 1e-9) != self._last_slot

    def keep(self, index: int) -> bool:
        slot = int(index * self.ratio + 1e-9)
        if slot != self._last_slot:
            self._last_slot = slot
            return True
        return False


class LiveSampler:
    """Keeps frames of a live stream at ``fps`` by arrival time, without drift."""

    def __init__(self, fps: float) -> None:
        self.interval = 1.0 / fps
        self._next = 0.0

    def keep(self, ts: float) -> bool:
        if ts + 0.25 * self.interval < self._next:
            return False
        # schedule from the ideal time, but never fall behind by more than one interval
        self._next = max(self._next + self.interval, ts + 0.5 * self.interval)
        return True


class RateMeter:
    """Events per second over a sliding window of about ``window`` seconds."""

    def __init__(self, window: float = 5.0, clock=time.monotonic) -> None:
        self.window = window
        self._clock = clock
        self._stamps: list[float] = []

    def tick(self) -> None:
        now = self._clock()
        self._stamps.append(now)
        cutoff = now - self.window
        if self._stamps[0] < cutoff:
            self._stamps = [t for t in self._stamps if t >= cutoff]

    def rate(self) -> float:
        now = self._clock()
        stamps = [t for t in self._stamps if t >= now - self.window]
        if len(stamps) < 2:
            return 0.0
        span = max(now - stamps[0], 1e-3)
        return round(len(stamps) / span, 2)


def every_nth_frame(capture: Any, step: int) -> Iterator[tuple[int, np.ndarray]]:
    """``(index, BGR frame)`` for frames 0, step, 2*step... of an opened OpenCV capture until it
    ends. The frames between are only decoded (``grab``), never converted to BGR: the
    conversion is most of what a frame nobody looks at would cost."""
    index = 0
    while True:
        if index % step:
            if not capture.grab():
                return
        else:
            ok, frame = capture.read()
            if not ok:
                return
            yield index, frame
        index += 1
