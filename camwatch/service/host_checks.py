"""Doctor checks of the box itself: Python, inference runtime, Edge TPU, models, disk, clock."""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from camwatch.config import CamwatchConfig
from camwatch.config.detector import DetectorConfig
from camwatch.config.faces import FacesConfig
from camwatch.model_install import IMPORT_FOLDER, PULL_ALL, missing_files
from camwatch.models import ModelError, ModelManager
from camwatch.service import edgetpu
from camwatch.service.report import CheckResult, fail, ok, warn

_LOGGER = logging.getLogger(__name__)

MIN_PYTHON = (3, 10)
DISK_FAIL_MB = 64  # below this the store and snapshots cannot work
DISK_WARN_MB = 512  # below this retention has to prune constantly
SANE_YEARS = (2024, 2100)
XNNPACK_MARKER = b"XNNPACK delegate"
FIX_EDGETPU_LIB = "install libedgetpu1-std from Coral's apt repository (docs/install.md, 'Edge TPU')"
FIX_UDEV = "install systemd/99-camwatch-edgetpu.rules, add the user to plugdev, then unplug and replug the device"


# ------------------------------------------------------------------ python
def check_python() -> list[CheckResult]:
    version = ".".join(str(v) for v in sys.version_info[:3])
    detail = f"{version} on {platform.machine()} ({sys.executable})"
    if sys.version_info[:2] < MIN_PYTHON:
        need = ".".join(map(str, MIN_PYTHON))
        return [fail("python", detail, f"use Python {need} or newer (Raspberry Pi OS 12 ships 3.11)")]
    if platform.machine() in {"armv6l", "armv7l", "i686"}:
        return [warn("python", f"{detail}: 32-bit system", "install the 64-bit OS: ai-edge-litert has 64-bit wheels only")]
    return [ok("python", detail)]


# ----------------------------------------------------------------- runtime
def check_runtime(preference: str) -> tuple[list[CheckResult], object | None]:
    from camwatch.detectors.runtime import RuntimeUnavailable, available_runtimes, select_runtime

    try:
        runtime = select_runtime(preference)
    except RuntimeUnavailable as exc:
        return [fail("runtime", str(exc), "pip install ai-edge-litert (in camwatch's virtual environment)")], None
    others = [n for n in available_runtimes() if n != runtime.name]
    detail = f"{runtime.name} {runtime.version}" + (f" (also present: {', '.join(others)})" if others else "")
    if runtime.name == "tflite_runtime":
        return [
            warn("runtime", detail, "pip install ai-edge-litert: about 4.5x faster on the CPU (XNNPACK)")
        ], runtime
    return [ok("runtime", detail)], runtime


@contextlib.contextmanager
def _captured_stderr_fd() -> Iterator[list[bytes]]:
    """Collects what native code writes to file descriptor 2 (TFLite logs there)."""
    captured: list[bytes] = []
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as tmp:
        os.dup2(tmp.fileno(), 2)
        try:
            yield captured
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            tmp.seek(0)
            captured.append(tmp.read())


def check_xnnpack(runtime: object | None, model: Path | None, num_threads: int) -> list[CheckResult]:
    """Load the detector model on the CPU, run it once and see whether XNNPACK took the graph."""
    if runtime is None:
        return [fail("xnnpack", "no inference runtime", "see the runtime check")]
    if model is None or not model.is_file():
        return [warn("xnnpack", "not checked: the detector model is not installed", "see the model check")]
    import numpy as np

    try:
        with _captured_stderr_fd() as log:
            interpreter = runtime.interpreter(str(model), num_threads)  # type: ignore[attr-defined]
            interpreter.allocate_tensors()
            inp = interpreter.get_input_details()[0]
            interpreter.set_tensor(inp["index"], np.zeros(inp["shape"], dtype=inp["dtype"]))
            start = time.perf_counter()
            interpreter.invoke()
            elapsed_ms = (time.perf_counter() - start) * 1000
    except Exception as exc:  # a broken file raises ValueError/RuntimeError from native code
        return [fail("xnnpack", f"the model {model.name} cannot be run: {exc}", "camwatch models pull (again)")]
    delegated = 0
    with contextlib.suppress(Exception):  # private API; absent in some runtimes
        delegated = sum(1 for op in interpreter._get_ops_details() if op["op_name"] == "DELEGATE")
    detail = f"first inference {elapsed_ms:.0f} ms with {num_threads} thread(s)"
    if XNNPACK_MARKER in b"".join(log):
        return [ok("xnnpack", f"XNNPACK delegate in use; {detail}")]
    if delegated:
        return [ok("xnnpack", f"a CPU delegate runs {delegated} partition(s); {detail}")]
    return [warn("xnnpack", f"no XNNPACK delegate; {detail}", "use ai-edge-litert (detector.runtime: auto)")]


