"""Config errors never print secrets; zone names are checked with the zones editor's rule."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from camwatch.config import ConfigError, load_config, parse_config
from camwatch.web.zones import ZoneEditError, check_request

CAMERA_PASSWORD = "Rtsp-S3cret-4711"
MQTT_PASSWORD = "Mqtt-S3cret-0815"


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "camwatch.cli", *args], capture_output=True, text=True,
                          timeout=120, env={**os.environ, **env})


@pytest.mark.parametrize(
    "text",
    [
        # a camera URL with credentials in a field that is not a URL
        f"cameras:\n  a:\n    url: x.mp4\n    detect:\n      fps: rtsp://viewer:{CAMERA_PASSWORD}@10.0.0.7/live\n",
        # an unknown key holding one
        f"cameras:\n  a:\n    url: x.mp4\n    onvif: rtsp://viewer:{CAMERA_PASSWORD}@10.0.0.7/live\n",
        # ${MQTT_PASSWORD} put in the wrong field (a number, a list, a mapping)
        "cameras:\n  a:\n    url: x.mp4\nmqtt:\n  port: ${CW_TEST_MQTT_PASSWORD}\n",
        "cameras:\n  a:\n    url: x.mp4\n    objects:\n      track: ${CW_TEST_MQTT_PASSWORD}\n",
        "cameras:\n  ${CW_TEST_MQTT_PASSWORD}:\n    url: x.mp4\n",
        "cameras:\n  a:\n    url: x.mp4\n    zones:\n      z:\n        coordinates: ${CW_TEST_MQTT_PASSWORD}\n",
        # a plain-text password next to a mistake that repeats it
        f"cameras:\n  a:\n    url: x.mp4\n    name: {{bad: {MQTT_PASSWORD}}}\nmqtt:\n  password: {MQTT_PASSWORD}\n",
    ],
)
def test_invalid_config_never_prints_a_secret(tmp_path: Path, text: str) -> None:
    path = tmp_path / "config.yml"
    path.write_text(text, encoding="utf-8")
    env = {"CW_TEST_MQTT_PASSWORD": MQTT_PASSWORD, "CAMWATCH_DATA": str(tmp_path / "data")}
    for args in (("config", "check", str(path)), ("run", "--config", str(path), "--no-web", "--no-mqtt")):
        result = _cli(*args, env=env)
        output = result.stdout + result.stderr
        assert result.returncode == 1, output
        assert "is not valid" in output, output
        assert CAMERA_PASSWORD not in output and MQTT_PASSWORD not in output, output
        assert "Traceback" not in output


def test_masked_errors_in_process(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CW_TEST_MQTT_PASSWORD", MQTT_PASSWORD)
    path = tmp_path / "config.yml"
    path.write_text("cameras:\n  a:\n    url: x.mp4\nmqtt:\n  keepalive: ${CW_TEST_MQTT_PASSWORD}\n")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert any("mqtt.keepalive" in line and "***" in line for line in err.value.errors), err.value.errors
    assert MQTT_PASSWORD not in str(err.value) and MQTT_PASSWORD not in err.value.render()


@pytest.mark.parametrize("name", ["hash#zone", "plus+zone", "a/b", "Porch", "front door", "", "_x", "z" * 65, "é"])
def test_zone_names_are_checked_like_the_editor(name: str) -> None:
    zone = {"coordinates": [[0, 0], [1, 0], [1, 1]]}
    with pytest.raises(ConfigError) as err:
        parse_config({"cameras": {"a": {"url": "x.mp4", "zones": {name: zone}}}})
    assert any("cameras.a.zones" in e and "zone name" in e for e in err.value.errors), err.value.errors
    with pytest.raises(ZoneEditError):
        check_request({"zones": {name: zone}})


def test_good_zone_names_pass_both() -> None:
    zone = {"coordinates": [[0, 0], [1, 0], [1, 1]]}
    for name in ("porch", "zone_2", "9", "a" * 64):
        config = parse_config({"cameras": {"a": {"url": "x.mp4", "zones": {name: zone}}}})
        assert name in config.cameras["a"].zones
        assert name in check_request({"zones": {name: zone}})[0]


TRICKY_PASSWORD = "Sup3r\\Secret\"Pa'ss\tword"


@pytest.mark.parametrize("field", ["mqtt:\n  port: ${CW_TEST_TRICKY}\n", "node:\n  name: ${CW_TEST_TRICKY}\n",
                                   "cameras:\n  a:\n    url: x.mp4\n    zones:\n      z:\n        coordinates: "
                                   "[[0, 0], [1, 0], [1, 1]]\n        objects: ['${CW_TEST_TRICKY}']\n"])
def test_a_secret_with_backslashes_and_quotes_is_masked_in_its_escaped_form(tmp_path: Path, field: str) -> None:
    """Errors quote the bad value as Python writes it (``\\\\``, ``\\'``, ``\\t``): that form is masked too."""
    path = tmp_path / "config.yml"
    path.write_text("cameras:\n  b:\n    url: x.mp4\n" + field if not field.startswith("cameras") else field,
                    encoding="utf-8")
    env = {"CW_TEST_TRICKY": TRICKY_PASSWORD, "CAMWATCH_DATA": str(tmp_path / "data")}
    for args in (("config", "check", str(path)), ("run", "--config", str(path), "--no-web", "--no-mqtt"),
                 ("doctor", "--config", str(path))):
        result = _cli(*args, env=env)
        output = result.stdout + result.stderr
        assert result.returncode != 0, (args, output)
        assert "***" in output, (args, output)
        assert "Sup3r" not in output and "word" not in output, (args, output)
        assert "Traceback" not in output, (args, output)
