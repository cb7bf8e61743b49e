"""sd_notify against a real AF_UNIX datagram socket owned by the test (path and abstract name)."""

from __future__ import annotations

import logging
import os
import socket
import struct
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from camwatch import secrets
from camwatch.service.notify import Notifier, socket_address, watchdog_interval


class Receiver:
    """What systemd does: a bound datagram socket that also learns the sender's PID."""

    def __init__(self, address: str | bytes) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        self.sock.bind(address)
        self.sock.settimeout(5)

    def receive(self) -> tuple[list[str], int | None]:
        size = struct.calcsize("3i")
        data, ancillary, _flags, _addr = self.sock.recvmsg(4096, socket.CMSG_SPACE(size))
        pid = None
        for level, kind, payload in ancillary:
            if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                pid = struct.unpack("3i", payload[:size])[0]
        return data.decode().split("\n"), pid

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def path_receiver(tmp_path: Path) -> Iterator[tuple[str, Receiver]]:
    name = str(tmp_path / "notify.sock")
    receiver = Receiver(name)
    yield name, receiver
    receiver.close()


@pytest.fixture
def abstract_receiver() -> Iterator[tuple[str, Receiver]]:
    name = f"camwatch-test-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    receiver = Receiver(b"\0" + name.encode())
    yield "@" + name, receiver
    receiver.close()


def test_protocol_over_a_socket_path(path_receiver: tuple[str, Receiver]) -> None:
    name, receiver = path_receiver
    notifier = Notifier(environ={"NOTIFY_SOCKET": name})
    assert notifier.enabled
    assert notifier.ready()
    lines, pid = receiver.receive()
    assert lines == ["READY=1"]
    assert pid == os.getpid()  # what NotifyAccess=main checks
    assert notifier.status("watching 2 cameras\nsecond line")
    assert receiver.receive()[0] == ["STATUS=watching 2 cameras second line"]
    assert notifier.watchdog()
    assert receiver.receive()[0] == ["WATCHDOG=1"]
    assert notifier.stopping("shutting down")
    assert receiver.receive()[0] == ["STOPPING=1", "STATUS=shutting down"]
    notifier.close()


def test_protocol_over_an_abstract_name(abstract_receiver: tuple[str, Receiver]) -> None:
    name, receiver = abstract_receiver
    assert socket_address(name) == b"\0" + name[1:].encode()
    with Notifier(environ={"NOTIFY_SOCKET": name}) as notifier:
        assert notifier.ready("up")
        assert receiver.receive()[0] == ["READY=1", "STATUS=up"]
        assert notifier.watchdog()
        assert receiver.receive()[0] == ["WATCHDOG=1"]


def test_notify_socket_from_the_environment_in_a_child_process(path_receiver: tuple[str, Receiver]) -> None:
    """A separate process, configured only through NOTIFY_SOCKET, as under systemd."""
    name, receiver = path_receiver
    code = textwrap.dedent(
        """
        import os
        from camwatch.service.notify import Notifier
        n = Notifier()
        assert n.ready() and n.watchdog()
        print(os.getpid())
        """
    )
    env = {**os.environ, "NOTIFY_SOCKET": name}
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    child = int(proc.stdout.strip())
    assert receiver.receive() == (["READY=1"], child)
    assert receiver.receive() == (["WATCHDOG=1"], child)


def test_status_never_carries_a_secret(path_receiver: tuple[str, Receiver]) -> None:
    name, receiver = path_receiver
    secrets.register("s3cret-camera-pass")
    Notifier(environ={"NOTIFY_SOCKET": name}).status("cannot open rtsp://admin:s3cret-camera-pass@cam/1")
    (line,) = receiver.receive()[0]
    assert "s3cret-camera-pass" not in line
    assert line.startswith("STATUS=cannot open rtsp://admin:")


def test_without_notify_socket_every_call_is_a_no_op() -> None:
    notifier = Notifier(environ={})
    assert not notifier.enabled
    assert not notifier.ready()
    assert not notifier.watchdog()
    assert notifier.watchdog_interval() is None


def test_relative_socket_name_is_refused(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        notifier = Notifier(environ={"NOTIFY_SOCKET": "relative.sock"})
    assert not notifier.enabled
    assert "not an absolute path" in caplog.text


def test_a_vanished_socket_is_logged_once_and_recovers(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    name = str(tmp_path / "gone.sock")
    notifier = Notifier(environ={"NOTIFY_SOCKET": name})
    with caplog.at_level(logging.INFO, logger="camwatch.service.notify"):
        assert not notifier.watchdog()
        assert not notifier.watchdog()
        assert not notifier.watchdog()
        receiver = Receiver(name)
        try:
            assert notifier.watchdog()
            assert receiver.receive()[0] == ["WATCHDOG=1"]
        finally:
            receiver.close()
    messages = [r.getMessage() for r in caplog.records]
    assert sum("cannot notify systemd" in m for m in messages) == 1
    assert sum("works again" in m for m in messages) == 1


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"WATCHDOG_USEC": "30000000"}, 30.0),
        ({"WATCHDOG_USEC": "2500000", "WATCHDOG_PID": str(os.getpid())}, 2.5),
        ({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": str(os.getpid() + 1)}, None),
        ({"WATCHDOG_USEC": "0"}, None),
        ({"WATCHDOG_USEC": "-5"}, None),
        ({"WATCHDOG_USEC": "soon"}, None),
        ({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "x"}, None),
        ({}, None),
    ],
)
def test_watchdog_interval(env: dict[str, str], expected: float | None) -> None:
    assert watchdog_interval(env) == expected
    assert Notifier(environ=env).watchdog_interval() == expected
