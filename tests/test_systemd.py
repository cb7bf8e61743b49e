"""The systemd unit passes `systemd-analyze verify` and keeps its hardening; the udev rules
cover the Edge TPU ids camwatch looks for."""

from __future__ import annotations

import configparser
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from camwatch.const import EDGETPU_USB_IDS
from tests.conftest import ROOT, require

UNIT = ROOT / "systemd" / "camwatch.service"
RULES = ROOT / "systemd" / "99-camwatch-edgetpu.rules"
EXEC_PATH = "/opt/camwatch/.venv/bin/camwatch"
MAX_EXPOSURE = 4.0  # `systemd-analyze security` score; 3.5 when written


def _systemd_analyze() -> str:
    tool = shutil.which("systemd-analyze")
    require(tool is not None, "systemd-analyze (apt-get install systemd)")
    assert tool is not None
    return tool


def _installable_copy(text: str, tmp_path: Path) -> Path:
    """The unit with ExecStart pointed at a stub executable that exists on this machine.

    verify checks that the ExecStart binary exists; /opt/camwatch/.venv is the documented
    install path, not present on a test machine. Everything else is verified as shipped.
    """
    stub = tmp_path / "opt" / "camwatch" / ".venv" / "bin" / "camwatch"
    stub.parent.mkdir(parents=True)
    stub.write_text("#!/bin/sh\nexit 0\n")
    stub.chmod(0o755)
    assert text.count(f"ExecStart={EXEC_PATH} ") == 1
    unit = tmp_path / "camwatch.service"
    unit.write_text(text.replace(f"ExecStart={EXEC_PATH} ", f"ExecStart={stub} "))
    return unit


def _verify(unit: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [_systemd_analyze(), "verify", "--man=no", str(unit)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=unit.parent,
    )


def _unit() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None, delimiters=("=",))
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(UNIT.read_text())
    return parser


def test_unit_passes_systemd_analyze_verify(tmp_path: Path) -> None:
    proc = _verify(_installable_copy(UNIT.read_text(), tmp_path))
    output = (proc.stdout + proc.stderr).strip()
    assert proc.returncode == 0, output
    assert output == "", output  # unknown keys or bad values are warnings with exit code 0


def test_verify_catches_a_misspelt_key(tmp_path: Path) -> None:
    """The check above can fail: a typo in the unit is reported."""
    broken = UNIT.read_text().replace("WatchdogSec=30", "WatchdogSecs=30")
    proc = _verify(_installable_copy(broken, tmp_path))
    assert "WatchdogSecs" in proc.stdout + proc.stderr


def test_unit_settings() -> None:
    unit = _unit()
    service = unit["Service"]
    assert service["Type"] == "notify"
    assert service["NotifyAccess"] == "main"
    assert service["WatchdogSec"] == "30"
    assert service["ExecStart"] == f"{EXEC_PATH} run --config /etc/camwatch/config.yml"
    assert service["User"] == "camwatch"
    assert set(service["SupplementaryGroups"].split()) == {"video", "plugdev"}
    assert service["StateDirectory"] == "camwatch"
    assert service["ConfigurationDirectory"] == "camwatch"
    assert service["ProtectSystem"] == "strict"
    assert service["ProtectHome"] == "yes"
    assert service["PrivateTmp"] == "yes"
    assert service["NoNewPrivileges"] == "yes"
    assert service["Restart"] == "on-failure"
    assert "CAMWATCH_DATA=/var/lib/camwatch" in UNIT.read_text()
    assert int(unit["Unit"]["StartLimitBurst"]) >= 1
    assert int(unit["Unit"]["StartLimitIntervalSec"]) > 0
    # Devices stay reachable: no PrivateDevices, an allow-list for V4L2, USB and apex.
    assert service["PrivateDevices"] == "no"
    allowed = re.findall(r"^DeviceAllow=(\S+)", UNIT.read_text(), re.MULTILINE)
    assert {"char-video4linux", "char-usb_device", "char-apex"} <= set(allowed)


def test_unit_exposure_stays_low(tmp_path: Path) -> None:
    unit = _installable_copy(UNIT.read_text(), tmp_path)
    proc = subprocess.run(
        [_systemd_analyze(), "security", "--offline=yes", f"--threshold={int(MAX_EXPOSURE * 10)}", str(unit)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    if "Unknown option" in proc.stderr or "unrecognized option" in proc.stderr:
        pytest.skip("systemd-analyze security --offline needs systemd >= 250")
    match = re.search(r"Overall exposure level for camwatch.service: ([\d.]+)", proc.stdout)
    assert match, proc.stdout + proc.stderr
    assert float(match.group(1)) <= MAX_EXPOSURE
    assert proc.returncode == 0, proc.stdout[-2000:]


def test_udev_rules_cover_the_edge_tpu_ids() -> None:
    rules = [
        line for line in RULES.read_text().splitlines() if line.strip() and not line.lstrip().startswith("#")
    ]
    pair = re.compile(r'^\s*([A-Za-z]+(?:\{[A-Za-z_]+\})?)\s*(==|!=|=|\+=)\s*"([^"]*)"\s*$')
    usb_ids = set()
    for rule in rules:
        fields = {}
        for part in rule.split(","):
            m = pair.match(part)
            assert m, f"malformed udev clause {part!r} in {rule!r}"
            fields[m.group(1)] = (m.group(2), m.group(3))
        assert fields["GROUP"] == ("=", "plugdev")
        assert fields["MODE"] == ("=", "0660")
        if fields["SUBSYSTEM"] == ("==", "usb"):
            usb_ids.add(f"{fields['ATTRS{idVendor}'][1]}:{fields['ATTRS{idProduct}'][1]}")
        else:
            assert fields["SUBSYSTEM"] == ("==", "apex")
    assert usb_ids == set(EDGETPU_USB_IDS)
