"""The command line starts only what a command needs.

Every `camwatch` call (and several hundred in this suite) pays for what it imports: OpenCV,
numpy and the TFLite runtime cost seconds on a Raspberry Pi. A light command (the command
list, `config check`, `models list`, `fleet status`, `run` with a broken config) must not load
them; the libraries a command does load are listed here, not timed.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from camwatch.cli.common import CliError, user_message

#: Libraries that are heavy to start; none of them is needed to read a config or list commands.
HEAVY = ("cv2", "numpy", "ai_edge_litert", "tflite_runtime", "flask", "waitress", "paho", "apprise", "dlib",
         "PIL", "cryptography", "psutil", "ruamel")  # fmt: skip
MARK = "LOADED "
PROBE = f"""
import json, sys
from camwatch.cli import main
try:
    sys.exit(main(sys.argv[1:]))
finally:
    loaded = sorted(m for m in {HEAVY!r} + ("pydantic", "yaml") if m in sys.modules)
    print("\\n{MARK}" + json.dumps(loaded), file=sys.stderr)
"""


def camwatch(*args: str) -> tuple[subprocess.CompletedProcess, list[str]]:
    """Runs `camwatch ARGS` as `python -m camwatch` does; the result and the libraries it loaded."""
    result = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, timeout=60)
    head, _, tail = result.stderr.rpartition(MARK)
    result.stderr = head.rstrip("\n")
    return result, json.loads(tail)


def test_the_command_list_and_help_load_no_library() -> None:
    result, loaded = camwatch("--help")
    assert result.returncode == 0, result.stderr
    for command in ("run", "replay", "detect", "config", "models", "init", "doctor", "fleet"):
        assert command in result.stdout
    assert loaded == []  # not even the config models
    for args in (("fleet", "status", "--help"), ("models", "sign", "--help"), ("detect", "--help")):
        result, loaded = camwatch(*args)
        assert result.returncode == 0 and "usage: camwatch" in result.stdout, result.stderr
        assert loaded == [], args


def test_config_check_loads_the_config_models_only(tmp_path: Path) -> None:
    good = tmp_path / "good.yml"
    good.write_text("cameras:\n  front:\n    url: rtsp://10.0.0.2/stream\n", encoding="utf-8")
    result, loaded = camwatch("config", "check", str(good))
    assert result.returncode == 0, result.stderr
    assert "valid" in result.stdout and "rtsp://10.0.0.2/stream" in result.stdout
    assert loaded == ["pydantic", "yaml"]

    bad = tmp_path / "bad.yml"
    bad.write_text("cameras:\n  front:\n    url: x.mp4\n    detect:\n      fps: -1\n", encoding="utf-8")
    for args in (("config", "check", str(bad)), ("run", "--config", str(bad), "--no-web", "--no-mqtt")):
        result, loaded = camwatch(*args)
        assert result.returncode == 1, result.stderr
        assert "is not valid" in result.stderr and "cameras.front.detect.fps: must be > 0" in result.stderr
        assert "Traceback" not in result.stderr
        assert loaded == ["pydantic", "yaml"], args  # `run` reports it before importing the app


def test_models_list_and_fleet_status_do_not_start_opencv_or_the_detector(tmp_path: Path) -> None:
    result, loaded = camwatch("models", "list")
    assert result.returncode == 0, result.stderr
    assert "ssd_mobilenet_v1_coco_quant" in result.stdout
    assert loaded == ["pydantic", "yaml"]

    config = tmp_path / "config.yml"  # a missing TLS file: the MQTT client is made and refuses, no broker needed
    config.write_text(f"mqtt:\n  enabled: true\n  ca_file: {tmp_path / 'ca.pem'}\n", encoding="utf-8")
    result, loaded = camwatch("fleet", "status", "--config", str(config))
    assert result.returncode == 1, result.stderr
    assert result.stderr == f"error: mqtt.ca_file: {tmp_path / 'ca.pem'} is not a readable file"
    assert "Traceback" not in result.stderr
    assert loaded == ["paho", "pydantic", "yaml"]


def test_every_user_error_is_one_line_once_its_module_is_loaded() -> None:
    """The errors are looked up in the modules imported so far (here: all of them)."""
    from camwatch.config import ConfigError
    from camwatch.datafiles import DataFileError
    from camwatch.detectors.base import ModelError as DetectorModelError
    from camwatch.detectors.runtime import EdgeTpuUnavailable, RuntimeUnavailable
    from camwatch.models import ModelError
    from camwatch.sources.opencv import SourceError

    for error in (CliError, DataFileError, ModelError, DetectorModelError, EdgeTpuUnavailable, RuntimeUnavailable,
                  SourceError):  # fmt: skip
        assert user_message(error("what to fix")) == "error: what to fix", error
    config_error = ConfigError(["cameras.a.url: missing"], "config.yml")
    assert user_message(config_error) == config_error.render() == "config.yml is not valid (1 problem):\n  - cameras.a.url: missing"
    assert user_message(ValueError("a bug")) is None  # a traceback, as before


def test_a_module_never_imported_is_not_imported_to_catch_its_error() -> None:
    code = (
        "import sys\n"
        "from camwatch.cli.common import user_message\n"
        "assert user_message(ValueError('a bug')) is None\n"
        "print(sorted(m for m in ('camwatch.sources.opencv', 'camwatch.detectors.base', 'camwatch.detectors.runtime',"
        " 'camwatch.config', 'cv2', 'numpy', 'pydantic') if m in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "[]\n"
