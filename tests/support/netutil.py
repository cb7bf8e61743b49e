"""Small loopback networking helpers shared by the test servers."""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

LOOPBACK = "127.0.0.1"


def free_port() -> int:
    """A TCP port on loopback that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def free_udp_port() -> int:
    """A UDP port on loopback that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def tcp_accepts(port: int, host: str = LOOPBACK, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "<no log>"


def wait_for_port(
    port: int,
    proc: subprocess.Popen | None,
    timeout: float,
    what: str,
    log: Path | None = None,
) -> None:
    """Wait until ``port`` accepts TCP; fail early with the log when ``proc`` exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(
                f"{what} exited with code {proc.returncode}:\n{tail(log) if log else ''}"
            )
        if tcp_accepts(port):
            return
        time.sleep(0.05)
    raise TimeoutError(
        f"{what} did not accept connections on port {port} within {timeout:.0f}s:\n"
        f"{tail(log) if log else ''}"
    )
