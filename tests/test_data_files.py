"""A damaged data file or a data dir camwatch cannot write: `camwatch run` prints one line
naming the file and what to do, exits 1, no traceback."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from camwatch.comms.outbox import Outbox
from camwatch.datafiles import DataFileError
from camwatch.events.store import EventStore
from camwatch.web.accounts import Accounts
from tests.conftest import MEDIA, MODELS, require
from tests.support.netutil import free_port
from tests.support.web import import_face_models, write_clip_config

NOBODY = 65534


@pytest.fixture
def workdir() -> Iterator[Path]:
    """A directory other users may enter (pytest's tmp dirs are 0700): for the read-only run."""
    path = Path(tempfile.mkdtemp(prefix="camwatch-datafiles-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _config(root: Path, **extra: object) -> Path:
    require(MEDIA.is_dir(), f"media directory {MEDIA}")
    path = write_clip_config(root, {"porch": MEDIA / "walking-by.h264"}, **extra)
    data = yaml.safe_load(path.read_text())
    data["data_dir"] = str(root / "data")
    path.write_text(yaml.safe_dump(data))
    return path


def _run(config: Path, *args: str, user: int | None = None) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "camwatch.cli", "run", "--config", str(config), *args]
    if user is not None:
        command = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups", *command]
    env = {**os.environ, "CAMWATCH_DATA": str(config.parent / "data"), "HOME": str(config.parent)}
    return subprocess.run(command, capture_output=True, text=True, timeout=120, env=env, cwd=config.parent)


def _assert_one_clear_line(result: subprocess.CompletedProcess, path: Path, advice: str) -> None:
    output = result.stdout + result.stderr
    assert result.returncode == 1, output[-3000:]
    assert "Traceback" not in output, output[-3000:]
    lines = [line for line in output.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, output[-3000:]
    assert str(path) in lines[0] and advice in lines[0], lines[0]


@pytest.mark.parametrize(
    ("relative", "extra", "args"),
    [
        ("camwatch.db", {}, ("--no-web", "--no-mqtt")),
        ("web.db", {}, ("--no-mqtt",)),
        ("mqtt_outbox.db", {"mqtt": {"enabled": True, "host": "127.0.0.1", "port": 1}}, ("--no-web",)),
        ("faces/gallery.db", {"faces": {"enabled": True}}, ("--no-web", "--no-mqtt")),
        ("activity.db", {"alerts": {"unusual": {"enabled": True}}}, ("--no-web", "--no-mqtt")),
    ],
)
def test_random_bytes_in_a_data_file(tmp_path: Path, ssd_model: Path, relative: str, extra: dict, args: tuple) -> None:
    port = free_port()
    config = _config(tmp_path, web_port=port, **extra)
    data = tmp_path / "data"
    if relative.startswith("faces/"):
        require((MODELS / "face_detection_short_range.tflite").is_file(), "BlazeFace models in shared/models")
        import_face_models(data)
    target = data / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    damaged = os.urandom(8192)
    target.write_bytes(damaged)
    _assert_one_clear_line(_run(config, *args), target, f"mv {target} {target}.broken")
    assert target.read_bytes() == damaged  # left for the user to look at, not replaced


def test_read_only_data_dir(workdir: Path, ssd_model: Path) -> None:
    config = _config(workdir)
    data = workdir / "data"
    data.mkdir()
    if os.geteuid() == 0:  # root writes anywhere: run camwatch as nobody, the dir stays root's
        require(shutil.which("setpriv") is not None, "setpriv (util-linux) to drop root")
        config.chmod(0o644)
        result = _run(config, "--no-web", "--no-mqtt", user=NOBODY)
    else:
        data.chmod(0o555)
        result = _run(config, "--no-web", "--no-mqtt")
    _assert_one_clear_line(result, data / "camwatch.db", "fix the permissions")


def test_open_paths_raise_data_file_errors(tmp_path: Path) -> None:
    for name, opener in (
        ("camwatch.db", lambda p: EventStore(p, tmp_path / "snapshots")),
        ("web.db", Accounts),
        ("mqtt_outbox.db", Outbox),
    ):
        path = tmp_path / name
        path.write_bytes(os.urandom(4096))
        with pytest.raises(DataFileError) as err:
            opener(path)
        assert str(path) in str(err.value) and "move it aside" in str(err.value)


def test_data_is_private_whatever_the_umask(tmp_path: Path, ssd_model: Path) -> None:
    """Started from a shell with umask 022 (no systemd), every file and directory camwatch
    creates in its data dir is its user's only: events, snapshots, the web login, the keys."""
    config = _config(tmp_path, web_port=free_port(), alerts={"unusual": {"enabled": True}})
    data = tmp_path / "data"
    command = [sys.executable, "-m", "camwatch.cli", "run", "--config", str(config), "--no-mqtt"]
    env = {**os.environ, "CAMWATCH_DATA": str(data), "HOME": str(tmp_path)}
    process = subprocess.Popen(command, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, preexec_fn=lambda: os.umask(0o022))
    try:
        deadline = time.monotonic() + 180
        while not any((data / "snapshots").rglob("*.jpg")):
            assert process.poll() is None, process.communicate()[0][-3000:]
            assert time.monotonic() < deadline, "no snapshot within 180 s"
            time.sleep(0.5)
    finally:
        process.terminate()
        output = process.communicate(timeout=60)[0]
    assert process.returncode == 0, output[-3000:]
    created = [data, *data.rglob("*")]
    names = {p.name for p in created}
    assert {"camwatch.db", "web.db", "web_secret", "activity.db", "snapshots"} <= names, sorted(names)
    loose = {str(p.relative_to(tmp_path)): oct(p.stat().st_mode & 0o777) for p in created
             if p.stat().st_mode & 0o077}
    assert not loose, loose
