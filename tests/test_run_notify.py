"""`camwatch run` under a systemd-like supervisor: sd_notify end to end, watchdog, logging.

The test owns the NOTIFY_SOCKET (an AF_UNIX datagram socket, as systemd does) and runs
`camwatch run` as a real process on a real clip with the real detector.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from camwatch.app import Camwatch
from camwatch.config import parse_config
from camwatch.service.notify import Notifier
from camwatch.service.watchdog import WatchdogPinger, stall_limit
from tests.conftest import COCO_LABELS, MEDIA, SSD_MODEL
from tests.support.netutil import free_port

CLIP = MEDIA / "walking-by.h264"
PASSWORD = "Zq8-uLtr4Secret"


class NotifySocket:
    """A bound datagram socket collecting every sd_notify message with its arrival time."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.settimeout(0.2)
        self.messages: list[tuple[float, list[str]]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                data = self.sock.recv(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            self.messages.append((time.monotonic(), data.decode().split("\n")))

    def times(self, line: str) -> list[float]:
        return [t for t, lines in self.messages if line in lines]

    def wait_for(self, line: str, timeout: float, count: int = 1) -> list[float]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.times(line)) >= count:
                break
            time.sleep(0.05)
        return self.times(line)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self.sock.close()


@pytest.fixture
def notify_socket(tmp_path: Path) -> Iterator[NotifySocket]:
    receiver = NotifySocket(tmp_path / "notify.sock")
    yield receiver
    receiver.close()


def _write_config(path: Path, data_dir: Path, cameras: dict, logging_cfg: dict | None = None) -> Path:
    config = {
        "data_dir": str(data_dir),
        "detector": {"model_path": str(SSD_MODEL), "labels_path": str(COCO_LABELS)},
        "web": {"enabled": False},
        "mqtt": {"enabled": False},
        "faces": {"enabled": False},
        "cameras": cameras,
    }
    if logging_cfg:
        config["logging"] = logging_cfg
    path.write_text(yaml.safe_dump(config))
    return path


def _start_run(config: Path, extra_env: dict[str, str]) -> subprocess.Popen:
    env = {**os.environ, **extra_env}
    env.pop("JOURNAL_STREAM", None)
    return subprocess.Popen(
        [sys.executable, "-m", "camwatch", "run", "--config", str(config)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )


def _stop(proc: subprocess.Popen) -> tuple[int, str]:
    try:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=40)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    return proc.returncode, err


def test_run_notifies_ready_status_watchdog_and_stopping(
    tmp_path: Path, ssd_model: Path, notify_socket: NotifySocket
) -> None:
    config = _write_config(tmp_path / "c.yml", tmp_path / "data", {
        "walkway": {"url": str(CLIP), "source": {"realtime": True, "loop": True}},
    })
    proc = _start_run(config, {"NOTIFY_SOCKET": str(notify_socket.path), "WATCHDOG_USEC": "2000000"})
    try:
        ready = notify_socket.wait_for("READY=1", timeout=60)
        assert ready, f"no READY=1 (process alive: {proc.poll() is None})"
        ready_msg = next(lines for _, lines in notify_socket.messages if "READY=1" in lines)
        assert any(line.startswith("STATUS=") and "1 camera" in line for line in ready_msg), ready_msg
        pings = notify_socket.wait_for("WATCHDOG=1", timeout=5.0, count=3)
        assert len(pings) >= 2, notify_socket.messages
        gaps = [b - a for a, b in zip(pings, pings[1:], strict=False)]
        assert max(gaps) < 2.0  # within WATCHDOG_USEC, as systemd requires
        assert proc.poll() is None
    finally:
        code, err = _stop(proc)
    assert code == 0, err
    stopping = notify_socket.wait_for("STOPPING=1", timeout=5)
    assert stopping and stopping[0] > ready[0]
    assert "Traceback" not in err


def test_watchdog_pings_stop_while_a_camera_loop_hangs(
    tmp_path: Path, ssd_model: Path, notify_socket: NotifySocket
) -> None:
    """A camera loop blocked inside the pipeline (here: its process step waits on an event)
    stops the pings after the stall limit; when the loop comes round again they resume."""
    config = parse_config({
        "detector": {"model_path": str(SSD_MODEL), "labels_path": str(COCO_LABELS)},
        "faces": {"enabled": False},
        "cameras": {
            "walkway": {"url": str(CLIP), "source": {"realtime": True, "loop": True}},
            "office": {"url": str(MEDIA / "light-dark.h264"), "source": {"realtime": True, "loop": True}},
        },
    })
    app = Camwatch(config, data_dir=tmp_path / "data", with_web=False, with_mqtt=False)
    release = threading.Event()
    hang = threading.Event()
    pipeline = app.pipelines["office"]
    process = pipeline.process

    def maybe_hang(frame):  # the hang: a stage that never returns until released
        if hang.is_set():
            release.wait(60)
        return process(frame)

    pipeline.process = maybe_hang  # type: ignore[method-assign]
    notifier = Notifier(environ={"NOTIFY_SOCKET": str(notify_socket.path), "WATCHDOG_USEC": "1000000"})
    pinger = WatchdogPinger(notifier, app.health_problem)
    assert pinger.stall_after == stall_limit(1.0) == 5.0
    app.start()
    pinger.start()
    try:
        assert len(notify_socket.wait_for("WATCHDOG=1", timeout=5, count=4)) >= 4
        hang.set()
        hung_at = time.monotonic()
        deadline = hung_at + 15
        while pinger.problem is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert pinger.problem is not None and "office" in pinger.problem and "walkway" not in pinger.problem
        stopped_at = time.monotonic()
        assert stopped_at - hung_at < pinger.stall_after + 3
        time.sleep(2.0)
        assert not [t for t in notify_socket.times("WATCHDOG=1") if t > stopped_at + 0.1]
        assert any(any(line.startswith("STATUS=camera loop hung") for line in lines)
                   for _, lines in notify_socket.messages)
        # the other camera kept working while this one hung
        assert app.state.camera("walkway").processed_fps > 1.0
        hang.clear()
        release.set()
        resumed = notify_socket.wait_for("WATCHDOG=1", timeout=10, count=len(notify_socket.times("WATCHDOG=1")) + 1)
        assert [t for t in resumed if t > stopped_at + 2.0], "pings did not resume"
        assert pinger.problem is None
    finally:
        release.set()
        pinger.stop()
        app.stop()
        notifier.close()


_LOG_LINE = re.compile(r"^\S+ \S+ (DEBUG|INFO|WARNING|ERROR|CRITICAL)\s+(\S+): ")


def test_run_logs_per_module_levels_and_never_a_camera_password(tmp_path: Path, ssd_model: Path) -> None:
    closed_port = free_port()  # nothing listens here: connection refused, retried with backoff
    url = f"rtsp://admin:{PASSWORD}@127.0.0.1:{closed_port}/live"
    config = _write_config(
        tmp_path / "c.yml", tmp_path / "data",
        {
            "door": {"url": url, "source": {"open_timeout": 2, "reconnect_min": 0.5, "reconnect_max": 1}},
            "walkway": {"url": str(CLIP), "source": {"realtime": True, "loop": True}},
        },
        {"level": "info", "modules": {"camwatch.sources": "debug"}},
    )
    proc = _start_run(config, {})
    try:
        time.sleep(12)
        assert proc.poll() is None
    finally:
        code, err = _stop(proc)
    assert code == 0, err
    assert PASSWORD not in err
    levels = [(m.group(1), m.group(2)) for m in map(_LOG_LINE.match, err.splitlines()) if m]
    debug_from = {name for level, name in levels if level == "DEBUG"}
    assert debug_from, err  # debug asked for camwatch.sources, and it logs connection attempts
    assert all(name.startswith("camwatch.sources") for name in debug_from), debug_from
    assert any(level == "INFO" and not name.startswith("camwatch.sources") for level, name in levels)
    assert "rtsp://admin:***@127.0.0.1" in err  # the URL shows, masked
    offline = [line for line in err.splitlines() if "camera door offline" in line]
    assert len(offline) == 1, offline  # one line per state change, not one per retry
    opening = [line for line in err.splitlines() if "camera door: opening" in line]
    assert len(opening) >= 3  # it did retry, at debug level only
