"""CPU use of camwatch's process and of the whole machine, as a primed sampler.

psutil measures CPU use between two calls, and its very first call returns 0. The sampler
reads the CPU times when it is made, so its first reading already covers real time; a
reading asked for less than ``min_window`` seconds after the previous one returns that
previous figure instead of a noisy one over a few milliseconds.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass

import psutil

MIN_WINDOW = 1.0  # seconds: shorter windows give noise
FIRST_WINDOW = 0.2  # seconds: a reading right after priming waits this long


@dataclass(frozen=True)
class CpuReading:
    process_percent: float  # of one core (200 = two cores busy), like top
    system_percent: float  # of the whole machine (100 = every core busy)
    window: float  # seconds measured


@dataclass(frozen=True)
class _Sample:
    time: float
    process: float  # user + system seconds of this process
    busy: float  # busy seconds of the machine, all cores
    total: float  # all seconds of the machine, all cores


class CpuSampler:
    def __init__(self, pid: int | None = None, min_window: float = MIN_WINDOW) -> None:
        self._process = psutil.Process(pid or os.getpid())
        self._min_window = min_window
        self._lock = threading.Lock()
        self._last = self._sample()
        self._reading: CpuReading | None = None

    def _sample(self) -> _Sample:
        proc = self._process.cpu_times()
        machine = psutil.cpu_times()
        total = sum(machine)
        idle = machine.idle + getattr(machine, "iowait", 0.0)
        return _Sample(time.monotonic(), proc.user + proc.system, total - idle, total)

    def read(self) -> CpuReading:
        with self._lock:
            now = time.monotonic()
            if self._reading is None and now - self._last.time < FIRST_WINDOW:
                time.sleep(FIRST_WINDOW - (now - self._last.time))
            elif self._reading is not None and now - self._last.time < self._min_window:
                return self._reading
            sample = self._sample()
            window = max(1e-6, sample.time - self._last.time)
            total = sample.total - self._last.total
            process = max(0.0, sample.process - self._last.process) / window * 100.0
            system = max(0.0, sample.busy - self._last.busy) / total * 100.0 if total > 0 else 0.0
            self._last = sample
            self._reading = CpuReading(round(process, 1), round(min(100.0, system), 1), round(window, 3))
            return self._reading
