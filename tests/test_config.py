"""Config loading: validation messages with exact paths, secrets, `camwatch config check`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from camwatch.config import ConfigError, load_config, masked_dump, parse_config


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yml"
    path.write_text(text, encoding="utf-8")
    return path


def check(path: Path, *extra: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "camwatch.cli", "config", "check", str(path), *extra],
        capture_output=True, text=True, timeout=60, env=env,
    )


def test_one_camera_url_is_enough():
    config = parse_config({"cameras": {"front": {"url": "rtsp://10.0.0.2/stream"}}})
    cam = config.cameras["front"]
    assert cam.detect.fps == 5
    assert cam.objects.track == ["person", "car", "dog", "cat", "bicycle", "motorcycle"]
    assert config.detector.device == "auto"
    assert config.web.port == 5080


def test_error_names_exact_path_and_value():
    with pytest.raises(ConfigError) as err:
        parse_config({"cameras": {"front": {"url": "x.mp4", "detect": {"fps": -1}}}})
    assert "cameras.front.detect.fps: must be > 0, got -1" in err.value.errors


def test_unknown_keys_and_wrong_types_are_errors():
    with pytest.raises(ConfigError) as err:
        parse_config(
            {"cameras": {"front": {"url": "x.mp4", "detcet": {}, "detect": {"fps": "fast"}}}, "mqtt": {"port": "x"}}
        )
    errors = "\n".join(err.value.errors)
    assert "cameras.front.detcet: unknown key" in errors
    assert "cameras.front.detect.fps:" in errors and "'fast'" in errors
    assert "mqtt.port:" in errors


def test_bad_camera_name_and_device():
    with pytest.raises(ConfigError) as err:
        parse_config({"cameras": {"Front Door": {"url": "x"}}, "detector": {"device": "gpu"}})
    errors = "\n".join(err.value.errors)
    assert "Front Door" in errors
    assert "detector.device: must be auto, cpu, usb, usb:N or pci" in errors


def test_every_field_has_title_and_description():
    from camwatch.config.root import CamwatchConfig

    missing = []

    def walk(model, prefix):
        for name, field in model.model_fields.items():
            if not field.title or not field.description:
                missing.append(f"{prefix}{name}")
            ann = field.annotation
            for candidate in (ann, *getattr(ann, "__args__", ())):
                if isinstance(candidate, type) and hasattr(candidate, "model_fields"):
                    walk(candidate, f"{prefix}{name}.")

    walk(CamwatchConfig, "")
    assert missing == []


def test_env_and_file_secrets_are_substituted_and_masked(tmp_path, monkeypatch):
    secret_file = tmp_path / "cam.secret"
    secret_file.write_text("camPa55word\n")
    monkeypatch.setenv("CAMWATCH_MQTT_PASSWORD", "mqttS3cret!")
    path = write(
        tmp_path,
        f"""
cameras:
  front:
    url: rtsp://admin:${{file:{secret_file}}}@192.0.2.1/live
mqtt:
  enabled: true
  username: cw
  password: ${{CAMWATCH_MQTT_PASSWORD}}
""",
    )
    config = load_config(path)
    assert config.mqtt.password.get_secret_value() == "mqttS3cret!"
    assert config.cameras["front"].url == "rtsp://admin:camPa55word@192.0.2.1/live"
    dumped = str(masked_dump(config))
    assert "mqttS3cret!" not in dumped and "camPa55word" not in dumped
    result = check(path, env={**__import__("os").environ, "CAMWATCH_MQTT_PASSWORD": "mqttS3cret!"})
    assert result.returncode == 0, result.stderr
    assert "valid" in result.stdout
    assert "mqttS3cret!" not in result.stdout + result.stderr
    assert "camPa55word" not in result.stdout + result.stderr
    assert "rtsp://admin:***@192.0.2.1/live" in result.stdout


def test_missing_secret_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.delenv("NOPE_NOT_SET", raising=False)
    path = write(tmp_path, "cameras:\n  a:\n    url: rtsp://u:${NOPE_NOT_SET}@h/x\n")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert "cameras.a.url: environment variable NOPE_NOT_SET is not set" in err.value.errors


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("cameras:\n  a:\n    url: [unclosed\n", "invalid YAML: line"),
        ("cameras:\n  a:\n    url: x\n    bogus: 1\n", "cameras.a.bogus: unknown key"),
        ("cameras:\n  a:\n    url: x\n    detect:\n      fps: -1\n", "cameras.a.detect.fps: must be > 0, got -1"),
        ("cameras:\n  a:\n    url: x\n    detect:\n      fps: many\n", "cameras.a.detect.fps:"),
        ("", "the file is empty"),
        ("- just\n- a list\n", "the top level must be a mapping"),
        ("cameras:\n  Front Door:\n    url: x\n", "camera name 'Front Door' must be"),
    ],
)
def test_config_check_bad_input_exits_1_without_traceback(tmp_path, text, expected):
    result = check(write(tmp_path, text))
    assert result.returncode == 1
    assert expected in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("text", ["cameras: {}\n", "cameras:\n", "web:\n  port: 5081\n"])
def test_a_config_without_cameras_is_valid(tmp_path, text):
    """A fresh install runs with no camera: they are added on the web page."""
    assert load_config(write(tmp_path, text)).cameras == {}
    result = check(write(tmp_path, text))
    assert result.returncode == 0, result.stderr


def test_config_check_missing_file(tmp_path):
    result = check(tmp_path / "nope.yml")
    assert result.returncode == 1
    assert "file not found" in result.stderr and "Traceback" not in result.stderr


def test_config_path_from_environment(tmp_path, monkeypatch):
    path = write(tmp_path, "cameras:\n  a:\n    url: x.mp4\n")
    monkeypatch.setenv("CAMWATCH_CONFIG", str(path))
    assert load_config().cameras["a"].url == "x.mp4"
