"""The README's run command (`scripts/run`) on a first run: model download, then camwatch runs."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
import requests

from camwatch.config import load_config
from camwatch.const import DEFAULT_DETECTOR_MODEL
from camwatch.models import ModelManager
from camwatch.setup_code import read_setup_code
from tests.conftest import MEDIA, MODELS, ROOT, require
from tests.support.http_server import ModelHttpServer

WEB_PORT = 5080  # what `camwatch init` writes


@pytest.fixture
def mirror(shared_media):
    with ModelHttpServer(MODELS) as server:
        yield server


def test_scripts_run_first_run_pulls_models_and_runs(tmp_path, mirror, ssd_model, shared_media):
    config = tmp_path / "etc" / "config.yml"
    config.parent.mkdir()
    config.write_text(
        "cameras:\n"
        f"  porch:\n    url: {MEDIA / 'walking-by.h264'}\n    source:\n      realtime: false\n"
        "web:\n  enabled: false\n"
    )
    data = tmp_path / "data"
    env = {
        **os.environ,
        "CAMWATCH_CONFIG": str(config),
        "CAMWATCH_DATA": str(data),
        "CAMWATCH_MODEL_MIRROR": mirror.base_url,
    }
    result = subprocess.run(
        ["bash", str(ROOT / "scripts" / "run")], capture_output=True, text=True, timeout=600, env=env
    )
    assert result.returncode == 0, result.stderr[-3000:]
    models = {p.name for p in (data / "models").iterdir()}
    assert ModelManager(data).get(DEFAULT_DETECTOR_MODEL).main.file in models
    assert "face_detection_short_range.tflite" in models
    assert "every camera source has ended" in result.stderr
    assert Path(data / "camwatch.db").is_file()


def test_scripts_run_without_config_ends_with_a_working_web_page(tmp_path, mirror, shared_media):
    """A first run on a machine without a USB camera: a starter config with no camera, the
    models, then camwatch with zero cameras and its web page up; the log names the addresses
    to open and the first-run setup code (the one `camwatch doctor` shows). Nothing to edit."""
    require(not list(Path("/dev").glob("video*")), "a machine without a USB camera (the starter config would use it)")
    require(_port_free(WEB_PORT), f"port {WEB_PORT} free (the starter config's web port)")
    config = tmp_path / "cfg" / "config.yml"
    data = tmp_path / "data"
    log = tmp_path / "run.log"
    env = {**os.environ, "CAMWATCH_CONFIG": str(config), "CAMWATCH_DATA": str(data),
           "CAMWATCH_MODEL_MIRROR": mirror.base_url}
    with log.open("w") as out:
        proc = subprocess.Popen(["bash", str(ROOT / "scripts" / "run")], stdout=out, stderr=subprocess.STDOUT,
                                env=env, start_new_session=True)
    try:
        deadline = time.monotonic() + 300
        while "setup code" not in log.read_text() and proc.poll() is None:
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.5)
        text = log.read_text()
        assert proc.poll() is None, text[-3000:]
        assert load_config(config).cameras == {}
        assert "open camwatch in a browser: " in text and f"http://127.0.0.1:{WEB_PORT}" in text
        code = read_setup_code(data)
        assert code is not None and f"enter the setup code {code}" in text
        health = requests.get(f"http://127.0.0.1:{WEB_PORT}/api/health", timeout=10)
        assert health.status_code == 200 and health.json()["status"] == "ok"
        setup = requests.get(f"http://127.0.0.1:{WEB_PORT}/setup", timeout=10)
        assert setup.status_code == 200 and "password" in setup.text
        doctor = subprocess.run([str(ROOT / ".venv" / "bin" / "camwatch"), "doctor", "--json", "--timeout", "2"],
                                capture_output=True, text=True, timeout=120, env=env)
        rows = {row["check"]: row for row in json.loads(doctor.stdout)["checks"]}
        assert code in rows["web setup"]["detail"]
        assert rows["cameras"]["detail"] == "no camera configured yet"
        assert "Traceback" not in text
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(60)
    assert proc.returncode == 0, log.read_text()[-3000:]


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("0.0.0.0", port))
        except OSError:
            return False
    return True


@pytest.mark.slow
def test_installing_prints_two_lines_and_the_metadata_builds_without_warnings(tmp_path):
    """scripts/run's install step in a fresh virtual environment (camwatch itself only:
    PIP_NO_DEPS) prints what it does, not pages of pip and setuptools notices."""
    venv = tmp_path / "venv"
    env = {**os.environ, "CAMWATCH_VENV": str(venv), "PIP_NO_DEPS": "1"}
    result = subprocess.run(
        ["bash", "-c", f'source "{ROOT / "scripts" / "_venv.sh"}" && camwatch_venv'],
        capture_output=True, text=True, timeout=600, env=env,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stderr.splitlines() == [
        f"camwatch: creating virtual environment {venv}",
        f"camwatch: installing {ROOT} into {venv}",
    ], result.stderr[-3000:]
    log = (venv / "install.log").read_text()
    assert "project.license" not in log and "deprecated" not in log.lower(), log[-3000:]
    assert subprocess.run([str(venv / "bin" / "python"), "-c", "import camwatch"], env={}, check=False).returncode == 0
