"""`camwatch doctor` against real parts: the SSD model, clips, a GStreamer RTSP camera and Mosquitto."""

from __future__ import annotations

import datetime as dt
import io
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from camwatch.config import parse_config
from camwatch.const import DEFAULT_DETECTOR_MODEL
from camwatch.models import ModelManager
from camwatch.service import connection_checks, edgetpu, host_checks
from camwatch.service.doctor import run_checks, run_doctor
from camwatch.service.report import CheckResult, exit_code, write_json, write_table
from tests.conftest import MEDIA, MODELS, require
from tests.support.fixtures import require_mosquitto, require_rtsp
from tests.support.mosquitto import MosquittoBroker
from tests.support.rtsp import RtspServer

CLIP = MEDIA / "walking-by.h264"
CAMERA_PASSWORD = "cam-Secret-4711"
MQTT_PASSWORD = "mqtt-Secret-0815"


DEFAULT_MODEL = MODELS / ModelManager(Path("/nonexistent")).get(DEFAULT_DETECTOR_MODEL).main.file


def _install_model(data_dir: Path) -> Path:
    """A symlink to the shared default model where the model manager expects it (nothing is copied)."""
    require(DEFAULT_MODEL.is_file(), f"default detector model {DEFAULT_MODEL}")
    target = ModelManager(data_dir).path(DEFAULT_DETECTOR_MODEL)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.symlink_to(DEFAULT_MODEL)
    return target


def _write_config(tmp_path: Path, data: dict[str, Any]) -> str:
    path = tmp_path / "config.yml"
    path.write_text(yaml.safe_dump(data))
    return str(path)


def _doctor(config: str, timeout: float = 5) -> tuple[int, dict[str, Any], str]:
    out = io.StringIO()
    code = run_doctor(config, timeout=timeout, as_json=True, out=out)
    report = json.loads(out.getvalue())
    return code, report, out.getvalue()


def _row(report: dict[str, Any], check: str) -> dict[str, str]:
    rows = [r for r in report["checks"] if r["check"] == check]
    assert rows, f"no {check!r} row in {[r['check'] for r in report['checks']]}"
    return rows[0]


def test_healthy_box_with_a_file_camera(tmp_path: Path, data_dir: Path) -> None:
    require(CLIP.is_file(), f"clip {CLIP}")
    _install_model(data_dir)
    for face_model in ("blazeface_short_range", "blazeface_full_range"):  # faces are on by default
        target = ModelManager(data_dir).path(face_model)
        target.symlink_to(MODELS / target.name)
    config = _write_config(
        tmp_path, {"data_dir": str(data_dir), "cameras": {"front": {"url": str(CLIP)}}, "web": {"enabled": False}}
    )
    code, report, _ = _doctor(config)
    results = {r["check"]: r for r in report["checks"]}
    for check in ("python", "config", "runtime", "model", "face models", "xnnpack", "data dir", "disk space", "clock",
                  "mqtt"):
        assert results[check]["result"] == "ok", results[check]
    assert "SHA-256 verified" in results["model"]["detail"]
    if results["runtime"]["detail"].startswith("litert"):
        # TFLite prints its "Created XNNPACK delegate" line once per process; after other
        # tests built interpreters, the check sees the DELEGATE nodes instead.
        detail = results["xnnpack"]["detail"]
        assert "XNNPACK delegate in use" in detail or "CPU delegate runs" in detail, detail
    camera = results["camera front"]
    assert camera["result"] == "ok", camera
    assert "640x480 at 25.0 fps" in camera["detail"]
    # No Edge TPU here: fine with detector.device auto.
    assert results["edgetpu"]["result"] == "ok"
    # The only acceptable non-ok row on a healthy box is NTP (no systemd in containers).
    others = [r for r in report["checks"] if r["result"] != "ok" and r["check"] != "ntp"]
    assert others == []
    assert code == exit_code([CheckResult(r["check"], r["result"], r["detail"]) for r in report["checks"]])
    assert code in (0, 2)