# ----------------------------------------------------------------- edge tpu
def check_edgetpu(
    device: str, runtime_name: str, sysfs_root: Path = edgetpu.SYSFS_USB_DEVICES, dev_root: Path = edgetpu.DEV_ROOT
) -> list[CheckResult]:
    usb = edgetpu.find_usb_accelerators(sysfs_root)
    pcie = edgetpu.find_pcie_devices(dev_root)
    wanted = device != "cpu"
    required = device.startswith(("usb", "pci"))
    results: list[CheckResult] = []
    found = [f"USB {d.usb_id} at {d.sysfs_name}" for d in usb] + [f"PCIe {p}" for p in pcie]
    if not found:
        if required:
            what = "Coral USB Accelerator" if device.startswith("usb") else "PCIe/M.2 Edge TPU (/dev/apex_0)"
            fix = (
                "plug the accelerator into a USB 3 port (lsusb shows 1a6e:089a or 18d1:9302)"
                if device.startswith("usb")
                else "install gasket-dkms (or the Dev Board image) and reboot; or set detector.device: cpu"
            )
            results.append(fail("edgetpu", f"detector.device is {device} but no {what} was found", fix))
        else:
            results.append(ok("edgetpu", "none found; detection runs on the CPU"))
    else:
        blocked = [n for n in (d.device_node for d in usb) if n is not None and n.exists() and not edgetpu.device_accessible(n)]
        blocked += [p for p in pcie if not edgetpu.device_accessible(p)]
        if blocked:
            results.append(fail("edgetpu", f"{', '.join(found)}; no access to {', '.join(map(str, blocked))}", FIX_UDEV))
        else:
            note = "" if wanted else " (unused: detector.device is cpu)"
            results.append(ok("edgetpu", ", ".join(found) + note))
    installed, info = edgetpu.libedgetpu_installed()
    if not installed:
        if found or required:
            results.append(fail("libedgetpu", f"cannot be loaded: {info}", FIX_EDGETPU_LIB))
        else:
            results.append(ok("libedgetpu", "not installed (not needed without an Edge TPU)"))
        return results
    if found and wanted and not any(r.result == "fail" for r in results):
        opened, why = edgetpu.open_delegate(device, runtime_name)
        if opened:
            results.append(ok("libedgetpu", f"{info} loaded; {why}"))
        else:
            results.append(
                fail("libedgetpu", why, "stop a running camwatch (it holds the device), replug it, check `dmesg`")
            )
    else:
        results.append(ok("libedgetpu", f"{info} loads"))
    return results


def edgetpu_in_use(device: str) -> bool:
    if device == "cpu":
        return False
    return bool(edgetpu.find_usb_accelerators() or edgetpu.find_pcie_devices())


# ------------------------------------------------------------------- models
def check_models(config: CamwatchConfig | None, data_dir: Path, want_edgetpu: bool) -> tuple[list[CheckResult], Path | None]:
    """The configured detector model (and its Edge TPU build when a TPU is used) and any
    other installed model against models/manifest.yml. Returns the CPU model file too."""
    detector = config.detector if config else DetectorConfig()
    results: list[CheckResult] = []
    if detector.model_path is not None:
        path = Path(detector.model_path).expanduser()
        if not path.is_file():
            return [fail("model", f"detector.model_path {path} does not exist", "fix detector.model_path or remove it")], None
        if not os.access(path, os.R_OK):
            return [fail("model", f"{path} is not readable", f"chmod o+r {path} or chgrp camwatch {path}")], None
        return [warn("model", f"custom file {path}: no SHA-256 to verify against", "prefer a manifest model")], path
    try:
        manager = ModelManager(data_dir)
        entry = manager.get(detector.model)
    except ModelError as exc:
        return [fail("model", str(exc), "fix detector.model (see `camwatch models list`)")], None
    pull = f"camwatch models pull {entry.name}"
    offline = f"{pull} (offline: {IMPORT_FOLDER})"
    status = manager.status(entry.name)
    path = manager.path(entry.name)
    check = "model"
    if status == "ok":
        results.append(ok(check, f"{entry.name}: {path} (SHA-256 verified)"))
    elif status == "missing":
        results.append(fail(check, f"{entry.name}: {path} is missing", offline))
    elif status == "mismatch":
        results.append(fail(check, f"{entry.name}: {path} does not match its SHA-256 (corrupt or replaced)", pull))
    else:
        results.append(warn(check, f"{entry.name}: {path}: the manifest has no SHA-256", "check the file against the publisher"))
    if want_edgetpu and entry.edgetpu is not None:
        tpu_status = manager.status(entry.name, edgetpu=True)
        tpu_check = "model (edgetpu)"
        if tpu_status == "missing":
            results.append(warn(tpu_check, "the Edge TPU build is not installed", f"{pull} --edgetpu --sha256 HASH"))
        elif tpu_status == "mismatch":
            results.append(fail(tpu_check, "the Edge TPU build does not match its SHA-256", f"{pull} --edgetpu"))
        else:
            results.append(ok(tpu_check, f"installed ({'verified' if tpu_status == 'ok' else 'no known SHA-256'})"))
    for row in manager.verify():
        if row["name"] != entry.name and row["status"] == "mismatch":
            results.append(fail("model", f"{row['name']}: {row['file']} does not match its SHA-256", f"camwatch models pull {row['name']}"))
    results += check_face_models(manager, config.faces if config else FacesConfig())
    return results, (path if status in {"ok", "unverified"} else None)


