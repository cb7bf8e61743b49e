"""`.ci/run` names the Debian package of every system component the tests use.

CI starts from a fresh Debian 12 where only what `.ci/run` installs exists, while a
developer machine may have the missing piece from earlier. So each component is traced to
the package that ships it (`dpkg -S`) and that package must be named in `.ci/run`.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ROOT, require
from tests.support.rtsp import SERVER_MAIN, SYSTEM_PYTHON

CI_RUN = ROOT / ".ci" / "run"
# Commands the tests (and their support servers) run, by name on PATH or by path.
TOOLS = (
    "ffmpeg",  # tests/support/rtsp.py clip conversion and feeder, test_mqtt_e2e clip cuts
    "/usr/sbin/mosquitto", "mosquitto_passwd", "mosquitto_ctrl",  # tests/support/mosquitto.py
    "openssl",  # tests/support/tls.py
    "systemd-analyze",  # test_systemd.py
    "mount", "umount",  # test_retention.py (a small tmpfs as a full disk)
    "unshare", "hostname",  # test_fleet.py (a host name of its own per camwatch node)
    "/usr/bin/chromium",  # tests/support/browser.py
)  # fmt: skip


def ci_packages() -> set[str]:
    match = re.search(r"^PACKAGES=\((.*?)^\)", CI_RUN.read_text(), re.MULTILINE | re.DOTALL)
    assert match, "no PACKAGES=( ... ) list in .ci/run"
    return {word for line in match.group(1).splitlines() for word in line.split("#")[0].split()}


def owner(path: str) -> str | None:
    """The Debian package that ships ``path`` (also under its /usr-merged twin)."""
    resolved = str(Path(path).resolve())
    candidates = [path, resolved]
    for p in list(candidates):
        if p.startswith("/usr/"):
            candidates.append(p[4:])
        elif p.startswith(("/bin/", "/sbin/", "/lib/", "/lib64/")):
            candidates.append("/usr" + p)
    for candidate in dict.fromkeys(candidates):
        found = subprocess.run(["dpkg", "-S", candidate], capture_output=True, text=True, check=False)
        if found.returncode == 0:
            return found.stdout.split(":", 1)[0].strip()
    return None


def _components() -> list[tuple[str, str]]:
    """(what, file) for every tool, GStreamer element, typelib and module the tests use."""
    found: list[tuple[str, str]] = []
    for tool in TOOLS:
        path = tool if tool.startswith("/") else shutil.which(tool)
        require(path is not None and Path(path).exists(), f"{tool} (see .ci/run)")
        found.append((tool, str(path)))
    require(SYSTEM_PYTHON.is_file(), f"{SYSTEM_PYTHON}")
    listing = subprocess.run(
        [str(SYSTEM_PYTHON), str(SERVER_MAIN), "--elements"], capture_output=True, text=True, timeout=60, check=False
    )
    require(listing.returncode == 0, f"GStreamer RTSP server bindings for {SYSTEM_PYTHON}: {listing.stderr[-300:]}")
    for line in listing.stdout.splitlines():
        what, _, file = line.partition("\t")
        require(bool(file), f"GStreamer element {what} (not installed here, so its package cannot be checked)")
        found.append((what, file))
    return found


def test_ci_installs_the_package_of_every_system_component_the_tests_use() -> None:
    require(shutil.which("dpkg") is not None, "dpkg (a Debian system)")
    named = ci_packages()
    missing = {}
    for what, file in _components():
        package = owner(file)
        assert package is not None, f"no Debian package ships {file} ({what})"
        if package not in named:
            missing[what] = package
    assert not missing, f".ci/run does not install: {missing}"


@pytest.mark.parametrize("element", ["timeoverlay", "x264enc", "rtpbin"])
def test_the_rtsp_probe_checks_every_element_it_needs(element: str) -> None:
    """The probe builds the pipelines: an element the server uses but the probe forgot
    would let the RTSP tests run and fail instead of saying what is missing."""
    text = SERVER_MAIN.read_text()
    assert element in text
    require(SYSTEM_PYTHON.is_file(), f"{SYSTEM_PYTHON}")
    listing = subprocess.run(
        [str(SYSTEM_PYTHON), str(SERVER_MAIN), "--elements"], capture_output=True, text=True, timeout=60, check=False
    )
    assert element in {line.split("\t")[0] for line in listing.stdout.splitlines()}
