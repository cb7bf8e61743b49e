"""scripts/run installs face recognition (dlib-bin) where it can, and says so in one line where it cannot."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT, require


def _faces(venv: Path, **env: str) -> subprocess.CompletedProcess[str]:
    script = f'source "{ROOT}/scripts/_venv.sh"; camwatch_faces; echo "exit=$?"'
    return subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "CAMWATCH_VENV": str(venv), **env})


def test_no_wheel_is_one_clear_line_and_not_a_failure(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    # No package index at all: the extra cannot be installed, as on a platform without a wheel.
    offline = {"PIP_CONFIG_FILE": os.devnull, "PIP_NO_INDEX": "1", "PIP_FIND_LINKS": ""}
    first = _faces(venv, **offline)
    assert first.stdout.strip().endswith("exit=0"), first.stderr
    lines = [line for line in first.stderr.splitlines() if "not available" in line]
    assert len(lines) == 1 and "faces are found but not named" in lines[0]
    assert "Traceback" not in first.stderr and "ERROR" not in first.stderr
    log_size = (venv / "install.log").stat().st_size
    # The next run does not try again (same pyproject, same platform): the same line, no pip.
    again = _faces(venv, **offline)
    assert again.stdout.strip().endswith("exit=0")
    assert "installing face recognition" not in again.stderr and "not available" in again.stderr
    assert (venv / "install.log").stat().st_size == log_size


def test_installed_recognition_is_silent() -> None:
    venv = ROOT / ".venv"
    check = subprocess.run([str(venv / "bin" / "python"), "-c", "import dlib, face_recognition_models"],
                           capture_output=True, timeout=60)
    require(check.returncode == 0, "the faces extra in .venv (scripts/test installs it)")
    result = _faces(venv)
    assert result.stdout.strip() == "exit=0" and result.stderr == ""
