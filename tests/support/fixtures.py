"""Pytest fixtures for real test servers; register with ``pytest_plugins`` in conftest.py.

    pytest_plugins = ["tests.support.fixtures"]

Fixtures: ``mosquitto_broker`` (anonymous), ``mosquitto_factory`` (any options),
``rtsp_live_server`` (endless test pattern), ``rtsp_server_factory`` (clip or live),
``model_http_server`` (files in a fresh directory, with fault injection).
A missing component skips locally and fails under CI=true (``tests.conftest.require``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import require
from tests.support.http_server import ModelHttpServer
from tests.support.mosquitto import MosquittoBroker, mosquitto_available
from tests.support.rtsp import RtspServer, rtsp_missing


@functools.cache
def _rtsp_missing() -> tuple[str, ...]:
    return tuple(rtsp_missing())


def require_mosquitto() -> None:
    require(mosquitto_available(), "mosquitto + mosquitto_passwd (apt-get install mosquitto)")


def require_rtsp() -> None:
    missing = _rtsp_missing()
    require(
        not missing,
        f"GStreamer RTSP test camera: {'; '.join(missing)} (the packages are listed in .ci/run)",
    )


@pytest.fixture
def mosquitto_factory() -> Iterator[Callable[..., MosquittoBroker]]:
    """``make(users=..., tls=..., acl=..., require_client_cert=...)`` → a started broker."""
    require_mosquitto()
    brokers: list[MosquittoBroker] = []

    def make(**kwargs: Any) -> MosquittoBroker:
        broker = MosquittoBroker(**kwargs)
        brokers.append(broker)
        return broker.start()

    yield make
    for broker in brokers:
        broker.close()


@pytest.fixture
def mosquitto_broker(mosquitto_factory: Callable[..., MosquittoBroker]) -> MosquittoBroker:
    """A started anonymous broker on a free loopback port."""
    return mosquitto_factory()


@pytest.fixture
def rtsp_server_factory() -> Iterator[Callable[..., RtspServer]]:
    """``make(clip=None, **kwargs)`` → a started RTSP server (live pattern when clip is None)."""
    require_rtsp()
    servers: list[RtspServer] = []

    def make(clip: Path | None = None, **kwargs: Any) -> RtspServer:
        server = RtspServer(clip, **kwargs)
        servers.append(server)
        return server.start()

    yield make
    for server in servers:
        server.thaw()
        server.close()


@pytest.fixture
def rtsp_live_server(rtsp_server_factory: Callable[..., RtspServer]) -> RtspServer:
    return rtsp_server_factory(None)


@pytest.fixture
def model_http_server(tmp_path: Path) -> Iterator[ModelHttpServer]:
    """Serves files put into ``model_http_server.directory`` (a fresh tmp dir)."""
    directory = tmp_path / "http-root"
    directory.mkdir()
    with ModelHttpServer(directory) as server:
        yield server
