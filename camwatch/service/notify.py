"""sd_notify without libsystemd: readiness, status, watchdog pings and stopping.

systemd passes ``NOTIFY_SOCKET`` (a path, or an abstract name written with a leading ``@``)
to a ``Type=notify`` service; the service sends newline-separated ``KEY=VALUE`` datagrams.
``WATCHDOG_USEC`` (and ``WATCHDOG_PID``) tell the service how often to send ``WATCHDOG=1``.
Outside systemd every call is a cheap no-op.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Mapping

from camwatch.secrets import redact

_LOGGER = logging.getLogger(__name__)

ENV_SOCKET = "NOTIFY_SOCKET"
ENV_WATCHDOG_USEC = "WATCHDOG_USEC"
ENV_WATCHDOG_PID = "WATCHDOG_PID"


def socket_address(name: str) -> str | bytes | None:
    """``/run/x`` → the path; ``@name`` → ``b"\\0name"`` (abstract); anything else → None."""
    if name.startswith("@") and len(name) > 1:
        return b"\0" + name[1:].encode()
    if name.startswith("/"):
        return name
    return None


def watchdog_interval(environ: Mapping[str, str] | None = None, pid: int | None = None) -> float | None:
    """The watchdog timeout in seconds from WATCHDOG_USEC, or None when no watchdog is asked for.

    WATCHDOG_PID, when set, must name this process (it is meant for the main PID only).
    Ping at half this interval or more often.
    """
    env = os.environ if environ is None else environ
    raw = env.get(ENV_WATCHDOG_USEC, "").strip()
    if not raw:
        return None
    try:
        usec = int(raw)
    except ValueError:
        return None
    if usec <= 0:
        return None
    owner = env.get(ENV_WATCHDOG_PID, "").strip()
    if owner:
        try:
            if int(owner) != (os.getpid() if pid is None else pid):
                return None
        except ValueError:
            return None
    return usec / 1_000_000


def _clean(value: str) -> str:
    """One line, no secrets: a newline would start a new assignment."""
    return " ".join(redact(value).split())


class Notifier:
    """Sends sd_notify messages to ``NOTIFY_SOCKET`` (or ``address``); a no-op without one."""

    def __init__(self, address: str | None = None, environ: Mapping[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        self._environ = env
        self.name = address if address is not None else env.get(ENV_SOCKET, "")
        self._address = socket_address(self.name) if self.name else None
        if self.name and self._address is None:
            _LOGGER.warning("ignoring NOTIFY_SOCKET %r: not an absolute path or @abstract name", self.name)
        self._sock: socket.socket | None = None
        self._lock = threading.Lock()
        self._failing = False

    @property
    def enabled(self) -> bool:
        return self._address is not None

    def send(self, *assignments: str) -> bool:
        """Send ``KEY=VALUE`` lines as one datagram; True when it was delivered."""
        if self._address is None:
            return False
        payload = "\n".join(assignments).encode()
        with self._lock:
            try:
                if self._sock is None:
                    self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
                self._sock.sendto(payload, self._address)
            except OSError as exc:
                if not self._failing:
                    self._failing = True
                    _LOGGER.warning("cannot notify systemd at %s: %s", self.name, exc)
                self._close_locked()
                return False
            if self._failing:
                self._failing = False
                _LOGGER.info("systemd notification socket %s works again", self.name)
            return True

    def ready(self, status: str | None = None) -> bool:
        lines = ["READY=1"]
        if status:
            lines.append(f"STATUS={_clean(status)}")
        return self.send(*lines)

    def status(self, text: str) -> bool:
        return self.send(f"STATUS={_clean(text)}")

    def watchdog(self) -> bool:
        return self.send("WATCHDOG=1")

    def stopping(self, status: str | None = None) -> bool:
        lines = ["STOPPING=1"]
        if status:
            lines.append(f"STATUS={_clean(status)}")
        return self.send(*lines)

    def watchdog_interval(self) -> float | None:
        return watchdog_interval(self._environ)

    def close(self) -> None:
        with self._lock:
            self._close_locked()

    def _close_locked(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def __enter__(self) -> Notifier:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
