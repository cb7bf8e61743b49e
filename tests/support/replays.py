"""`camwatch replay --json` for the tests, each distinct run once per process.

A replay without ``--data-dir`` leaves nothing behind but what it prints: tests that replay
the same clip with the same command line (model, clock, settings) get the output of one run,
which they read each for themselves. The key is the whole command line, with the clip's size and
change time and the contents of a ``--config`` file (a test that rewrites either gets a run of its own).
Runs that keep a data directory are never shared (the tests look into it), nor are runs that
would pick up models installed in the live data directory.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import SSD_MODEL

START = "2026-01-05T12:00:00"  # a Monday noon: a fixed clock makes events reproducible


@dataclass(frozen=True)
class Run:
    returncode: int
    stdout: str
    stderr: str

    def messages(self) -> tuple[list[dict], dict]:
        """The event messages and the summary (parsed afresh for each caller)."""
        assert self.returncode == 0, self.stderr[-3000:]
        lines = [json.loads(line) for line in self.stdout.splitlines() if line.strip()]
        return lines[:-1], lines[-1]["summary"]


_RUNS: dict[tuple[str, ...], Run] = {}


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "missing"


def _identity(path: Path) -> str:
    """A clip as the conversion cache of tests/support/rtsp.py knows it: size and change time
    (reading a 50 MB clip on every call only to find the run already made is not needed)."""
    try:
        stat = path.stat()
    except OSError:
        return "missing"
    return f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"


def _shareable(args: list[str], config: Path | None) -> bool:
    from camwatch.paths import default_data_dir

    if "--data-dir" in args or (config is not None and (not config.is_file() or "data_dir" in config.read_text())):
        return False
    return not (default_data_dir() / "models").exists()


def run_replay(clip: Path, *extra: str, model: Path = SSD_MODEL, start: str = START, timeout: float = 600) -> Run:
    """``camwatch replay CLIP --json --model-path MODEL --start-time START *extra``."""
    args = ["replay", str(clip), "--json", "--model-path", str(model), "--start-time", start, *extra]
    config = Path(args[args.index("--config") + 1]) if "--config" in args else None
    key: tuple[str, ...] | None = None
    if _shareable(args, config):
        key = (*args, _identity(Path(clip)), _digest(config) if config else "")
        if key in _RUNS:
            return _RUNS[key]
    result = subprocess.run([sys.executable, "-m", "camwatch", *args], capture_output=True, text=True,
                            timeout=timeout, env=os.environ.copy())
    run = Run(result.returncode, result.stdout, result.stderr)
    if key is not None and run.returncode == 0:
        _RUNS[key] = run
    return run


def replay(clip: Path, *extra: str, data_dir: Path | None = None, config: Path | None = None,
           model: Path = SSD_MODEL, start: str = START) -> tuple[list[dict], dict]:
    """The event messages and the summary of a replay (shared as said above)."""
    options = [*(["--data-dir", str(data_dir)] if data_dir else []), *(["--config", str(config)] if config else [])]
    return run_replay(clip, *options, *extra, model=model, start=start).messages()
