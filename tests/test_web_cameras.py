"""Cameras from the web page (/api/cameras): saved to config.yml with its comments, the password
in a 0600 file and never shown, applied to a running camwatch without a restart (a new camera
starts, a removed one stops and its events stay), tested with the pipeline's own source, and
only by the owner. A camwatch with no camera at all serves every page."""

from __future__ import annotations

import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from camwatch.config import load_config
from camwatch.config.writer import referenced_file
from camwatch.web import create_app
from tests.conftest import MEDIA, SSD_MODEL, require
from tests.mqtt_support import Subscriber
from tests.support.rtsp import RtspServer, rtsp_missing
from tests.support.web import make_context, setup_and_login

USER = "viewer"
PASSWORD = "s3cr:et@/pw"
CLIP = MEDIA / "walking-by.h264"


def _starter_config(path: Path) -> None:
    """The config `camwatch init` writes on a machine without cameras."""
    path.unlink(missing_ok=True)
    subprocess.run([sys.executable, "-m", "camwatch", "init", "--config", str(path)], check=True,
                   capture_output=True, timeout=60)


@pytest.fixture
def env(tmp_path: Path) -> Iterator[tuple[Any, Any, dict[str, str], list[Any]]]:
    applied: list[Any] = []
    ctx = make_context(tmp_path, cameras=(), applied=applied)
    _starter_config(ctx.config_path)
    ctx.config = load_config(ctx.config_path)
    app = create_app(ctx)
    client = app.test_client()
    csrf = setup_and_login(client)
    yield ctx, client, {"X-CSRF-Token": csrf}, applied
    app.extensions["camwatch.accounts"].close()
    ctx.store.close()


def _secret_of(path: Path, camera: str) -> Path | None:
    return referenced_file(yaml.safe_load(path.read_text())["cameras"][camera].get("password"))


