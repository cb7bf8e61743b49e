"""`.ci/run` names the Debian package of every system component the tests use.

CI starts from a fresh Debian 12 where only what `.ci/run` installs exists, while a
developer machine may have the missing piece from earlier. So each component is traced to
the package that ships it (`dpkg -S`) and that package must be named in `.ci/run`.
"""

from __future__ import annotations

import functools
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


def _candidates(path: str) -> list[str]:
    """``path`` as dpkg may have recorded it: as given, resolved, and its /usr-merged twin."""
    resolved = str(Path(path).resolve())
    candidates = [path, resolved]
    for p in list(candidates):
        if p.startswith("/usr/"):
            candidates.append(p[4:])
        elif p.startswith(("/bin/", "/sbin/", "/lib/", "/lib64/")):
            candidates.append("/usr" + p)
    return list(dict.fromkeys(candidates))


def owners(paths: list[str]) -> dict[str, str | None]:
    """The Debian package that ships each of ``paths``, from one ``dpkg -S`` call."""
    wanted = {path: _candidates(path) for path in paths}
    every = sorted({c for candidates in wanted.values() for c in candidates})
    found = subprocess.run(["dpkg", "-S", *every], capture_output=True, text=True, check=False)
    shipped: dict[str, str] = {}
    for line in found.stdout.splitlines():
        package, sep, file = line.partition(": ")
        if sep and not line.startswith("diversion "):
            shipped[file.strip()] = package.split(",")[0].split(":")[0].strip()
    return {path: next((shipped[c] for c in candidates if c in shipped), None) for path, candidates in wanted.items()}


@functools.cache
def _element_listing() -> subprocess.CompletedProcess[str]:
    """What the RTSP test server's ``--elements`` probe prints (run once per process)."""
    require(SYSTEM_PYTHON.is_file(), f"{SYSTEM_PYTHON}")
    return subprocess.run(
        [str(SYSTEM_PYTHON), str(SERVER_MAIN), "--elements"], capture_output=True, text=True, timeout=60, check=False
    )


def _components() -> list[tuple[str, str]]:
    """(what, file) for every tool, GStreamer element, typelib and module the tests use."""
    found: list[tuple[str, str]] = []
    for tool in TOOLS:
        path = tool if tool.startswith("/") else shutil.which(tool)
        require(path is not None and Path(path).exists(), f"{tool} (see .ci/run)")
        found.append((tool, str(path)))
    listing = _element_listing()
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
    components = _components()
    packages = owners([file for _, file in components])
    for what, file in components:
        package = packages[file]
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
    listing = _element_listing()
    assert element in {line.split("\t")[0] for line in listing.stdout.splitlines()}
