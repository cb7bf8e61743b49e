"""A threaded loopback HTTP file server with per-path fault injection (model downloads).

    with ModelHttpServer(tmp_path) as server:
        server.fail_times("/ssd.tflite", 2)          # two 503 answers, then the file
        server.truncate("/ssd.tflite", 1000)         # full Content-Length, 1000 bytes, close
        server.corrupt("/ssd.tflite")                # same length, some bytes flipped
        url = server.url("/ssd.tflite")
        server.requests                              # [RequestRecord(...), ...]

Faults apply to every later request for that path until ``clear(path)``, except
``fail_times`` which is used up. ``Range: bytes=N-`` is honoured (206) for resumes.
"""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from urllib.parse import unquote, urlsplit

from tests.support.netutil import LOOPBACK

_LOGGER = logging.getLogger(__name__)
_RANGE = re.compile(r"^bytes=(\d+)-(\d*)$")


@dataclass(frozen=True)
class RequestRecord:
    method: str
    path: str
    status: int
    range: str | None
    bytes_sent: int


@dataclass
class _Faults:
    corrupt: bool = False
    truncate_at: int | None = None
    failures_left: int = 0
    failure_status: int = 503


class ModelHttpServer:
    def __init__(self, directory: Path, port: int = 0) -> None:
        self.directory = Path(directory).resolve()
        self._faults: dict[str, _Faults] = {}
        self._lock = threading.Lock()
        self.requests: list[RequestRecord | None] = []  # None: arrived, not answered yet
        self._httpd = ThreadingHTTPServer((LOOPBACK, port), self._handler_class())
        self._httpd.daemon_threads = True
        self.port = int(self._httpd.server_address[1])
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------- faults
    def _fault(self, path: str) -> _Faults:
        return self._faults.setdefault(_normalize(path), _Faults())

    def corrupt(self, path: str) -> None:
        """Serve the file with bytes flipped (same length): a checksum mismatch."""
        with self._lock:
            self._fault(path).corrupt = True

    def truncate(self, path: str, n_bytes: int) -> None:
        """Announce the full Content-Length, send ``n_bytes``, then drop the connection."""
        with self._lock:
            self._fault(path).truncate_at = n_bytes

    def fail_times(self, path: str, n: int, status: int = 503) -> None:
        """Answer the next ``n`` requests for ``path`` with ``status``."""
        with self._lock:
            fault = self._fault(path)
            fault.failures_left = n
            fault.failure_status = status

    def clear(self, path: str | None = None) -> None:
        with self._lock:
            if path is None:
                self._faults.clear()
            else:
                self._faults.pop(_normalize(path), None)

    def requests_for(self, path: str) -> list[RequestRecord]:
        with self._lock:
            return [r for r in self.requests if r is not None and r.path == _normalize(path)]

    # ------------------------------------------------------------ serving
    @property
    def base_url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def url(self, path: str) -> str:
        return self.base_url + _normalize(path)

    def start(self) -> ModelHttpServer:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._httpd.serve_forever, name="model-http", daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(5)
            self._thread = None
        self._httpd.server_close()

    def __enter__(self) -> ModelHttpServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # ----------------------------------------------------------- handler
    def _arrived(self) -> int:
        """A place in ``requests`` in order of arrival (a request answered slowly, such as a
        truncated body, must not be listed after the one that follows it)."""
        with self._lock:
            self.requests.append(None)
            return len(self.requests) - 1

    def _record(self, slot: int, record: RequestRecord) -> None:
        with self._lock:
            self.requests[slot] = record

    def _take_failure(self, path: str) -> int | None:
        with self._lock:
            fault = self._faults.get(path)
            if fault is None or fault.failures_left <= 0:
                return None
            fault.failures_left -= 1
            return fault.failure_status

    def _body_faults(self, path: str) -> tuple[bool, int | None]:
        with self._lock:
            fault = self._faults.get(path)
            return (fault.corrupt, fault.truncate_at) if fault else (False, None)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                _LOGGER.debug("model http: " + format, *args)

            def do_HEAD(self) -> None:  # noqa: N802
                self._serve(head=True)

            def do_GET(self) -> None:  # noqa: N802
                self._serve(head=False)

            def _finish(self, status: int, sent: int = 0) -> None:
                server._record(
                    self._slot, RequestRecord(self.command, self._path, status, self.headers.get("Range"), sent)
                )

            def _error(self, status: int) -> None:
                body = f"{status}\n".encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)
                self._finish(status)

            def _serve(self, head: bool) -> None:
                self._slot = server._arrived()
                self._path = _normalize(urlsplit(self.path).path)
                failure = server._take_failure(self._path)
                if failure is not None:
                    self._error(failure)
                    return
                file = (server.directory / self._path.lstrip("/")).resolve()
                if not file.is_relative_to(server.directory) or not file.is_file():
                    self._error(404)
                    return
                data = file.read_bytes()
                corrupt, truncate_at = server._body_faults(self._path)
                if corrupt:
                    data = _flip_bytes(data)
                start, status = 0, 200
                match = _RANGE.match(self.headers.get("Range", ""))
                if match:
                    start = int(match.group(1))
                    end = int(match.group(2)) + 1 if match.group(2) else len(data)
                    if start >= len(data):
                        self._error(416)
                        return
                    data, status = data[start:end], 206
                self.send_response(status)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Accept-Ranges", "bytes")
                if status == 206:
                    total = file.stat().st_size
                    self.send_header(
                        "Content-Range", f"bytes {start}-{start + len(data) - 1}/{total}"
                    )
                if truncate_at is not None:
                    self.send_header("Connection", "close")
                self.end_headers()
                if head:
                    self._finish(status)
                    return
                body = data if truncate_at is None else data[:truncate_at]
                try:
                    self.wfile.write(body)
                    self.wfile.flush()
                except OSError:
                    pass  # the client gave up; the record still says what was sent
                if truncate_at is not None:
                    self.close_connection = True
                self._finish(status, len(body))

        return Handler


def _normalize(path: str) -> str:
    path = unquote(path)
    return path if path.startswith("/") else "/" + path


def _flip_bytes(data: bytes) -> bytes:
    if not data:
        return data
    flipped = bytearray(data)
    for index in {0, len(data) // 2, len(data) - 1}:
        flipped[index] ^= 0xFF
    return bytes(flipped)