def test_add_change_and_remove_cameras(env: Any) -> None:
    ctx, client, headers, applied = env
    original = ctx.config_path.read_text()
    assert client.get("/api/cameras").get_json() == {"cameras": []}

    # A file camera: saved under the starter config's comments, applied at once.
    body = {"source": {"kind": "file", "path": str(CLIP), "loop": True}, "labels": ["person"], "fps": 4}
    added = client.put("/api/cameras/porch/settings", json=body, headers=headers)
    assert added.status_code == 201, added.data
    assert added.get_json()["source"] == {"kind": "file", "path": str(CLIP), "loop": True}
    text = ctx.config_path.read_text()
    assert text.startswith(original.split("cameras: {}")[0])  # every comment above the cameras
    assert "\n# Object detector." in text and text.index("porch:") < text.index("# Object detector.")
    assert "      track: [person]\n" in text
    assert applied[-1].cameras["porch"].source.loop and applied[-1].cameras["porch"].detect.fps == 4

    # A network camera with its login typed into the address: split, the password in a 0600 file.
    url = "rtsp://viewer:p%40ss%3Aword@192.0.2.20:554/stream1"
    door = client.put("/api/cameras/door/settings", json={"source": {"kind": "stream", "url": url},
                                                          "name": "Front door"}, headers=headers)
    assert door.status_code == 201, door.data
    shown = door.get_json()
    assert shown["display_name"] == "Front door"
    assert shown["source"] == {"kind": "stream", "url": "rtsp://192.0.2.20:554/stream1", "username": "viewer",
                               "has_password": True}
    text = ctx.config_path.read_text()
    assert "p@ss" not in text and "p%40ss" not in text and "    username: viewer\n" in text
    secret = _secret_of(ctx.config_path, "door")
    assert secret is not None and secret.parent == ctx.data_dir / "secrets"
    assert secret.read_text() == "p@ss:word" and stat.S_IMODE(secret.stat().st_mode) == 0o600
    config = load_config(ctx.config_path)
    assert config.cameras["door"].password.get_secret_value() == "p@ss:word"
    assert config.cameras["door"].url == "rtsp://192.0.2.20:554/stream1"
    for answer in (client.get("/api/cameras/door/settings"), client.get("/cameras"), client.get("/api/cameras")):
        assert b"p@ss" not in answer.data and str(secret).encode() not in answer.data

    # Changes without a password keep the stored one; a new one replaces the file; "" removes it.
    stream2 = {"kind": "stream", "url": "rtsp://192.0.2.20:554/stream2", "username": "viewer"}
    assert client.put("/api/cameras/door/settings", json={"source": stream2}, headers=headers).status_code == 200
    kept = _secret_of(ctx.config_path, "door")
    assert kept is not None and kept.read_text() == "p@ss:word" and not secret.exists()
    assert client.put("/api/cameras/door/settings", json={"source": stream2, "labels": ["person", "car"]},
                      headers=headers).status_code == 200
    assert _secret_of(ctx.config_path, "door") == kept  # the source did not change: the same file
    # The stored password never follows the camera to another address: it must be typed again.
    elsewhere = {**stream2, "url": "rtsp://198.51.100.7:554/stream2"}
    moved = client.put("/api/cameras/door/settings", json={"source": elsewhere}, headers=headers)
    assert moved.status_code == 409 and "type the password again" in moved.get_json()["error"]
    assert _secret_of(ctx.config_path, "door") == kept and kept.exists()
    changed = client.put("/api/cameras/door/settings", json={"source": {**stream2, "password": "n3w"}},
                         headers=headers)
    assert changed.status_code == 200
    newer = _secret_of(ctx.config_path, "door")
    assert newer != kept and newer.read_text() == "n3w" and not kept.exists()
    cleared = client.put("/api/cameras/door/settings", json={"source": {**stream2, "password": ""}},
                         headers=headers)
    assert cleared.get_json()["source"]["has_password"] is False and not newer.exists()
    assert "password" not in yaml.safe_load(ctx.config_path.read_text())["cameras"]["door"]

    # Removing cameras: gone from the file (its secret too), back to the starter config.
    client.put("/api/cameras/door/settings", json={"source": {**stream2, "password": "x9"}}, headers=headers)
    last = _secret_of(ctx.config_path, "door")
    assert client.delete("/api/cameras/door", headers=headers).get_json() == {"deleted": "door"}
    assert last is not None and not last.exists()
    assert client.delete("/api/cameras/porch", headers=headers).status_code == 200
    assert ctx.config_path.read_text() == original
    assert applied[-1].cameras == {}
    assert client.delete("/api/cameras/porch", headers=headers).status_code == 404
    assert client.get("/api/cameras/porch/settings").status_code == 404


@pytest.mark.parametrize(
    ("name", "body", "message"),
    [
        ("Porch!", {"source": {"kind": "file", "path": "/x.mp4"}}, "camera name"),
        ("porch", {"source": {"kind": "file", "path": "relative.mp4"}}, "source.path"),
        ("porch", {"source": {"kind": "stream", "url": "ftp://cam/x"}}, "source.url"),
        ("porch", {"source": {"kind": "usb", "device": "/dev/sda"}}, "source.device"),
        ("porch", {"source": {"kind": "webcam"}}, 'kind "stream"'),
        ("porch", {"source": {"kind": "file", "path": "/x.mp4", "url": "rtsp://a"}}, "unknown key"),
        ("porch", {"source": {"kind": "file", "path": "/x.mp4"}, "fps": 0}, "fps"),
        ("porch", {"source": {"kind": "file", "path": "/x.mp4"}, "fps": True}, "fps"),
        ("porch", {"source": {"kind": "file", "path": "/x.mp4"}, "labels": ["Person!"]}, "labels"),
        ("porch", {"source": {"kind": "file", "path": "/x.mp4"}, "name": "\u202eevil"}, "name"),
        ("porch", {"source": {"kind": "file", "path": "/x.mp4"}, "colour": "red"}, "unknown key"),
        ("porch", {"labels": ["person"]}, '"source"'),
    ],
)
def test_bad_input_is_a_400_and_saves_nothing(env: Any, name: str, body: Any, message: str) -> None:
    ctx, client, headers, applied = env
    before = ctx.config_path.read_text()
    response = client.put(f"/api/cameras/{name}/settings", json=body, headers=headers)
    assert response.status_code == 400, response.data
    assert message in response.get_json()["error"]
    assert ctx.config_path.read_text() == before and applied == []
    assert client.put("/api/cameras/porch/settings", json=body).status_code == 403  # no CSRF token