def check_face_models(manager: ModelManager, faces: FacesConfig) -> list[CheckResult]:
    """Both BlazeFace models when faces are on; every missing file in one row (face alerts
    stay off without them, the cameras run)."""
    if not faces.enabled:
        return []
    try:
        missing = missing_files(manager, [faces.model, faces.face_camera_model])
    except ModelError as exc:
        return [fail("face models", str(exc), "fix faces.model / faces.face_camera_model (see `camwatch models list`)")]
    if not missing:
        return [ok("face models", f"{faces.model}, {faces.face_camera_model} installed")]
    files = ", ".join(f"{m.file} ({m.model})" for m in missing)
    return [warn("face models", f"face alerts stay off: missing {files}", f"{PULL_ALL} (offline: {IMPORT_FOLDER})")]


# -------------------------------------------------------------- disk space
def _probe_write(directory: Path) -> str | None:
    try:
        with tempfile.NamedTemporaryFile(dir=directory, prefix=".doctor-", delete=True) as fh:
            fh.write(b"ok")
            fh.flush()
    except OSError as exc:
        return exc.strerror or str(exc)
    return None


def check_data_dir(data_dir: Path) -> list[CheckResult]:
    user = _user_name()
    if not data_dir.exists():
        parent = next((p for p in data_dir.parents if p.exists()), Path("/"))
        error = _probe_write(parent)
        if error:
            return [fail("data dir", f"{data_dir} does not exist and {parent} is not writable ({error})", f"sudo install -d -o {user} {data_dir}")]
        return [warn("data dir", f"{data_dir} does not exist yet (it will be created)", "camwatch init, or camwatch models pull")]
    if not data_dir.is_dir():
        return [fail("data dir", f"{data_dir} is not a directory", "point data_dir / CAMWATCH_DATA at a directory")]
    error = _probe_write(data_dir)
    if error:
        return [fail("data dir", f"{data_dir} is not writable by {user}: {error}", f"sudo chown -R {user} {data_dir}")]
    results = [ok("data dir", f"{data_dir} is writable by {user}")]
    usage = shutil.disk_usage(data_dir)
    free_mb = usage.free / 1e6
    detail = f"{free_mb / 1000:.1f} GB free of {usage.total / 1e9:.1f} GB"
    if free_mb < DISK_FAIL_MB:
        results.append(fail("disk space", detail, "free space on this file system, or lower storage.retain_days"))
    elif free_mb < DISK_WARN_MB:
        results.append(warn("disk space", detail, "free space, or lower storage.max_snapshot_mb"))
    else:
        results.append(ok("disk space", detail))
    return results


def _user_name() -> str:
    try:
        import pwd

        return pwd.getpwuid(os.geteuid()).pw_name
    except (ImportError, KeyError):
        return str(os.geteuid()) if hasattr(os, "geteuid") else "this user"


# ------------------------------------------------------------------- clock
def check_clock(now: dt.datetime | None = None, timedatectl: str | None = "timedatectl", timeout: float = 5.0) -> list[CheckResult]:
    now = now or dt.datetime.now(dt.timezone.utc)
    stamp = now.strftime("%Y-%m-%d %H:%M:%S %Z")
    fix_ntp = "sudo timedatectl set-ntp true (needs network); event times depend on it"
    if not SANE_YEARS[0] <= now.year < SANE_YEARS[1]:
        return [fail("clock", f"the clock says {stamp}", fix_ntp)]
    results = [ok("clock", stamp)]
    tool = shutil.which(timedatectl) if timedatectl else None
    if tool is None:
        results.append(warn("ntp", "timedatectl not found: cannot tell whether the clock is synchronised", "make sure an NTP client runs (systemd-timesyncd or chrony)"))
        return results
    try:
        proc = subprocess.run(
            [tool, "show", "-p", "NTPSynchronized", "--value"], capture_output=True, text=True, timeout=timeout, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        results.append(warn("ntp", f"timedatectl failed: {exc}", "make sure an NTP client runs"))
        return results
    answer = proc.stdout.strip().lower()
    if proc.returncode != 0 or answer not in {"yes", "no"}:
        reason = (proc.stderr.strip().splitlines() or ["no answer"])[0]
        results.append(warn("ntp", f"cannot tell whether the clock is synchronised: {reason}", "make sure an NTP client runs"))
    elif answer == "yes":
        results.append(ok("ntp", "synchronised"))
    else:
        results.append(warn("ntp", "not synchronised", fix_ntp))
    return results
