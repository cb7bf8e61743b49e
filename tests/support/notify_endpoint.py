"""A loopback HTTP endpoint that receives Apprise's ``json://`` notifications (tests only).

    with NotifyEndpoint() as hook:
        url = hook.apprise_url("/phone")      # json://127.0.0.1:PORT/phone
        hook.fail_next(2)                     # the next two requests get 503
        hook.hold.clear(); ...; hook.hold.set() # requests wait while hold is clear (a hanging service)
        hook.wait_for(3, timeout=30)          # three accepted notifications
        hook.received                         # [Notification(path, title, message, attachments)]

Every request is recorded in ``requests`` (path and status); accepted ones in ``received``.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

from tests.support.netutil import LOOPBACK

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True)
class Attachment:
    filename: str
    mimetype: str
    data: bytes


@dataclass(frozen=True)
class Notification:
    path: str
    title: str
    message: str
    attachments: list[Attachment] = field(default_factory=list)


class NotifyEndpoint:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self.received: list[Notification] = []
        self.requests: list[tuple[str, int]] = []
        self._failures = 0
        self._failure_status = 503
        self.hold = threading.Event()
        self.hold.set()
        self.started = 0  # requests whose body was read
        self._httpd = ThreadingHTTPServer((LOOPBACK, 0), self._handler())
        self._httpd.daemon_threads = True
        self.port = int(self._httpd.server_address[1])
        self._thread: threading.Thread | None = None

    def apprise_url(self, path: str = "/hook") -> str:
        return f"json://{LOOPBACK}:{self.port}{path}"

    def fail_next(self, n: int, status: int = 503) -> None:
        with self._lock:
            self._failures, self._failure_status = n, status

    def for_path(self, path: str) -> list[Notification]:
        with self._lock:
            return [n for n in self.received if n.path == path]

    def wait_for(self, count: int, timeout: float = 30.0, path: str | None = None) -> list[Notification]:
        """Wait until ``count`` notifications (for ``path``) arrived; returns them all."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while True:
                found = [n for n in self.received if path is None or n.path == path]
                if len(found) >= count or time.monotonic() >= deadline:
                    return found
                self._arrived.wait(max(0.01, deadline - time.monotonic()))

    def wait_started(self, count: int, timeout: float = 30.0) -> bool:
        deadline = time.monotonic() + timeout
        with self._arrived:
            while self.started < count:
                if time.monotonic() >= deadline:
                    return False
                self._arrived.wait(max(0.01, deadline - time.monotonic()))
            return True

    def _record(self, path: str, status: int, note: Notification | None) -> None:
        with self._arrived:
            self.requests.append((path, status))
            if note is not None:
                self.received.append(note)
            self._arrived.notify_all()

    def _take_failure(self) -> int | None:
        with self._lock:
            if self._failures <= 0:
                return None
            self._failures -= 1
            return self._failure_status

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                _LOGGER.debug("notify endpoint: " + format, *args)

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                with endpoint._arrived:
                    endpoint.started += 1
                    endpoint._arrived.notify_all()
                endpoint.hold.wait(60)
                failure = endpoint._take_failure()
                if failure is not None:
                    endpoint._record(self.path, failure, None)
                    self._answer(failure)
                    return
                data = json.loads(body)
                attachments = [
                    Attachment(a.get("filename", ""), a.get("mimetype", ""), base64.b64decode(a.get("base64", "")))
                    for a in data.get("attachments") or []
                ]
                note = Notification(self.path, data.get("title", ""), data.get("message", ""), attachments)
                endpoint._record(self.path, 200, note)
                self._answer(200)

            def _answer(self, status: int) -> None:
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        return Handler

    def start(self) -> NotifyEndpoint:
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="notify-endpoint", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.hold.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(5)

    def __enter__(self) -> NotifyEndpoint:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
