"""The systemd unit passes `systemd-analyze verify` and keeps its hardening; the udev rules
cover the Edge TPU ids camwatch looks for."""

from __future__ import annotations

import configparser
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from camwatch.const import EDGETPU_USB_IDS
from tests.conftest import ROOT, require

UNIT = ROOT / "systemd" / "camwatch.service"
RULES = ROOT / "systemd" / "99-camwatch-edgetpu.rules"
EXEC_PATH = "/opt/camwatch/.venv/bin/camwatch"
MAX_EXPOSURE = 4.0  # `systemd-analyze security` score; 3.5 when written
NOBODY = 65534  # user and group nobody / nogroup: stands in for the service user camwatch


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
    # The web UI saves config.yml (a temporary file renamed over it): /etc/camwatch is writable,
    # and nothing else of the read-only system.
    assert service["ReadWritePaths"] == "/etc/camwatch"
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


def _save_as(user: int, config: Path) -> subprocess.CompletedProcess[str]:
    """A camera added through the config writer, as the web UI does, by ``user``."""
    script = (
        "import sys\n"
        "from camwatch.config.writer import ConfigWriter, ConfigWriteError, set_path\n"
        "try:\n"
        f"    ConfigWriter(__import__('pathlib').Path({str(config)!r})).update(\n"
        "        lambda doc: set_path(doc, ['cameras', 'porch'], {'url': '/media/porch.mp4'}))\n"
        "except ConfigWriteError as exc:\n"
        "    print(exc, exc.status); sys.exit(3)\n"
    )
    command = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups", sys.executable, "-c", script]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, cwd="/")


def test_the_service_user_can_save_the_config_from_the_web_ui(tmp_path_factory: pytest.TempPathFactory) -> None:
    """/etc/camwatch as the unit sets it up (root-owned, group camwatch, ConfigurationDirectoryMode)
    with config.yml root:camwatch 0640: the service user replaces config.yml; with the old 0755
    directory it could not (a clear error, the file untouched)."""
    require(os.geteuid() == 0, "root (to build root-owned directories and run as another user)")
    require(shutil.which("setpriv") is not None, "setpriv (util-linux) to drop root")
    mode = int(_unit()["Service"]["ConfigurationDirectoryMode"], 8)
    root = Path(tempfile.mkdtemp(prefix="camwatch-etc-"))
    try:
        root.chmod(0o755)
        results = {}
        for dir_mode in (mode, 0o755):
            etc = root / f"etc-{dir_mode:o}"
            etc.mkdir()
            os.chown(etc, 0, NOBODY)
            etc.chmod(dir_mode)
            config = etc / "config.yml"
            config.write_text("# the installer's comment\ncameras: {}\n")
            os.chown(config, 0, NOBODY)
            config.chmod(0o640)
            results[dir_mode] = (_save_as(NOBODY, config), config)
        saved, config = results[mode]
        assert saved.returncode == 0, saved.stdout + saved.stderr
        text = config.read_text()
        assert text.startswith("# the installer's comment\n") and "porch:" in text
        assert stat.S_IMODE(config.stat().st_mode) == 0o640 and config.stat().st_gid == NOBODY
        refused, config = results[0o755]
        assert refused.returncode == 3 and "Permission denied" in refused.stdout and "503" in refused.stdout
        assert "porch" not in config.read_text()
    finally:
        shutil.rmtree(root, ignore_errors=True)
