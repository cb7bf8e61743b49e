"""The System page's CPU figures come from a primed sampler: the first reading is real, not 0 %."""

from __future__ import annotations

import time

import psutil

from camwatch.cpu import CpuSampler


def _burn(cpu_seconds: float) -> None:
    """Use this much CPU time (not wall time: the same work on a fast or a busy machine)."""
    start = time.process_time()
    while time.process_time() - start < cpu_seconds:
        sum(range(1000))


def test_the_first_reading_measures_real_use() -> None:
    assert psutil.Process().cpu_percent(None) == 0.0  # psutil's first call: what the page showed before
    sampler = CpuSampler(min_window=0.5)
    _burn(0.3)
    first = sampler.read()
    assert first.process_percent > 0 and first.system_percent > 0 and first.window > 0
    # The process used at least 0.3 s of CPU in the window.
    assert first.process_percent >= 0.3 / first.window * 100 * 0.9
    assert sampler.read() is first  # asked again at once: the same figure, not a 2 ms sample
    time.sleep(0.6)
    assert sampler.read() is not first


def test_a_reading_right_after_priming_waits_for_a_real_window() -> None:
    reading = CpuSampler().read()
    assert reading.window >= 0.19
    assert 0 <= reading.system_percent <= 100