def test_only_the_owner_or_an_admin_token_changes_or_tests_cameras(env: Any) -> None:
    ctx, client, headers, _applied = env
    tokens = {scope: client.post("/api/tokens", json={"name": scope, "scope": scope}, headers=headers).get_json()
              for scope in ("read", "control", "admin")}
    stranger = client.application.test_client()
    body = {"source": {"kind": "file", "path": str(CLIP)}}

    def call(scope: str | None, method: str, path: str, json: Any = None) -> int:
        auth = {"Authorization": f"Bearer {tokens[scope]['token']}"} if scope else {}
        return stranger.open(path, method=method, json=json, headers=auth).status_code

    for scope in (None, "read", "control"):
        assert call(scope, "POST", "/api/cameras/porch/test", body) in (401, 403)
        assert call(scope, "PUT", "/api/cameras/porch/settings", body) in (401, 403)
    assert call(None, "GET", "/api/usb-cameras") == 401
    assert call("read", "GET", "/api/usb-cameras") == 200
    assert call("admin", "POST", "/api/cameras/porch/test", body) == 200
    assert call("admin", "PUT", "/api/cameras/porch/settings", body) == 201
    assert call("control", "DELETE", "/api/cameras/porch") == 403
    assert "porch" in load_config(ctx.config_path).cameras


def test_the_test_button_uses_the_stored_password_of_a_camera(env: Any) -> None:
    missing = rtsp_missing()
    if missing:
        require(False, "GStreamer RTSP test camera: " + "; ".join(missing))
    _ctx, client, headers, _applied = env
    with RtspServer.live(username=USER, password=PASSWORD) as camera:
        source = {"kind": "stream", "url": camera.url, "username": USER}
        typed = client.post("/api/cameras/door/test", json={"source": {**source, "password": PASSWORD}},
                            headers=headers).get_json()
        assert typed["ok"] and typed["image"].startswith("data:image/jpeg;base64,"), typed
        assert (typed["width"], typed["height"]) == (640, 360)
        saved = client.put("/api/cameras/door/settings", json={"source": {**source, "password": PASSWORD}},
                           headers=headers)
        assert saved.status_code == 201
        stored = client.post("/api/cameras/door/test", json={"source": source}, headers=headers).get_json()
        assert stored["ok"], stored  # the password comes from the secret file, not from the page
        # ... and only to the address it was given for (localhost is another name for it).
        other = {**source, "url": camera.url.replace("127.0.0.1", "localhost")}
        refused = client.post("/api/cameras/door/test", json={"source": other}, headers=headers).get_json()
        assert refused["reason"] == "wrong_password" and "RTSP 401" in refused["message"]
        wrong = client.post("/api/cameras/door/test", json={"source": {**source, "password": "guess"}},
                            headers=headers).get_json()
        assert (wrong["ok"], wrong["reason"], wrong["image"]) == (False, "wrong_password", None)
        assert "guess" not in wrong["message"]


def test_a_camwatch_without_cameras_serves_every_page(env: Any) -> None:
    _ctx, client, _headers, _applied = env
    dashboard = client.get("/")
    assert dashboard.status_code == 200 and b"No camera yet" in dashboard.data and b'href="/cameras"' in dashboard.data
    zones = client.get("/zones")
    assert zones.status_code == 302 and zones.headers["Location"].endswith("/cameras")
    for path in ("/cameras", "/events", "/system", "/faces", "/notifications", "/tokens"):
        assert client.get(path).status_code == 200, path
    for path in ("/api/cameras", "/api/events", "/api/stats", "/api/control", "/api/notify", "/api/openapi.json",
                 "/api/usb-cameras"):
        assert client.get(path).status_code == 200, path
    page = client.get("/cameras").data
    assert b"No camera yet" in page and b'id="cam-test"' in page


def _messages(sub: Subscriber, prefix: str) -> list[Any]:
    return [m for m in list(sub.messages) if m.topic.startswith(prefix)]


