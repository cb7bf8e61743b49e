"""File sources: every frame decoded, sampling at the detect fps, pacing, loop, errors."""

from __future__ import annotations

import logging
import os
import shutil
import time
from typing import NamedTuple

import cv2
import pytest

from camwatch.config.camera import SourceConfig
from camwatch.sources import CameraSource
from camwatch.sources.base import FileSampler, LiveSampler
from camwatch.state import RuntimeState
from tests.conftest import MEDIA

CLIP = MEDIA / "one-by-one-person-detection.mp4"  # 768x432, 10 fps, 1394 frames


class Seen(NamedTuple):
    """What a test needs of a frame read (the pictures themselves are not kept: 1394 of them
    are 1.4 GB)."""

    index: int
    ts: float
    shape: tuple[int, ...]


def drain(source: CameraSource, limit: int = 100000) -> list[Seen]:
    frames = []
    source.start()
    try:
        while len(frames) < limit:
            frame = source.read(timeout=5)
            if frame is None:
                break
            frames.append(Seen(frame.index, frame.ts, frame.image.shape))
    finally:
        source.stop()
    return frames


def count_with_opencv(path) -> int:
    """Frames FFmpeg decodes from the file (each decoded, none converted to a picture)."""
    cap = cv2.VideoCapture(str(path))
    n = 0
    while cap.grab():
        n += 1
    cap.release()
    return n


def test_every_frame_decoded(shared_media):
    expected = count_with_opencv(CLIP)
    assert expected == 1394
    source = CameraSource("c", str(CLIP), fps=10, options=SourceConfig(realtime=False))
    frames = drain(source)
    assert len(frames) == expected
    assert [f.index for f in frames] == list(range(expected))
    assert frames[0].shape == (432, 768, 3)
    assert source.finished


@pytest.mark.parametrize(("fps", "expected"), [(5, 697), (2, 279), (1, 140)])
def test_sampled_at_detect_fps(shared_media, fps, expected):
    source = CameraSource("c", str(CLIP), fps=fps, options=SourceConfig(realtime=False))
    frames = drain(source)
    assert len(frames) == expected
    assert source.frames_decoded == 1394
    gaps = {round(b.ts - a.ts, 3) for a, b in zip(frames, frames[1:], strict=False)}
    assert gaps == {round(1 / fps, 3)}


def test_timestamps_follow_the_file_from_start_time(shared_media):
    source = CameraSource("c", str(CLIP), fps=1, options=SourceConfig(realtime=False), start_time=1000.0)
    frames = drain(source, limit=5)
    assert [round(f.ts, 3) for f in frames] == [1000.0, 1001.0, 1002.0, 1003.0, 1004.0]


def test_realtime_playback_is_paced(shared_media):
    source = CameraSource("c", str(MEDIA / "walking-by.h264"), fps=5, options=SourceConfig(realtime=True))
    start = time.monotonic()
    frames = drain(source, limit=11)  # 2 s of a 25 fps clip at 5 fps
    elapsed = time.monotonic() - start
    assert len(frames) == 11
    assert elapsed >= 1.8  # played at the file's own rate, not as fast as possible


def test_loop_restarts_the_file(shared_media):
    clip = MEDIA / "total-darkness-to-light.h264"  # 275 frames at 25 fps
    source = CameraSource("c", str(clip), fps=25, options=SourceConfig(realtime=False, loop=True))
    frames = drain(source, limit=600)
    assert len(frames) == 600
    assert frames[-1].ts > frames[274].ts  # time keeps increasing across the loop
    assert not source.finished


def _put(clip, target) -> None:
    """Copy a clip into place atomically (a half-copied file would be undecodable)."""
    partial = target.with_name(target.name + ".part")
    shutil.copyfile(clip, partial)
    os.replace(partial, target)


def _offline_lines(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "camwatch.sources.opencv" and " offline" in r.getMessage()]


