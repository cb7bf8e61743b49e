"""The README's run command (`scripts/run`) on a first run: model download, then camwatch runs."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from camwatch.const import DEFAULT_DETECTOR_MODEL
from camwatch.models import ModelManager
from tests.conftest import MEDIA, MODELS, ROOT
from tests.support.http_server import ModelHttpServer


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


def test_scripts_run_without_config_writes_a_starter_config(tmp_path):
    config = tmp_path / "cfg" / "config.yml"
    env = {**os.environ, "CAMWATCH_CONFIG": str(config), "CAMWATCH_DATA": str(tmp_path / "data")}
    result = subprocess.run(
        ["bash", str(ROOT / "scripts" / "run")], capture_output=True, text=True, timeout=600, env=env
    )
    assert config.is_file()
    if not list(Path("/dev").glob("video*")):
        assert result.returncode == 0, result.stderr[-2000:]
        assert "put your camera's URL" in result.stderr


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
