"""Small loopback networking helpers shared by the test servers."""

from __future__ import annotations

import os
import random
import socket
import subprocess
import time
from pathlib import Path

LOOPBACK = "127.0.0.1"


# Ports handed out below come from a block of this process only, below the kernel's
# ephemeral range (32768+ on Linux), so neither port 0 binds nor outgoing connections take
# them. A port the kernel picks for port 0 and then releases may be picked again for another
# process (an xdist worker) before the test's server binds it; a port a test keeps "where
# nobody listens" or that a broker gets back after an outage would be just as exposed.
# Each pytest-xdist worker gets its own block; the start inside it is random so that two
# test runs at once (two checkouts) rarely probe the same ports, and the bind check below
# skips any port in use.
_PORT_BASE = 20000
_PORT_BLOCK = 500
_PORT_BLOCKS = 24  # 20000-31999


def _worker_index() -> int:
    name = os.environ.get("PYTEST_XDIST_WORKER", "")  # "gw0", "gw1", ... under xdist
    digits = name[2:] if name.startswith("gw") else ""
    return int(digits) if digits.isdigit() else 0


class _PortBlock:
    def __init__(self) -> None:
        self.start = _PORT_BASE + (_worker_index() % _PORT_BLOCKS) * _PORT_BLOCK
        self.next = random.randrange(_PORT_BLOCK)

    def take(self, kind: int) -> int:
        for _ in range(_PORT_BLOCK):
            port = self.start + self.next
            self.next = (self.next + 1) % _PORT_BLOCK
            with socket.socket(socket.AF_INET, kind) as sock:
                try:
                    sock.bind((LOOPBACK, port))
                except OSError:
                    continue
            return port
        raise RuntimeError(f"no free port in {self.start}-{self.start + _PORT_BLOCK - 1}")


_block: _PortBlock | None = None


def _port(kind: int) -> int:
    global _block
    if _block is None:
        _block = _PortBlock()
    return _block.take(kind)


def free_port() -> int:
    """A TCP port on loopback that is free now and that no other test worker is given."""
    return _port(socket.SOCK_STREAM)


def free_udp_port() -> int:
    """A UDP port on loopback that is free now and that no other test worker is given."""
    return _port(socket.SOCK_DGRAM)


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