def test_missing_and_corrupt_models_fail_with_a_fix(tmp_path: Path, data_dir: Path) -> None:
    config = _write_config(tmp_path, {"data_dir": str(data_dir), "cameras": {"a": {"url": str(CLIP)}}})
    code, report, _ = _doctor(config)
    assert code == 1
    model = _row(report, "model")
    assert model["result"] == "fail" and "missing" in model["detail"]
    assert model["fix"] == f"camwatch models pull {DEFAULT_DETECTOR_MODEL} (offline: camwatch models import FOLDER)"
    assert _row(report, "xnnpack")["result"] == "warn"  # not checked without a model

    target = ModelManager(data_dir).path(DEFAULT_DETECTOR_MODEL)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(DEFAULT_MODEL.read_bytes()[:-10] + b"0123456789")  # same size, altered tail
    code, report, _ = _doctor(config)
    model = _row(report, "model")
    assert code == 1
    assert model["result"] == "fail" and "does not match its SHA-256" in model["detail"]


def test_broken_config_still_checks_the_box(tmp_path: Path, data_dir: Path) -> None:
    config = _write_config(tmp_path, {"cameras": {"Bad Name": {"url": "x"}}, "mqtt": {"nope": 1}})
    code, report, _ = _doctor(config)
    assert code == 1
    row = _row(report, "config")
    assert row["result"] == "fail"
    assert "mqtt.nope: unknown key" in row["detail"]
    assert _row(report, "python")["result"] == "ok"
    assert not any(r["check"].startswith("camera ") for r in report["checks"])

    code, report, _ = _doctor(str(tmp_path / "absent.yml"))
    row = _row(report, "config")
    assert row["result"] == "fail" and row["fix"].startswith("camwatch init --config")


def test_cameras_live_dead_and_slow(tmp_path: Path, data_dir: Path) -> None:
    """A real RTSP camera at 8 fps: measured fps, a warning when detect.fps asks for more,
    and a dead camera with credentials fails without printing the password."""
    require_rtsp()
    from tests.support.netutil import free_port

    with RtspServer.live(fps=8, width=320, height=240) as server:
        server.start()
        dead = f"rtsp://admin:{CAMERA_PASSWORD}@127.0.0.1:{free_port()}/cam"
        fast = {"open_timeout": 3, "read_timeout": 3}
        config = _write_config(
            tmp_path,
            {
                "data_dir": str(data_dir),
                "cameras": {
                    "live": {"url": server.url, "source": fast, "detect": {"fps": 5}},
                    "greedy": {"url": server.url, "source": fast, "detect": {"fps": 15}},
                    "dead": {"url": dead, "source": fast},
                },
            },
        )
        start = time.monotonic()
        results = run_checks(config, timeout=5)
        elapsed = time.monotonic() - start
    out, as_json = io.StringIO(), io.StringIO()
    write_table(results, out)  # the table, as a person sees it
    write_json(results, as_json)
    text = as_json.getvalue()
    report = json.loads(text)
    code = exit_code(results)
    live = _row(report, "camera live")
    assert live["result"] == "ok", live
    fps = float(live["detail"].split(", ")[1].split(" fps")[0])
    assert 6.0 <= fps <= 10.0, live["detail"]
    assert "320x240" in live["detail"]
    greedy = _row(report, "camera greedy")
    assert greedy["result"] == "warn" and "below detect.fps 15" in greedy["detail"]
    assert "cameras.greedy.detect.fps" in greedy["fix"]
    gone = _row(report, "camera dead")
    assert gone["result"] == "fail"
    assert "admin:***@" in gone["detail"]
    assert code == 1
    for output in (text, out.getvalue()):
        assert CAMERA_PASSWORD not in output
    assert elapsed < 25  # cameras are probed in parallel, each within its timeouts


