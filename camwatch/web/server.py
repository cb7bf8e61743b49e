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

from camwatch.setup_code import announce
from camwatch.web.app import MAX_UPLOAD_BYTES, create_app
from camwatch.web.context import WebContext
from camwatch.web.listener import Listener, WebServerError, bind_error

__all__ = ["WebServer", "WebServerError"]

_LOGGER = logging.getLogger(__name__)


class WebServer:
    def __init__(self, ctx: WebContext, host: str | None = None, port: int | None = None) -> None:
        self.ctx = ctx
        self.app = create_app(ctx)
        cfg = ctx.config.web
        host = host if host is not None else cfg.host
        port = port if port is not None else cfg.port
        try:
            self._server = Listener(
                self.app,
                host=host,
                port=port,
                threads=cfg.threads,
                ident="waitress",  # the Server header names the WSGI server, not camwatch or its version
                # Flask checks each route's own limit (JSON 413); bodies far beyond any are cut here.
                max_request_body_size=MAX_UPLOAD_BYTES + (6 << 20),
                trusted_proxy=None,
                clear_untrusted_proxy_headers=False,
            )
        except OSError as exc:
            self.app.extensions["camwatch.accounts"].close()
            raise bind_error(exc, host, port, ctx.config_path) from None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self._server.port

    @property
    def host(self) -> str:
        return self._server.host

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
        self._server.close(timeout)
        if self._thread is not None:
            self._thread.join(timeout)
        self.app.extensions["camwatch.accounts"].close()
        _LOGGER.info("web UI stopped")
