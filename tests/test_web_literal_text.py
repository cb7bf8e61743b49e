"""Text typed on the web page or sent to the API is data, never a ``${...}`` reference.

An admin token writes ``${file:<a secret file>}`` and ``${ENV}`` into every field the API
stores; after camwatch loads the saved config again (as at a restart), a read token gets the
literal text back from every route and never the file or the variable. A stream address
carrying a reference in its path is opened with that literal path: the secret never reaches
the server it points to.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from camwatch.config import load_config
from camwatch.faces.gallery import FaceGallery
from camwatch.sources.trial import try_source
from camwatch.web import create_app
from tests.support.web import PASSWORD, make_context, page_csrf, setup_and_login

FILE_SECRET = "file-secret-7f3a9c"
ENV_SECRET = "env-secret-51b2e8"
ENV_NAME = "CW_LITERAL_TEST_SECRET"
HOOK = "json://127.0.0.1:9/hook"


@pytest.fixture
def secret_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "s"
    path.write_text(FILE_SECRET + "\n", encoding="utf-8")
    monkeypatch.setenv(ENV_NAME, ENV_SECRET)
    monkeypatch.setenv("HOME", str(tmp_path))  # ${file:~/s}: short enough for a display name
    return path


def _app(ctx: Any) -> tuple[Any, Any]:
    app = create_app(ctx)
    return app, app.test_client()


@pytest.fixture
def written(tmp_path: Path, secret_file: Path) -> Iterator[dict[str, Any]]:
    """Every field the API stores, written with references by an admin token; then a fresh
    camwatch (the saved config loaded again) and its read token."""
    by_file, by_env, short = "${file:" + str(secret_file) + "}", "${" + ENV_NAME + "}", "${file:~/s}"
    ctx = make_context(tmp_path, cameras=("front",))
    ctx.faces_gallery = FaceGallery(ctx.data_dir)
    app, client = _app(ctx)
    owner = {"X-CSRF-Token": setup_and_login(client)}
    accounts = app.extensions["camwatch.accounts"]
    admin = {"Authorization": "Bearer " + accounts.create_token("admin", "admin")[1]}
    read = {"Authorization": "Bearer " + accounts.create_token("read", "read")[1]}
    texts = {
        "file_name": short, "file_path": f"/media/{by_file}.mp4", "stream_name": by_env,
        "stream_url": f"rtsp://127.0.0.1:9/leak/{by_file}", "username": by_env, "password": "pw-" + by_file,
        "person": by_env, "token": by_env,
    }
    answers = [
        client.put("/api/cameras/leak1/settings", headers=admin, json={
            "source": {"kind": "file", "path": texts["file_path"]}, "enabled": False, "name": texts["file_name"]}),
        client.put("/api/cameras/leak2/settings", headers=admin, json={
            "source": {"kind": "stream", "url": texts["stream_url"], "username": texts["username"],
                       "password": texts["password"]}, "enabled": False, "name": texts["stream_name"]}),
        client.put("/api/notify/destinations/leak", headers=admin, json={"url": f"{HOOK}/{by_env}"}),
        client.post("/api/faces", headers=admin, json={"name": texts["person"]}),
    ]
    assert [a.status_code for a in answers] == [201, 201, 200, 201], [a.get_json() for a in answers]
    # Names that become topics, ids and file names cannot hold a reference at all.
    refused = [
        client.put("/api/cameras/leak3/settings", headers=admin, json={
            "source": {"kind": "file", "path": "/x.mp4"}, "labels": [by_env]}),
        client.put("/api/cameras/front/zones", headers=admin, json={"zones": {by_env: {
            "coordinates": [[0, 0], [1, 0], [1, 1]]}}}),
        client.put("/api/cameras/front/zones", headers=admin, json={"zones": {"z": {
            "coordinates": [[0, 0], [1, 0], [1, 1]], "objects": [by_env]}}}),
        *[client.put("/api/notify/destinations/leak", headers=admin, json={key: [by_env]})
          for key in ("cameras", "labels", "zones")],
    ]
    assert [r.status_code for r in refused] == [400] * len(refused), [r.get_json() for r in refused]
    token = client.post("/api/tokens", json={"name": texts["token"], "scope": "read"}, headers=owner)
    assert token.status_code == 201, token.get_json()
    app.extensions["camwatch.accounts"].close()
    ctx.faces_gallery.close()

    # A restart: the saved file is loaded the way `camwatch run` loads it.
    ctx.config = load_config(ctx.config_path)
    ctx.faces_gallery = FaceGallery(ctx.data_dir)
    app, client = _app(ctx)
    yield {"ctx": ctx, "client": client, "read": read, "texts": texts, "config_text":
           ctx.config_path.read_text(encoding="utf-8")}
    app.extensions["camwatch.accounts"].close()
    ctx.faces_gallery.close()
    ctx.store.close()


READ_ROUTES = ["/api/cameras", "/api/cameras/leak1", "/api/cameras/leak2", "/api/cameras/leak1/settings",
               "/api/cameras/leak2/settings", "/api/notify", "/api/faces", "/api/stats", "/api/control",
               "/api/events/filters", "/metrics"]


def test_a_read_token_gets_the_literal_text_never_a_secret(written: dict[str, Any]) -> None:
    client, read, texts = written["client"], written["read"], written["texts"]
    bodies = {}
    for route in READ_ROUTES:
        response = client.get(route, headers=read)
        assert response.status_code == 200, (route, response.data[:200])
        bodies[route] = response.get_data(as_text=True)
        assert FILE_SECRET not in bodies[route] and ENV_SECRET not in bodies[route], route
    file_camera = client.get("/api/cameras/leak1/settings", headers=read).get_json()
    assert file_camera["display_name"] == texts["file_name"]
    assert file_camera["source"] == {"kind": "file", "path": texts["file_path"], "loop": False}
    stream_camera = client.get("/api/cameras/leak2/settings", headers=read).get_json()
    assert stream_camera["display_name"] == texts["stream_name"]
    assert stream_camera["source"] == {"kind": "stream", "url": texts["stream_url"], "username": texts["username"],
                                       "has_password": True}
    people = client.get("/api/faces", headers=read).get_json()["people"]
    assert [p["name"] for p in people] == [texts["person"]]


def test_the_owner_sees_the_literal_text_on_every_page(written: dict[str, Any]) -> None:
    client, texts = written["client"], written["texts"]
    response = client.post("/login", data={"csrf_token": page_csrf(client.get("/login").data), "password": PASSWORD})
    assert response.status_code == 302
    for page in ("/", "/cameras", "/notifications", "/faces", "/system", "/tokens", "/zones", "/api/tokens"):
        body = client.get(page).get_data(as_text=True)
        assert FILE_SECRET not in body and ENV_SECRET not in body, page
    names = [t["name"] for t in client.get("/api/tokens").get_json()["tokens"]]
    assert texts["token"] in names


def test_the_loaded_config_holds_the_literal_text(written: dict[str, Any]) -> None:
    config, texts = written["ctx"].config, written["texts"]
    assert FILE_SECRET not in written["config_text"] and ENV_SECRET not in written["config_text"]
    assert config.cameras["leak1"].name == texts["file_name"]
    assert config.cameras["leak1"].url == texts["file_path"]
    stream = config.cameras["leak2"]
    assert (stream.url, stream.username, stream.name) == (texts["stream_url"], texts["username"], texts["stream_name"])
    assert stream.password is not None and stream.password.get_secret_value() == texts["password"]
    assert config.notify.destinations["leak"].url.get_secret_value() == f"{HOOK}/${{{ENV_NAME}}}"


class _Listener:
    """A TCP server that records what clients send (an RTSP server that never answers)."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.received = b""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            with conn, contextlib.suppress(OSError):
                conn.settimeout(1)
                self.received += conn.recv(65536)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.sock.close()


def test_a_stream_path_with_a_reference_is_opened_literally(tmp_path: Path, secret_file: Path) -> None:
    listener = _Listener()
    try:
        ctx = make_context(tmp_path, cameras=("front",))
        app, client = _app(ctx)
        headers = {"X-CSRF-Token": setup_and_login(client)}
        url = f"rtsp://127.0.0.1:{listener.port}/leak/${{file:{secret_file}}}"
        body = {"source": {"kind": "stream", "url": url}, "enabled": False}
        assert client.put("/api/cameras/leak/settings", json=body, headers=headers).status_code == 201
        app.extensions["camwatch.accounts"].close()
        ctx.store.close()
        cam = load_config(ctx.config_path).cameras["leak"]
        assert cam.url == url
        result = try_source(cam.url, options=cam.source.model_copy(update={"open_timeout": 3, "read_timeout": 2}),
                            name="leak")
        assert not result.ok
    finally:
        listener.close()
    assert b"/leak/" in listener.received, listener.received[:300]
    assert FILE_SECRET.encode() not in listener.received
