"""waitress's listening sockets, made to keep answering under a flood of idle connections,
and a clear message when the port cannot be had.

waitress stops accepting once ``connection_limit`` connections are open and waits until one
has been silent for ``channel_timeout``: about 110 idle sockets from anyone on the LAN froze
the page for a minute at a time. Here a full table never stops the server accepting: the
connection that has been quiet the longest without a request running is closed to make room.
A browser sends its request right after connecting, so the owner's new connection is served
before it could be the quietest; silent connections are also closed after ``IDLE_TIMEOUT``.
"""

from __future__ import annotations

import errno
import logging
import socket
import time
from pathlib import Path
from typing import Any

from waitress import wasyncore
from waitress.adjustments import Adjustments
from waitress.server import TcpWSGIServer
from waitress.task import ThreadedTaskDispatcher

_LOGGER = logging.getLogger(__name__)

#: Connections open at once; beyond, the quietest idle one makes room.
CONNECTION_LIMIT = 200
#: A connection with no request running that sent nothing for this long is closed (s).
IDLE_TIMEOUT = 15
#: How often idle connections are looked for (s).
CLEANUP_INTERVAL = 2
#: Ports after a busy one tried for a free one to suggest.
PORTS_TO_SUGGEST = 20


class WebServerError(Exception):
    """The web server cannot start; the message is one line saying why and what to do."""


class FloodProofServer(TcpWSGIServer):
    """A waitress TCP server that makes room instead of refusing to accept (see the module)."""

    def readable(self) -> bool:
        now = time.time()
        if now >= self.next_channel_cleanup:
            self.next_channel_cleanup = now + self.adj.cleanup_interval
            self.maintenance(now)
        if not self.accepting:
            return False
        if len(self.active_channels) < self.adj.connection_limit:
            return True
        open_channels = [c for c in self.active_channels.values() if not c.will_close]
        if len(open_channels) < self.adj.connection_limit:
            return True
        idle = [c for c in open_channels if not c.requests]
        if not idle:  # every connection is being answered: accept again when one is done
            return False
        # A connection with nothing received comes before one halfway through a request.
        quietest = min(idle, key=lambda c: (c.request is not None, c.last_activity))
        quietest.will_close = True
        return True


class Listener:
    """The sockets of one web server, its request threads and its loop."""

    def __init__(self, app: Any, **settings: Any) -> None:
        self.adj = Adjustments(
            connection_limit=CONNECTION_LIMIT, channel_timeout=IDLE_TIMEOUT, cleanup_interval=CLEANUP_INTERVAL,
            asyncore_use_poll=True,  # select() stops at descriptor 1024
            **settings,
        )
        self.map: dict[int, Any] = {}
        self.dispatcher = ThreadedTaskDispatcher()
        self.servers: list[FloodProofServer] = []
        try:
            for sockinfo in self.adj.listen:
                self.servers.append(FloodProofServer(app, self.map, dispatcher=self.dispatcher, adj=self.adj,
                                                     sockinfo=sockinfo))
        except BaseException:
            self.close()
            raise
        self.dispatcher.set_thread_count(self.adj.threads)

    @property
    def host(self) -> str:
        return str(self.servers[0].effective_host)

    @property
    def port(self) -> int:
        return int(self.servers[0].effective_port)

    def run(self) -> None:
        wasyncore.loop(timeout=self.adj.asyncore_loop_timeout, map=self.map, use_poll=self.adj.asyncore_use_poll)

    def close(self, timeout: float = 5.0) -> None:
        self.dispatcher.shutdown(cancel_pending=True, timeout=timeout)  # running requests finish first
        for server in self.servers:
            server.close()
        wasyncore.close_all(self.map)  # open connections too: the loop ends when its map is empty


def free_port_after(host: str, port: int) -> int | None:
    """The first port after ``port`` that ``host`` can listen on, if any close by."""
    for candidate in range(port + 1, min(port + 1 + PORTS_TO_SUGGEST, 65536)):
        try:
            with socket.create_server((host if host not in ("", "0.0.0.0") else "", candidate)):
                return candidate
        except OSError:
            continue
    return None


def bind_error(exc: OSError, host: str, port: int, config_path: Path | None) -> WebServerError:
    """One line for a port or address that cannot be had: which, and how to choose another."""
    where = f" in {config_path}" if config_path else ""
    if exc.errno == errno.EADDRINUSE:
        free = free_port_after(host, port)
        hint = f" ({free} is free)" if free else ""
        return WebServerError(
            f"the web page's port {port} is already in use on {host} by another program (another camwatch?): "
            f"stop it, or choose another port with web.port{where}{hint}"
        )
    if exc.errno == errno.EACCES:
        return WebServerError(f"port {port} needs administrator rights: choose one above 1023 with web.port{where}")
    if exc.errno in (errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT):
        return WebServerError(f"{host} is not an address of this machine: set web.host{where} "
                              "(0.0.0.0 listens on all of them)")
    return WebServerError(f"cannot listen on {host} port {port}: {exc.strerror or exc}")