def test_mqtt_login(tmp_path: Path, data_dir: Path) -> None:
    require_mosquitto()
    with MosquittoBroker(users={"camwatch": MQTT_PASSWORD}) as broker:
        broker.start()
        base = {"enabled": True, "host": broker.host, "port": broker.port, "username": "camwatch"}
        good = parse_config({"cameras": {"a": {"url": str(CLIP)}}, "mqtt": {**base, "password": MQTT_PASSWORD}})
        row = connection_checks.check_mqtt(good.mqtt, timeout=5)
        assert row.result == "ok", row
        assert row.detail == f"logged in to {broker.host}:{broker.port} as camwatch"

        bad = parse_config({"cameras": {"a": {"url": str(CLIP)}}, "mqtt": {**base, "password": "wrong-password"}})
        row = connection_checks.check_mqtt(bad.mqtt, timeout=5)
        assert row.result == "fail"
        assert "refused the login as camwatch" in row.detail
        assert "mqtt.password" in row.fix

        # Through the whole doctor, with the password from the environment: never printed.
        config = _write_config(
            tmp_path,
            {"data_dir": str(data_dir), "cameras": {"a": {"url": str(CLIP)}}, "mqtt": {**base, "password": "${DOCTOR_MQTT_PW}"}},
        )
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("DOCTOR_MQTT_PW", MQTT_PASSWORD)
            _, report, text = _doctor(config)
        assert _row(report, "mqtt")["result"] == "ok"
        assert MQTT_PASSWORD not in text
        port = broker.port
    down = parse_config(
        {"cameras": {"a": {"url": str(CLIP)}}, "mqtt": {"enabled": True, "host": "127.0.0.1", "port": port}}
    )
    row = connection_checks.check_mqtt(down.mqtt, timeout=3)
    assert row.result == "fail" and "connection refused" in row.detail


def _fake_usb_device(root: Path, name: str, vendor: str, product: str, bus: int, dev: int) -> None:
    node = root / name
    node.mkdir(parents=True)
    for key, value in {"idVendor": vendor, "idProduct": product, "busnum": bus, "devnum": dev}.items():
        (node / key).write_text(f"{value}\n")


def test_edgetpu_discovery_from_sysfs(tmp_path: Path) -> None:
    """Parses a sysfs tree laid out like /sys/bus/usb/devices (this machine has no USB bus)."""
    sysfs = tmp_path / "sys"
    _fake_usb_device(sysfs, "1-1", "1d6b", "0002", 1, 1)  # a root hub
    _fake_usb_device(sysfs, "2-1", "1a6e", "089a", 2, 3)  # accelerator, firmware not loaded
    _fake_usb_device(sysfs, "2-2", "18D1", "9302", 2, 4)  # accelerator, running
    (sysfs / "2-1:1.0").mkdir()  # an interface directory, no ids
    found = edgetpu.find_usb_accelerators(sysfs)
    assert [(d.sysfs_name, d.usb_id, d.firmware_loaded) for d in found] == [
        ("2-1", "1a6e:089a", False),
        ("2-2", "18d1:9302", True),
    ]
    assert str(found[0].device_node) == "/dev/bus/usb/002/003"
    dev = tmp_path / "dev"
    dev.mkdir()
    (dev / "apex_0").touch()
    (dev / "apex_x").touch()
    assert edgetpu.find_pcie_devices(dev) == [dev / "apex_0"]
    assert edgetpu.find_usb_accelerators(tmp_path / "no-such-dir") == []