RETRY_FAST = {"reconnect_min": 0.2, "reconnect_max": 0.5}


def test_missing_file_is_offline_with_the_reason_and_retried_until_it_appears(tmp_path, shared_media, caplog):
    caplog.set_level(logging.INFO, logger="camwatch.sources.opencv")
    path = tmp_path / "later.h264"
    state = RuntimeState(["c"])
    source = CameraSource("c", str(path), fps=25, options=SourceConfig(realtime=False, **RETRY_FAST), state=state)
    source.start()
    try:
        assert source.read(timeout=2.0) is None
        status = state.camera("c")
        assert (status.online, status.state) == (False, "offline")
        assert status.last_error == f"video file not found: {path}"
        assert not source.finished  # still trying
        _put(MEDIA / "total-darkness-to-light.h264", path)
        assert source.read(timeout=10) is not None, "the file appeared but was never played"
        assert state.camera("c").online
    finally:
        source.stop()
    lines = _offline_lines(caplog)
    assert len(lines) == 1 and "video file not found" in lines[0] and "retrying" in lines[0], lines


def test_a_file_that_disappears_while_playing_is_offline_and_retried(tmp_path, shared_media, caplog):
    caplog.set_level(logging.INFO, logger="camwatch.sources.opencv")
    path = tmp_path / "clip.h264"
    _put(MEDIA / "total-darkness-to-light.h264", path)  # 275 frames
    state = RuntimeState(["c"])
    options = SourceConfig(realtime=False, loop=True, **RETRY_FAST)
    source = CameraSource("c", str(path), fps=25, options=options, state=state)
    source.start()
    try:
        assert source.read(timeout=10) is not None
        path.unlink()  # an unmounted disk, a deleted recording
        played = 1
        while source.read(timeout=3.0) is not None:  # what was already open plays to its end
            played += 1
        assert played <= 275
        status = state.camera("c")
        assert (status.online, status.state) == (False, "offline"), status
        assert str(path) in (status.last_error or "")
        assert not source.finished
        time.sleep(1.5)  # a few attempts while it is gone
        _put(MEDIA / "total-darkness-to-light.h264", path)
        assert source.read(timeout=10) is not None, "the file came back but was never played again"
        assert state.camera("c").online
    finally:
        source.stop()
    lines = _offline_lines(caplog)
    assert len(lines) == 1 and "disappeared" in lines[0], lines


def test_corrupt_file_reports_offline_with_a_reason(tmp_path):
    bogus = tmp_path / "broken.mp4"
    bogus.write_bytes(b"\x00\x01garbage" * 5000)
    state = RuntimeState(["c"])
    source = CameraSource("c", str(bogus), fps=5, options=SourceConfig(realtime=False), state=state)
    frames = drain(source)
    assert frames == []
    status = state.camera("c")
    assert not status.online
    assert status.last_error and str(bogus) in status.last_error
    assert source.finished  # present but undecodable: not retried for ever


def test_live_stream_is_sampled_without_drift_or_queueing():
    sampler = LiveSampler(fps=5)
    kept = [t / 30 for t in range(300) if sampler.keep(t / 30)]  # 10 s at 30 fps
    assert 49 <= len(kept) <= 51


def test_file_sampler_upsampling_keeps_everything():
    sampler = FileSampler(source_fps=10, fps=30)
    assert all(sampler.keep(i) for i in range(50))


def test_state_reports_rates_and_online(shared_media):
    state = RuntimeState(["c"])
    source = CameraSource("c", str(CLIP), fps=5, options=SourceConfig(realtime=False), state=state)
    source.start()
    try:
        for _ in range(20):
            assert source.read(timeout=5) is not None
        status = state.camera("c")
        assert status.online and status.state == "online"
        assert status.frame_size == (768, 432)
        assert source.input_fps() > 0
    finally:
        source.stop()
    assert state.camera("c").state == "stopped"
