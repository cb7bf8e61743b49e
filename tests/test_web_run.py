"""`camwatch run --config X` as a real process: the web UI is served by waitress, needs a login, stops on SIGTERM."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.conftest import MEDIA, MODELS, require
from tests.support.netutil import free_port, tail, wait_for_port
from tests.support.web import import_face_models, write_clip_config


def _camwatch_command() -> list[str]:
    """The installed `camwatch` script of this interpreter's environment (else ``python -m camwatch``)."""
    script = Path(sys.executable).parent / "camwatch"
    if script.is_file():
        return [str(script)]
    found = shutil.which("camwatch")
    return [found] if found else [sys.executable, "-m", "camwatch"]


@pytest.fixture
def running(tmp_path: Path, shared_media: Path, ssd_model: Path) -> Iterator[tuple[subprocess.Popen, str, Path]]:
    require((MODELS / "face_detection_short_range.tflite").is_file(), "BlazeFace models in shared/models")
    port = free_port()
    config = write_clip_config(tmp_path, {"porch": MEDIA / "walking-by.h264"}, web_port=port)
    # A looping file camera at its own frame rate: camwatch keeps running until it is told to stop.
    text = config.read_text().replace("realtime: false", "realtime: true\n      loop: true")
    config.write_text(text)
    assert "loop: true" in text
    data = tmp_path / "data"
    import_face_models(data)
    log = tmp_path / "camwatch.log"
    env = {**os.environ, "CAMWATCH_DATA": str(data)}
    with log.open("wb") as out:
        proc = subprocess.Popen([*_camwatch_command(), "run", "--config", str(config), "--no-mqtt"],
                                stdout=out, stderr=subprocess.STDOUT, env=env)
    try:
        wait_for_port(port, proc, 60, "camwatch run", log)
        yield proc, f"http://127.0.0.1:{port}", log
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def test_run_serves_web_ui_and_stops_on_sigterm(running: tuple[subprocess.Popen, str, Path]) -> None:
    proc, base, log = running

    health = requests.get(base + "/api/health", timeout=10)
    assert health.status_code == 200
    assert health.headers["Content-Type"].startswith("application/json")
    assert health.json()["status"] == "ok"
    assert health.headers["Server"].startswith("waitress"), health.headers.get("Server")

    page = requests.get(base + "/", allow_redirects=False, timeout=10)
    assert page.status_code == 302
    assert page.headers["Location"].split("?")[0].endswith(("/login", "/setup"))

    events = requests.get(base + "/api/events", timeout=10)
    assert events.status_code == 401
    assert events.headers["Content-Type"].startswith("application/json")
    assert events.json()["error"]

    proc.send_signal(signal.SIGTERM)
    try:
        code = proc.wait(30)
    except subprocess.TimeoutExpired:
        pytest.fail(f"camwatch did not stop within 30 s of SIGTERM:\n{tail(log, 40)}")
    output = log.read_text(errors="replace")
    assert code == 0, output[-3000:]
    assert "received SIGTERM" in output and "web UI stopped" in output, output[-3000:]
    assert "Traceback" not in output, output[-3000:]