def test_edgetpu_check_outcomes(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    rows = host_checks.check_edgetpu("auto", "auto", sysfs_root=empty, dev_root=empty)
    assert rows[0].result == "ok" and "CPU" in rows[0].detail
    rows = host_checks.check_edgetpu("usb", "auto", sysfs_root=empty, dev_root=empty)
    assert rows[0].result == "fail" and "1a6e:089a" in rows[0].fix
    rows = host_checks.check_edgetpu("pci", "auto", sysfs_root=empty, dev_root=empty)
    assert rows[0].result == "fail" and "/dev/apex_0" in rows[0].detail

    installed, _ = edgetpu.libedgetpu_installed()
    sysfs = tmp_path / "sys"
    _fake_usb_device(sysfs, "2-1", "18d1", "9302", 2, 4)
    rows = {r.check: r for r in host_checks.check_edgetpu("auto", "auto", sysfs_root=sysfs, dev_root=empty)}
    assert "USB 18d1:9302 at 2-1" in rows["edgetpu"].detail
    if not installed:  # this machine: no libedgetpu, so a present accelerator cannot be used
        assert rows["libedgetpu"].result == "fail"
        assert "libedgetpu1-std" in rows["libedgetpu"].fix


def test_clock_and_ntp(tmp_path: Path) -> None:
    rows = host_checks.check_clock(now=dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc))
    assert rows[0].result == "fail" and "1970" in rows[0].detail and "timedatectl" in rows[0].fix
    rows = host_checks.check_clock(timedatectl=None)
    assert rows[0].result == "ok" and rows[1].result == "warn"
    for answer, expected in (("yes", "ok"), ("no", "warn")):
        tool = tmp_path / f"timedatectl-{answer}"
        tool.write_text(f'#!/bin/sh\n[ "$*" = "show -p NTPSynchronized --value" ] && echo {answer}\n')
        tool.chmod(0o755)
        rows = host_checks.check_clock(timedatectl=str(tool))
        assert rows[1].check == "ntp" and rows[1].result == expected, rows[1]


def test_data_directory_problems(tmp_path: Path) -> None:
    rows = host_checks.check_data_dir(tmp_path)
    assert [r.result for r in rows] == ["ok", "ok"] and "GB free" in rows[1].detail
    afile = tmp_path / "file"
    afile.write_text("x")
    assert host_checks.check_data_dir(afile)[0].result == "fail"
    assert host_checks.check_data_dir(afile / "below")[0].result == "fail"
    assert host_checks.check_data_dir(tmp_path / "new")[0].result == "warn"
    proc_dir = Path("/proc/self")  # exists, but nobody (not even root) can create files there
    row = host_checks.check_data_dir(proc_dir)[0]
    assert row.result == "fail" and "not writable" in row.detail and row.fix.startswith("sudo chown")


def test_table_and_exit_codes() -> None:
    rows = [
        CheckResult("python", "ok", "3.11"),
        CheckResult("ntp", "warn", "not synchronised " * 6, "sudo timedatectl set-ntp true"),
    ]
    assert exit_code(rows[:1]) == 0
    assert exit_code(rows) == 2
    assert exit_code([*rows, CheckResult("mqtt", "fail", "refused", "fix it")]) == 1
    out = io.StringIO()
    write_table(rows, out, width=100)
    lines = out.getvalue().splitlines()
    assert lines[0].split() == ["CHECK", "RESULT", "DETAIL", "FIX"]
    assert lines[2].startswith("ntp") and "WARN" in lines[2] and "sudo timedatectl" in lines[2]
    assert all(len(line) <= 100 for line in lines)
    assert lines[-1] == "1 ok, 1 warn, 0 fail: warnings only (exit code 2)"


def test_cli_exit_code_and_json(tmp_path: Path, data_dir: Path) -> None:
    config = _write_config(tmp_path, {"data_dir": str(data_dir), "cameras": {"a": {"url": "/no/such/clip.mp4"}}})
    proc = subprocess.run(
        [sys.executable, "-m", "camwatch.cli", "doctor", "--config", config, "--json", "--timeout", "3"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1, proc.stderr
    report = json.loads(proc.stdout)
    assert report["exit_code"] == 1
    assert _row(report, "camera a")["result"] == "fail"
    bad = subprocess.run(
        [sys.executable, "-m", "camwatch.cli", "doctor", "--timeout", "0"], capture_output=True, text=True, timeout=60
    )
    assert bad.returncode == 2 and "must be > 0" in bad.stderr
