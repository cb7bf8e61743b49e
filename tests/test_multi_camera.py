"""Many cameras in one process: a dead or frozen camera never stalls the others, a missing
video file never stops them either, a saturated detector drops (and counts) frames instead
of piling them up, and memory stays flat.

Real clips played in real time, real RTSP servers (GStreamer) killed and frozen, the real
SSD detector shared by every camera.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import psutil
import pytest

from camwatch.app import Camwatch
from camwatch.config import parse_config
from camwatch.detectors.base import Detector
from camwatch.detectors.plugins.ssd import SsdDetector, load_labels
from camwatch.sources.base import Frame
from tests.conftest import COCO_LABELS, MEDIA, SSD_MODEL, require
from tests.support.detectors import PacedDetector
from tests.support.mosquitto import MosquittoBroker
from tests.support.rtsp import RtspServer

DETECT_FPS = 5.0
FILE_CLIPS = {"walkway": "walking-by.h264", "office": "light-dark.h264", "stairs": "lightout-after-movement.h264"}


def _file_camera(clip: str, fps: float, **detect: Any) -> dict[str, Any]:
    return {
        "url": str(MEDIA / clip),
        "source": {"realtime": True, "loop": True},
        "detect": {"fps": fps, **detect},
    }


def _app(tmp_path: Path, cameras: dict[str, Any], detector: Detector | None = None) -> Camwatch:
    config = parse_config({
        "detector": {"model_path": str(SSD_MODEL), "labels_path": str(COCO_LABELS)},
        "faces": {"enabled": False},
        "cameras": cameras,
    })
    return Camwatch(config, data_dir=tmp_path / "data", detector=detector, with_web=False, with_mqtt=False)


@pytest.fixture
def running() -> Iterator[Callable[[Camwatch], Camwatch]]:
    apps: list[Camwatch] = []

    def start(app: Camwatch) -> Camwatch:
        apps.append(app)
        app.start()
        return app

    yield start
    for app in apps:
        app.stop()


def _wait(cond: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _lag_probe(app: Camwatch) -> dict[str, list[float]]:
    """Per camera, how far each processed frame was behind the wall clock when it was done."""
    lags: dict[str, list[float]] = {name: [] for name in app.pipelines}
    for name, pipeline in app.pipelines.items():
        process = pipeline.process

        def measured(frame: Frame, _process: Any = process, _name: str = name) -> Any:
            result = _process(frame)
            lags[_name].append(time.time() - frame.ts)
            return result

        pipeline.process = measured  # type: ignore[method-assign]
    return lags


def _rss_slope_mb_per_min(samples: list[tuple[float, float]]) -> float:
    t = np.array([s[0] for s in samples])
    rss = np.array([s[1] for s in samples])
    return float(np.polyfit(t / 60.0, rss, 1)[0])


@pytest.mark.slow
def test_dead_and_frozen_cameras_never_stall_the_file_cameras(
    tmp_path: Path, ssd_model: Path, rtsp_server_factory: Callable[..., RtspServer],
    running: Callable[[Camwatch], Camwatch], caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="camwatch.sources")
    dead_server = rtsp_server_factory(None)
    frozen_server = rtsp_server_factory(None)
    stream = {"open_timeout": 3, "read_timeout": 2, "reconnect_min": 0.5, "reconnect_max": 2}
    app = running(_app(tmp_path, {
        "walkway": _file_camera(FILE_CLIPS["walkway"], DETECT_FPS),
        "office": _file_camera(FILE_CLIPS["office"], DETECT_FPS),
        "dead": {"url": dead_server.url, "source": stream, "detect": {"fps": DETECT_FPS}},
        "frozen": {"url": frozen_server.url, "source": stream, "detect": {"fps": DETECT_FPS}},
    }))
    _wait(lambda: all(s["online"] for s in app.stats()["cameras"].values()), 30, "every camera online")
    time.sleep(3)

    dead_server.kill()
    frozen_server.freeze()
    proc = psutil.Process()
    files = ("walkway", "office")
    start_counts = {n: app.workers[n].frames_processed for n in files}
    start = time.monotonic()
    rss: list[tuple[float, float]] = []
    while time.monotonic() - start < 20:  # the frozen camera's read timeouts and a few reconnects of each
        rss.append((time.monotonic() - start, proc.memory_info().rss / 1e6))
        time.sleep(1.0)
    elapsed = time.monotonic() - start
    stats = app.stats()["cameras"]

    for name in ("dead", "frozen"):
        status = app.state.camera(name)
        assert not stats[name]["online"] and status.state == "offline", (name, status)
        assert status.last_error, name
    offline_lines = [r.getMessage() for r in caplog.records if "offline:" in r.getMessage()
                     and r.name.startswith("camwatch.sources")]
    # one line per state change (reconnect attempts then fail quietly), with the reason
    assert sum(line.startswith("camera frozen offline") for line in offline_lines) == 1, offline_lines
    assert sum(line.startswith("camera dead offline") for line in offline_lines) == 1, offline_lines
    assert any(line.startswith("camera frozen offline") and "frozen" in line.split(":", 1)[1]
               for line in offline_lines), offline_lines
    for name in files:
        processed_fps = (app.workers[name].frames_processed - start_counts[name]) / elapsed
        assert processed_fps >= 0.8 * DETECT_FPS, (name, processed_fps)
        assert stats[name]["online"] and stats[name]["processed_fps"] >= 0.8 * DETECT_FPS, stats[name]
    slope = _rss_slope_mb_per_min(rss)
    # a pile-up of 640x480 frames would grow by hundreds of MB per minute
    assert slope < 30.0, (slope, rss)
    print(f"file cameras during dead+frozen: {stats['walkway']['processed_fps']}/{stats['office']['processed_fps']} "
          f"fps; RSS {rss[0][1]:.0f}→{rss[-1][1]:.0f} MB, slope {slope:+.1f} MB/min")


def test_a_saturated_detector_drops_and_counts_frames_instead_of_piling_them_up(
    tmp_path: Path, ssd_model: Path, running: Callable[[Camwatch], Camwatch]
) -> None:
    """Three cameras ask for a full-frame detection on every frame (25 fps each) of a real
    detector that takes at least MIN_CALL per call: at most 1 / MIN_CALL calls a second for
    75 asked, on any machine. Each camera gets a share, the rest is skipped, counted and
    reported, and what is processed is still the newest frame (no backlog)."""
    full_rate = 25.0
    min_call = 0.1  # s per detector call: at most 10 calls/s
    cameras = {
        name: _file_camera(clip, full_rate, full_frame_interval=0.001, tracked_interval=0)
        for name, clip in FILE_CLIPS.items()
    }
    detector = PacedDetector(SsdDetector(ssd_model, load_labels(COCO_LABELS), device="cpu", num_threads=1), min_call)
    app = _app(tmp_path, cameras, detector)
    lags = _lag_probe(app)
    running(app)
    _wait(lambda: all(c["online"] for c in app.state.cameras().values()) and app.detector.calls >= 10, 30,
          "start-up: every camera online, the detector busy")  # fmt: skip
    calls_before, t_before = app.detector.calls, time.monotonic()
    for lag in lags.values():
        lag.clear()
    time.sleep(10)  # two windows of the cameras' rate meters (5 s): a backlog would grow the lag by seconds
    detector_rate = (app.detector.calls - calls_before) / (time.monotonic() - t_before)
    stats = app.stats()["cameras"]

    assert detector_rate <= 1.05 / min_call  # the ceiling the test built
    for name, cam in stats.items():
        assert cam["online"], name
        assert 0.5 < cam["processed_fps"] < 0.8 * cam["input_fps"], cam  # a share, not everything
        assert cam["input_fps"] > 2 * cam["processed_fps"], cam  # the source keeps decoding regardless
        assert cam["skipped_total"] > 0 and cam["skipped_fps"] > 0, cam
        total = cam["processed_fps"] + cam["skipped_fps"]
        assert total == pytest.approx(cam["input_fps"], rel=0.3), cam  # every sampled frame: processed or skipped
        assert lags[name] and max(lags[name]) < 2.0, (name, max(lags[name], default=None))
    print(f"detector {detector_rate:.1f} calls/s; " + ", ".join(
        f"{n}: {c['input_fps']} in, {c['processed_fps']} processed, {c['skipped_fps']} skipped fps "
        f"({c['skipped_total']} total)" for n, c in stats.items()
    ))


def test_a_missing_then_vanishing_file_camera_never_stops_the_others(
    tmp_path: Path, ssd_model: Path, shared_media: Path, mosquitto_broker: MosquittoBroker
) -> None:
    """`camwatch run` with two file cameras, one missing at start: the service runs, the good
    camera keeps producing events, the missing one is offline with the reason (log once, MQTT,
    doctor) and retried: it comes online when the file appears, and goes offline again when
    the file disappears while playing. A clean stop exits 0 (it used to abort: SIGABRT)."""
    import os
    import shutil
    import signal
    import subprocess
    import sys

    import yaml

    from camwatch.config import load_config
    from camwatch.service.connection_checks import check_camera
    from tests.mqtt_support import Subscriber

    garage_file = tmp_path / "garage.h264"
    raw = {
        "detector": {"model_path": str(SSD_MODEL)},
        "faces": {"enabled": False},
        "web": {"enabled": False},
        "mqtt": {"enabled": True, "host": "127.0.0.1", "port": mosquitto_broker.port},
        "node": {"name": "node1"},
        "cameras": {
            "door": {"url": str(MEDIA / "one-by-one-person-detection.mp4"), "source": {"realtime": True, "loop": True},
                     "detect": {"fps": 2}, "objects": {"track": ["person"]}},
            "garage": {"url": str(garage_file), "source": {"realtime": True, "loop": True, "reconnect_min": 0.5,
                                                             "reconnect_max": 1}},
        },
    }  # fmt: skip
    require(shutil.which("ffmpeg") is not None, "ffmpeg (apt-get install ffmpeg)")
    config = tmp_path / "config.yml"
    config.write_text(yaml.safe_dump(raw))
    doctor = check_camera("garage", load_config(config).cameras["garage"], 5)
    assert doctor.result == "fail" and "file not found" in doctor.detail

    sub = Subscriber(mosquitto_broker.port, ["camwatch/#"])
    log = tmp_path / "run.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "camwatch", "run", "--config", str(config)], stdout=out,
                                stderr=subprocess.STDOUT, env={**os.environ, "CAMWATCH_DATA": str(tmp_path / "data")})  # fmt: skip
    try:
        sub.wait_payload("camwatch/node1/garage/status", "offline", timeout=30)
        sub.wait_payload("camwatch/node1/door/status", "online", timeout=30)
        sub.wait_for(lambda: sub.on("camwatch/node1/events"), 60, "an event from the good camera")
        assert proc.poll() is None, log.read_text()

        partial = tmp_path / "garage.part"
        # the first 3 s of an 11 s clip (stream copy), played in a loop: an open file plays on after
        # its unlink, to its end, so a short loop shows the vanished file soon
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(MEDIA / "total-darkness-to-light.h264"), "-t", "3",
                        "-c", "copy", "-f", "h264", str(partial)], check=True, capture_output=True, timeout=60)  # fmt: skip
        os.replace(partial, garage_file)
        sub.wait_payload("camwatch/node1/garage/status", "online", timeout=15)
        online_at = len(sub.on("camwatch/node1/garage/status"))
        garage_file.unlink()  # the disk goes away while it plays
        sub.wait_for(lambda: any(m.payload == b"offline" for m in sub.on("camwatch/node1/garage/status")[online_at:]),
                     30, "garage offline again")  # fmt: skip
        events_then = len(sub.on("camwatch/node1/events"))
        sub.wait_for(lambda: len(sub.on("camwatch/node1/events")) > events_then, 60, "the good camera's next event")
        assert proc.poll() is None, log.read_text()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 0, log.read_text()[-3000:]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        sub.close()
    text = log.read_text()
    assert "terminate called" not in text and "Traceback" not in text, text[-3000:]
    offline = [line for line in text.splitlines() if "camera garage offline" in line]
    assert len(offline) == 2, offline  # once when missing, once when it vanished: not per retry
    assert "video file not found" in offline[0] and "disappeared" in offline[1]