def _discovery(sub: Subscriber, camera: str) -> list[Any]:
    """Retained Home Assistant configs of ``camera``'s entities, latest per topic, not cleared."""
    latest: dict[str, Any] = {}
    for message in _messages(sub, "homeassistant/"):
        if f"_{camera}/" in message.topic and message.topic.endswith("/config"):
            latest[message.topic] = message
    return [m for m in latest.values() if m.payload]


def test_a_camera_added_and_removed_on_a_running_camwatch(tmp_path: Path, shared_media: Path,
                                                         mosquitto_broker: Any) -> None:
    """The real life cycle, with MQTT: camwatch starts with no camera (the hub's entities only);
    apply_config starts the added camera and its Home Assistant entities appear; removed, it
    stops, its entities go and its events stay."""
    require(SSD_MODEL.is_file(), f"SSD model {SSD_MODEL}")
    from camwatch.app import Camwatch

    config_path = tmp_path / "config.yml"
    config_path.write_text(f"# no camera yet\ncameras: {{}}\ndetector:\n  model_path: {SSD_MODEL}\n"
                           "web:\n  enabled: false\n"
                           f"mqtt:\n  enabled: true\n  host: 127.0.0.1\n  port: {mosquitto_broker.port}\n")
    sub = Subscriber(mosquitto_broker.port, ["homeassistant/#", "camwatch/#"])
    app = Camwatch(load_config(config_path), config_path=config_path, data_dir=tmp_path / "data",
                   start_time=time.time() - 3600)
    app.start()
    try:
        sub.wait_for(lambda: [m for m in _messages(sub, "homeassistant/") if m.topic.endswith("/armed/config")],
                     what="the hub's discovery with no camera")
        assert _discovery(sub, "porch") == []
        ctx = make_context(tmp_path / "web", cameras=(), write_config=False)
        ctx.config, ctx.config_path, ctx.store, ctx.state = app.config, config_path, app.store, app.state
        ctx.control, ctx.data_dir, ctx.apply_config = app.control, app.data_dir, app.apply_config
        web = create_app(ctx)
        client = web.test_client()
        headers = {"X-CSRF-Token": setup_and_login(client)}
        body = {"source": {"kind": "file", "path": str(CLIP), "loop": True}, "labels": ["person"], "fps": 5}
        assert client.put("/api/cameras/porch/settings", json=body, headers=headers).status_code == 201
        assert "porch" in app.workers
        sub.wait_for(lambda: len(_discovery(sub, "porch")) >= 5, timeout=30, what="porch's entities")
        deadline = time.monotonic() + 60
        while not app.state.camera("porch").online:
            assert time.monotonic() < deadline, app.state.camera("porch")
            time.sleep(0.2)
        while not app.store.query(camera="porch", limit=1)[1]:
            assert time.monotonic() < deadline + 120, "no event from the clip"
            time.sleep(0.5)
        assert client.get("/api/cameras").get_json()["cameras"][0]["status"]["online"] is True
        assert client.delete("/api/cameras/porch", headers=headers).status_code == 200
        assert "porch" not in app.workers and "porch" not in app.pipelines
        sub.wait_for(lambda: _discovery(sub, "porch") == [], timeout=30, what="porch's entities removed")
        assert app.store.query(camera="porch", limit=1)[1] >= 1  # its events stay
        assert client.get("/api/cameras").get_json() == {"cameras": []}
        web.extensions["camwatch.accounts"].close()
    finally:
        app.stop()
        sub.close()


def test_the_live_page_shows_a_disabled_camera(env: Any) -> None:
    """A disabled camera has no live status: its card says so instead of the page failing."""
    ctx, client, headers, _ = env
    body = {"source": {"kind": "file", "path": str(CLIP)}, "enabled": False, "name": "Back yard"}
    assert client.put("/api/cameras/back/settings", json=body, headers=headers).status_code == 201
    page = client.get("/")
    assert page.status_code == 200, page.data[:300]
    assert b"Back yard" in page.data
    card = client.get("/api/cameras/back").get_json()
    assert card["enabled"] is False and card["status"]["state"] == "disabled"
    assert client.get("/system").status_code == 200
