"""Serving the app with waitress in a background thread.

waitress is pure Python (nothing to compile on a Pi or a Coral board), runs on any
platform, uses a fixed pool of threads inside camwatch's own process (no fork: the
detector, the store and the live state are shared objects in this process) and is a
production server (request size limits, slow-client buffering), unlike Flask's.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import threading

import psutil
from waitress import wasyncore
from waitress.server import create_server

from camwatch.setup_code import announce
from camwatch.web.app import MAX_UPLOAD_BYTES, create_app
from camwatch.web.context import WebContext

_LOGGER = logging.getLogger(__name__)


class WebServer:
    def __init__(self, ctx: WebContext, host: str | None = None, port: int | None = None) -> None:
        self.ctx = ctx
        self.app = create_app(ctx)
        cfg = ctx.config.web
        self._server = create_server(
            self.app,
            host=host if host is not None else cfg.host,
            port=port if port is not None else cfg.port,
            threads=cfg.threads,
            ident="waitress",  # the Server header names the WSGI server, not camwatch or its version
            channel_timeout=60,
            cleanup_interval=10,
            # Flask checks each route's own limit (JSON 413); bodies far beyond any are cut here.
            max_request_body_size=MAX_UPLOAD_BYTES + (6 << 20),
            trusted_proxy=None,
            clear_untrusted_proxy_headers=False,
        )
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._server.effective_port)  # type: ignore[union-attr]

    @property
    def host(self) -> str:
        return str(self._server.effective_host)  # type: ignore[union-attr]

    @property
    def url(self) -> str:
        host = self.host
        if host in ("0.0.0.0", "::"):
            host = "127.0.0.1"
        return f"http://{host}:{self.port}"

    @property
    def public_url(self) -> str:
        """The address to give a person: this machine's name when listening on every interface."""
        host = self.host
        if host in ("0.0.0.0", "::"):
            host = socket.gethostname() or "127.0.0.1"
        return f"http://{host}:{self.port}"

    def open_urls(self) -> list[str]:
        """Addresses to type into a browser: this machine's network addresses and name when
        listening on every interface (then loopback, for a browser on this machine), else the one."""
        host = self.host
        if host not in ("0.0.0.0", "::"):
            return [self.url]
        urls: list[str] = []
        for addresses in psutil.net_if_addrs().values():
            for address in addresses:
                if address.family != socket.AF_INET:
                    continue
                ip = ipaddress.ip_address(address.address.split("%")[0])
                if not (ip.is_loopback or ip.is_link_local):
                    urls.append(f"http://{ip}:{self.port}")
        name = socket.gethostname()
        if name and name != "localhost":
            urls.append(f"http://{name}:{self.port}")
        return [*dict.fromkeys(urls[:6]), f"http://127.0.0.1:{self.port}"]

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="web", daemon=True)
        self._thread.start()
        _LOGGER.info("web UI listening on http://%s:%d", self.host, self.port)
        urls = self.open_urls()
        _LOGGER.info("open camwatch in a browser: %s", "  ".join(urls))
        if not self.app.extensions["camwatch.accounts"].has_password():
            announce(self.ctx.data_dir, urls[0])

    def _run(self) -> None:
        try:
            self._server.run()
        except Exception as exc:  # sockets closed under the loop by stop()
            if not self.ctx.stopping.is_set():
                _LOGGER.error("web server failed: %s", exc)

    def stop(self, timeout: float = 5.0) -> None:
        self.ctx.stopping.set()  # live streams end within a second
        task_dispatcher = getattr(self._server, "task_dispatcher", None)
        if task_dispatcher is not None:  # let running requests finish while the loop still flushes
            task_dispatcher.shutdown(cancel_pending=True, timeout=timeout)
        server_map = getattr(self._server, "_map", None)
        self._server.close()
        if server_map is not None:
            wasyncore.close_all(server_map)  # open connections too: the loop ends when its map is empty
        if self._thread is not None:
            self._thread.join(timeout)
        self.app.extensions["camwatch.accounts"].close()
        _LOGGER.info("web UI stopped")
