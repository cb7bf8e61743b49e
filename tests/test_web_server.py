"""The real web server (waitress) under pressure, with real sockets: a LAN client holding
hundreds of idle connections, API tokens taking every live stream, a port already in use."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from camwatch.web import WebServer
from camwatch.web import listener as listener_module
from camwatch.web.sse import OWNER_STREAMS, TOKEN_STREAMS
from tests.conftest import MEDIA, require
from tests.support.web import PASSWORD, make_context, page_csrf, write_clip_config

FLOOD = 300  # idle connections: beyond waitress's 100 and camwatch's own limit
OWNER_TIMEOUT = 20  # s; waitress alone answered only after its 60 s channel timeout


@pytest.fixture
def server(tmp_path: Path) -> Iterator[WebServer]:
    ctx = make_context(tmp_path)
    web = WebServer(ctx, port=0)
    web.start()
    yield web
    web.stop()
    ctx.store.close()


def _owner(base: str) -> requests.Session:
    """The owner's browser: first-run password set, logged in."""
    session = requests.Session()
    token = page_csrf(session.get(base + "/setup", timeout=OWNER_TIMEOUT).text)
    answer = session.post(base + "/setup", data={"csrf_token": token, "password": PASSWORD, "confirm": PASSWORD},
                          timeout=OWNER_TIMEOUT)
    assert answer.status_code == 200 and answer.url == base + "/", answer.text[:300]
    return session


class IdleFlood:
    """A client on the LAN that keeps ``count`` connections open and sends nothing; any the
    server closes it opens again at once."""

    def __init__(self, port: int, count: int) -> None:
        self.port, self.count = port, count
        self.sockets: list[socket.socket] = []
        self.opened = 0
        self._stop = threading.Event()
        self._top_up()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _top_up(self) -> None:
        while len(self.sockets) < self.count and not self._stop.is_set():
            sock = socket.socket()
            sock.setblocking(False)
            sock.connect_ex(("127.0.0.1", self.port))  # completes in the kernel's backlog
            self.sockets.append(sock)
            self.opened += 1

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            for sock in list(self.sockets):
                try:
                    closed = sock.recv(1) == b""
                except BlockingIOError:
                    closed = False
                except OSError:
                    closed = True
                if closed:
                    sock.close()
                    self.sockets.remove(sock)
            self._top_up()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        for sock in self.sockets:
            sock.close()


def test_the_owner_is_answered_while_a_lan_client_holds_hundreds_of_idle_connections(server: WebServer) -> None:
    owner = _owner(server.url)
    flood = IdleFlood(server.port, FLOOD)
    try:
        time.sleep(1)  # the flood is in: accepted, or waiting in the listen queue
        for _ in range(3):  # new connections each time, as after a browser's idle timeout
            fresh = requests.Session()
            fresh.cookies.update(owner.cookies)
            started = time.monotonic()
            assert fresh.get(server.url + "/api/health", timeout=OWNER_TIMEOUT).status_code == 200
            page = fresh.get(server.url + "/", timeout=OWNER_TIMEOUT)
            assert page.status_code == 200 and "camwatch" in page.text
            assert time.monotonic() - started < OWNER_TIMEOUT
        assert flood.opened >= FLOOD
    finally:
        flood.close()


def test_a_connection_that_never_sends_a_request_is_closed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(listener_module, "IDLE_TIMEOUT", 1)
    monkeypatch.setattr(listener_module, "CLEANUP_INTERVAL", 1)
    ctx = make_context(tmp_path)
    web = WebServer(ctx, port=0)
    web.start()
    try:
        with socket.create_connection(("127.0.0.1", web.port), timeout=30) as sock:
            assert sock.recv(1) == b""  # closed by the server, nothing sent back
    finally:
        web.stop()
        ctx.store.close()


def _open_stream(port: int, headers: str) -> tuple[socket.socket, bytes]:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(f"GET /api/stream HTTP/1.1\r\nHost: 127.0.0.1\r\n{headers}\r\n".encode())
    received = b""
    while b"\r\n\r\n" not in received:
        chunk = sock.recv(65536)
        if not chunk:
            break
        received += chunk
    return sock, received.split(b"\r\n", 1)[0]


def test_tokens_cannot_take_the_owners_live_stream(server: WebServer) -> None:
    accounts = server.app.extensions["camwatch.accounts"]
    tokens = [accounts.create_token(f"reader{i}", "read")[1] for i in range(3)]
    owner = _owner(server.url)
    cookie = "; ".join(f"{k}={v}" for k, v in owner.cookies.items())
    held: list[socket.socket] = []
    try:
        answers = {}
        for i, secret in enumerate(tokens):
            lines = []
            for _ in range(TOKEN_STREAMS + 2):
                sock, status = _open_stream(server.port, f"Authorization: Bearer {secret}\r\n")
                held.append(sock)
                lines.append(status.split(b" ")[1].decode())
            answers[i] = lines
        slots = server.app.extensions["camwatch.sse_slots"]
        by_tokens = sum(line == "200" for lines in answers.values() for line in lines)
        assert by_tokens == slots.for_tokens, answers  # the tokens' share, not one more
        assert all(lines.count("200") <= TOKEN_STREAMS for lines in answers.values()), answers
        for _ in range(OWNER_STREAMS):  # the owner's phone and desktop
            sock, status = _open_stream(server.port, f"Cookie: {cookie}\r\n")
            held.append(sock)
            assert status.endswith(b" 200 OK"), status
    finally:
        for sock in held:
            sock.close()


def test_a_busy_port_is_one_line_naming_it_and_how_to_choose_another(tmp_path: Path) -> None:
    require(MEDIA.is_dir(), f"media directory {MEDIA}")
    with socket.create_server(("127.0.0.1", 0)) as holder:
        port = holder.getsockname()[1]
        config = write_clip_config(tmp_path, {"porch": MEDIA / "walking-by.h264"}, web_port=port)
        env = {**os.environ, "CAMWATCH_DATA": str(tmp_path / "data"), "HOME": str(tmp_path)}
        result = subprocess.run([sys.executable, "-m", "camwatch.cli", "run", "--no-mqtt", "--config", str(config)],
                                capture_output=True, text=True, timeout=180, env=env, cwd=tmp_path)
    output = result.stdout + result.stderr
    assert result.returncode == 1, output[-3000:]
    assert "Traceback" not in output and "Errno" not in output, output[-3000:]
    errors = [line for line in output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, output[-3000:]
    assert f"port {port} is already in use" in errors[0] and "web.port" in errors[0], errors[0]
    assert str(config) in errors[0] and "is free)" in errors[0], errors[0]


def test_the_suggested_port_is_free(tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as holder:
        port = holder.getsockname()[1]
        suggested = listener_module.free_port_after("127.0.0.1", port)
    assert suggested is not None and port < suggested <= port + listener_module.PORTS_TO_SUGGEST
    with socket.create_server(("127.0.0.1", suggested)):
        pass
