"""The REST API, route by route: auth, filters, bad input (400, never 500), zones, SSE, waitress."""

from __future__ import annotations

import json
import re
import socket
import time
import urllib.error
import urllib.request
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml

from camwatch.config import load_config
from camwatch.web import WebServer, create_app
from tests.support.web import add_event, make_context, set_still, setup_and_login


@pytest.fixture
def frame(shared_media: Path) -> np.ndarray:
    image = cv2.imread(str(shared_media / "grace_hopper.bmp"))
    assert image is not None
    return image


@pytest.fixture
def env(tmp_path: Path, frame: np.ndarray):
    applied: list = []
    ctx = make_context(tmp_path, cameras=("front", "back"), applied=applied)
    app = create_app(ctx)
    client = app.test_client()
    csrf = setup_and_login(client)
    now = time.time()
    events = [
        add_event(ctx, frame, camera="front", label="person", start=now - 3600, zones=["porch"], score=0.9),
        add_event(ctx, frame, camera="front", label="car", start=now - 1800, zones=["driveway"], score=0.7),
        add_event(ctx, frame, camera="back", label="person", start=now - 600, has_face=True, face_score=0.8),
        add_event(ctx, frame, camera="back", label="tamper", start=now - 300, kind="anomaly", subtype="tamper"),
    ]
    yield ctx, client, csrf, events, applied
    app.extensions["camwatch.accounts"].close()
    ctx.store.close()


def _ids(response) -> list[str]:
    assert response.status_code == 200, response.data
    return [e["id"] for e in response.get_json()["events"]]


def test_every_route_needs_auth_except_health(env) -> None:
    ctx, client, _, events, _ = env
    anonymous = client.application.test_client()
    checked = 0
    for rule in client.application.url_map.iter_rules():
        if rule.endpoint in ("static", "auth.login", "auth.setup"):
            continue
        path = re.sub(r"<(?:[a-z_]+:)?event_id>", events[0].id, rule.rule)
        path = path.replace("<camera>", "front").replace("<token_id>", "x")
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            response = anonymous.open(path, method=method)
            checked += 1
            if rule.endpoint == "api.health":
                assert response.status_code == 200
            elif path.startswith(("/api", "/metrics")):
                assert response.status_code == 401, (method, path)
                assert "error" in response.get_json()
            else:
                assert response.status_code in (302, 403), (method, path)  # login redirect, or CSRF first
    assert checked >= 30


def test_openapi_lists_every_route(env) -> None:
    _, client, _, _, _ = env
    spec = client.get("/api/openapi.json").get_json()
    assert spec["openapi"].startswith("3.1")
    for rule in client.application.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        path = re.sub(r"<(?:[a-z_]+(?:\([^)]*\))?:)?([a-z_]+)>", r"{\1}", rule.rule)
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}:
            assert method.lower() in spec["paths"][path], (method, path)
    names = {p["name"] for p in spec["paths"]["/api/events"]["get"]["parameters"]}
    assert {"camera", "label", "zone", "after", "before", "has_face", "subtype", "limit", "offset"} <= names


def test_event_filters(env) -> None:
    _, client, _, events, _ = env
    person_front, car_front, person_back, tamper = events
    assert _ids(client.get("/api/events")) == [tamper.id, person_back.id, car_front.id, person_front.id]
    assert _ids(client.get("/api/events?camera=front")) == [car_front.id, person_front.id]
    assert _ids(client.get("/api/events?camera=front&camera=back&label=person")) == [person_back.id, person_front.id]
    assert _ids(client.get("/api/events?zone=porch")) == [person_front.id]
    assert _ids(client.get("/api/events?has_face=true")) == [person_back.id]
    assert _ids(client.get("/api/events?kind=anomaly&subtype=tamper")) == [tamper.id]
    after = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(person_back.start_time - 1))
    assert _ids(client.get(f"/api/events?after={after}")) == [tamper.id, person_back.id]
    assert _ids(client.get(f"/api/events?before={car_front.start_time + 1}&after={car_front.start_time}")) == [car_front.id]
    assert _ids(client.get("/api/events?after=200&before=100")) == []  # an empty range: nothing, no error
    page = client.get("/api/events?limit=1&offset=1&order=asc").get_json()
    assert page["total"] == 4 and [e["id"] for e in page["events"]] == [car_front.id]
    first = client.get(f"/api/events/{person_front.id}").get_json()
    assert first["snapshot_url"].endswith(f"/api/events/{person_front.id}/snapshot.jpg")
    filters = client.get("/api/events/filters").get_json()
    assert filters["camera"] == ["back", "front"] and filters["zones"] == ["driveway", "porch"]
    assert filters["subtype"] == ["tamper"]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("limit=abc", "limit: must be an integer"),
        ("limit=0", "limit: must be between 1 and 500"),
        ("limit=100000", "limit: must be between"),
        ("offset=-1", "offset: must be between"),
        ("after=notatime", "after: must be a time"),
        ("before=nan", "before: must be a time"),
        ("has_face=maybe", "has_face: must be true or false"),
        ("keep=2", "keep: must be true or false"),
        ("order=sideways", "order: must be asc or desc"),
        ("colour=red", "unknown parameter(s): colour"),
    ],
)
def test_bad_filters_are_400(env, query: str, message: str) -> None:
    _, client, _, _, _ = env
    response = client.get(f"/api/events?{query}")
    assert response.status_code == 400
    assert message in response.get_json()["error"]


def test_event_routes(env) -> None:
    ctx, client, csrf, events, _ = env
    person_front, _, person_back, _ = events
    headers = {"X-CSRF-Token": csrf}
    for url in (f"/api/events/{person_front.id}/snapshot.jpg", f"/api/events/{person_front.id}/snapshot.jpg?kind=clean",
                f"/api/events/{person_front.id}/thumbnail.jpg"):
        response = client.get(url)
        assert response.status_code == 200 and response.mimetype == "image/jpeg"
        image = cv2.imdecode(np.frombuffer(response.data, np.uint8), cv2.IMREAD_COLOR)
        assert image is not None and image.shape[0] > 0
    assert client.get(f"/api/events/{person_front.id}/face.jpg").status_code == 404
    assert client.get(f"/api/events/{person_front.id}/snapshot.jpg?kind=raw").status_code == 400
    assert client.get("/api/events/..%2F..%2Fetc%2Fpasswd").status_code == 404
    assert client.get("/api/events/nope/snapshot.jpg").status_code == 404

    assert client.put(f"/api/events/{person_back.id}/keep", data="x", headers=headers).status_code == 400
    assert client.put(f"/api/events/{person_back.id}/keep", json={"keep": "yes"}, headers=headers).status_code == 400
    kept = client.put(f"/api/events/{person_back.id}/keep", json={"keep": True}, headers=headers)
    assert kept.status_code == 200 and kept.get_json()["keep"] is True
    assert ctx.store.get(person_back.id).keep is True
    assert client.put("/api/events/nope/keep", json={"keep": True}, headers=headers).status_code == 404

    snapshot = ctx.store.files.path(person_front.id, "annotated")
    assert snapshot.is_file()
    assert client.delete(f"/api/events/{person_front.id}", headers=headers).status_code == 200
    assert ctx.store.get(person_front.id) is None and not snapshot.exists()
    assert client.delete(f"/api/events/{person_front.id}", headers=headers).status_code == 404
    not_allowed = client.post("/api/events", headers=headers)
    assert not_allowed.status_code == 405 and "error" in not_allowed.get_json()


def test_camera_routes(env, frame: np.ndarray) -> None:
    ctx, client, _, _, _ = env
    ctx.state.update_camera("front", online=True, state="online", processed_fps=4.8, counts={"person": 1})
    ctx.state.detector = {"device": "cpu", "inference_ms": 17.5}
    cameras = client.get("/api/cameras").get_json()["cameras"]
    assert [c["name"] for c in cameras] == ["front", "back"]
    front = client.get("/api/cameras/front").get_json()
    assert front["status"]["online"] is True and front["status"]["counts"] == {"person": 1}
    assert front["detector_ms"] == 17.5 and front["still_url"] is None
    assert client.get("/api/cameras/front/latest.jpg").status_code == 404
    set_still(ctx, "front", frame, box=(10, 10, 200, 300), label="person", score=0.9)
    still = client.get("/api/cameras/front/latest.jpg")
    assert still.status_code == 200 and still.mimetype == "image/jpeg"
    assert cv2.imdecode(np.frombuffer(still.data, np.uint8), cv2.IMREAD_COLOR).shape[:2] == frame.shape[:2]
    assert client.get("/api/cameras/nope").status_code == 404
    assert client.get("/api/cameras/nope/latest.jpg").status_code == 404


def test_zones_saved_validated_and_applied(env) -> None:
    ctx, client, csrf, _, applied = env
    headers = {"X-CSRF-Token": csrf}
    path = ctx.config_path
    before = path.read_text()
    assert client.get("/api/cameras/front/zones").get_json() == {"camera": "front", "zones": {}, "motion_mask": []}

    body = {
        "zones": {"porch": {"coordinates": [[0.1, 0.5], [0.6, 0.5], [0.6, 1.0], [0.1, 1.0]], "objects": ["person"]}},
        "motion_mask": [[[0, 0], [1, 0], [1, 0.1]]],
    }
    saved = client.put("/api/cameras/front/zones", json=body, headers=headers)
    assert saved.status_code == 200, saved.data
    assert saved.get_json()["zones"]["porch"]["objects"] == ["person"]
    reloaded = load_config(path)
    assert reloaded.cameras["front"].zones["porch"].coordinates[1] == (0.6, 0.5)
    assert reloaded.cameras["front"].motion.mask == [[(0, 0), (1, 0), (1, 0.1)]]
    assert (path.parent / "config.yml.bak").read_text() == before
    assert applied and applied[-1].cameras["front"].zones["porch"].objects == ["person"]
    assert ctx.config.cameras["front"].zones  # the UI sees the new zones at once

    written = path.read_text()
    bad_bodies = [
        ({"zones": {"porch": {"coordinates": [[0.1, 0.1], [0.2, 0.2]]}}}, "3 to 100"),
        ({"zones": {"Porch!": {"coordinates": [[0, 0], [1, 0], [1, 1]]}}}, "zone name"),
        ({"zones": {"porch": {"coordinates": [[0, 0], [1, 0], [1, 5]]}}}, "relative coordinates"),
        ({"zones": {"porch": {"coordinates": [[0, 0], [1, 0], [1, 1]], "colour": "red"}}}, "colour: unknown key"),
        ({"zones": {"porch": {"coordinates": [[0, 0], [1, 0], [1, 1]], "inertia": 0}}}, "inertia: must be >= 1"),
        ({"zonez": {}}, "unknown key"),
        ([1, 2], "JSON object"),
    ]
    for bad, message in bad_bodies:
        response = client.put("/api/cameras/front/zones", json=bad, headers=headers)
        assert response.status_code == 400, bad
        assert message in response.get_json()["error"], response.get_json()
    assert client.put("/api/cameras/front/zones", data="{", headers=headers).status_code == 400
    assert client.put("/api/cameras/nope/zones", json={}, headers=headers).status_code == 404
    assert path.read_text() == written  # bad input lost nothing
    assert yaml.safe_load(written)["cameras"]["back"] == {"url": "/media/back.mp4"}


def test_saving_zones_keeps_the_files_comments(env) -> None:
    ctx, client, csrf, _, _ = env
    path = ctx.config_path
    commented = ("# the porch Pi\ncameras:\n  front:   # the doorbell\n    url: /media/front.mp4   # for now\n"
                 "    zones:\n      steps:\n        coordinates: [[0.1, 0.5], [0.9, 0.5], [0.9, 1.0]]   # the steps\n"
                 "        loitering_time: 30\n  back:\n    url: /media/back.mp4\n\n# the web page\nweb:\n"
                 "  host: 127.0.0.1\n")
    path.write_text(commented)
    ctx.config = load_config(path)
    zones = client.get("/api/cameras/front/zones").get_json()["zones"]
    zones["gate"] = {"coordinates": [[0, 0], [0.5, 0], [0.5, 0.5]], "objects": ["person", "car"]}
    saved = client.put("/api/cameras/front/zones", json={"zones": zones, "motion_mask": [[[0, 0], [1, 0], [1, 0.1]]]},
                       headers={"X-CSRF-Token": csrf})
    assert saved.status_code == 200, saved.data
    text = path.read_text()
    for line in ("# the porch Pi", "  front:   # the doorbell", "    url: /media/front.mp4   # for now",
                 "        coordinates: [[0.1, 0.5], [0.9, 0.5], [0.9, 1.0]]   # the steps",
                 "        loitering_time: 30", "# the web page"):
        assert line + "\n" in text, (line, text)
    assert "      gate:\n        coordinates: [[0, 0], [0.5, 0], [0.5, 0.5]]\n        objects: [person, car]\n" in text
    assert "inertia" not in text and "enabled" not in text  # defaults the editor sent back stay out
    assert "      mask:\n      - [[0, 0], [1, 0], [1, 0.1]]\n" in text
    assert text.index("gate:") < text.index("  back:") < text.index("# the web page")
    assert load_config(path).cameras["front"].zones["steps"].loitering_time == 30


def test_zones_without_config_file_is_409(tmp_path: Path) -> None:
    ctx = make_context(tmp_path, write_config=False)
    app = create_app(ctx)
    client = app.test_client()
    csrf = setup_and_login(client)
    body = {"zones": {"a": {"coordinates": [[0, 0], [1, 0], [1, 1]]}}}
    response = client.put("/api/cameras/front/zones", json=body, headers={"X-CSRF-Token": csrf})
    assert response.status_code == 409 and "without a config file" in response.get_json()["error"]
    app.extensions["camwatch.accounts"].close()


def test_settings_pages_without_config_file_are_409_and_keep_no_secret(tmp_path: Path) -> None:
    applied: list[object] = []
    ctx = make_context(tmp_path, write_config=False, applied=applied)
    app = create_app(ctx)
    client = app.test_client()
    headers = {"X-CSRF-Token": setup_and_login(client)}
    camera = {"source": {"kind": "stream", "url": "rtsp://192.0.2.1/live", "username": "cam", "password": "pw"}}
    response = client.put("/api/cameras/door/settings", json=camera, headers=headers)
    assert response.status_code == 409, response.data
    assert response.get_json()["error"] == "camwatch runs without a config file: cameras cannot be saved"
    destination = {"url": "json://192.0.2.1/hook"}
    response = client.put("/api/notify/destinations/phone", json=destination, headers=headers)
    assert response.status_code == 409, response.data
    assert response.get_json()["error"] == "camwatch runs without a config file: destinations cannot be saved"
    assert applied == []
    assert not ctx.secrets_dir.exists() or not any(ctx.secrets_dir.iterdir())
    app.extensions["camwatch.accounts"].close()
    ctx.store.close()


def test_control_stats_metrics(env) -> None:
    ctx, client, csrf, _, _ = env
    headers = {"X-CSRF-Token": csrf}
    assert client.get("/api/control").get_json()["armed"] is True
    changed = client.put("/api/control", json={"camera": "front", "feature": "detect", "value": False}, headers=headers)
    assert changed.status_code == 200 and ctx.control.get("front", "detect") is False
    for bad in ({"camera": "nope", "feature": "detect", "value": True},
                {"camera": "front", "feature": "detect", "value": "off"},
                {"camera": "front", "feature": "laser", "value": True}, {"value": True}):
        response = client.put("/api/control", json=bad, headers=headers)
        assert response.status_code == 400 and response.get_json()["error"]

    ctx.state.update_camera("front", online=True, processed_fps=5.0, reconnects=2, counts={"person": 1})
    ctx.state.add_error("front", "cannot open rtsp://admin:hunter22@cam/x")
    stats = client.get("/api/stats").get_json()
    assert stats["version"] == "9.9.9-test" and stats["storage"]["events"] == 4
    assert stats["cameras"]["front"]["reconnects"] == 2 and stats["process"]["memory_bytes"] > 0
    assert "hunter22" not in json.dumps(stats)

    text = client.get("/metrics").get_data(as_text=True)
    assert 'camwatch_camera_online{camera="front"} 1' in text
    assert 'camwatch_camera_reconnects_total{camera="front"} 2' in text
    assert 'camwatch_camera_objects{camera="front",label="person"} 1' in text
    assert "camwatch_events 4" in text


def test_pages_render_with_events(env) -> None:
    _, client, csrf, events, _ = env
    for path in ("/", "/events", "/events?camera=back&has_face=true", f"/events/{events[0].id}", "/zones/front",
                 "/system", "/tokens", "/account/password"):
        assert client.get(path).status_code == 200, path
    listing = client.get("/events?camera=back").get_data(as_text=True)
    assert events[2].id in listing and events[0].id not in listing
    bad = client.get("/events?after=yesterday")
    assert bad.status_code == 400 and "after: must be a time" in bad.get_data(as_text=True)
    assert client.get("/events?page=0").status_code == 400
    assert client.get("/events/nope").status_code == 404
    assert client.get("/zones/nope").status_code == 404
    kept = client.post(f"/events/{events[0].id}/keep", data={"csrf_token": csrf, "keep": "1"})
    assert kept.status_code == 302
    deleted = client.post(f"/events/{events[1].id}/delete", data={"csrf_token": csrf})
    assert deleted.status_code == 302 and client.get(f"/api/events/{events[1].id}").status_code == 404


def test_sse_stream_sends_cameras_and_events(env) -> None:
    ctx, client, _, events, _ = env
    response = client.get("/api/stream", buffered=False)
    assert response.mimetype == "text/event-stream"
    chunks = iter(response.response)
    seen = ""
    while "event: events" not in seen:
        seen += next(chunks).decode()
    assert "event: cameras" in seen and events[-1].id in seen
    ctx.stopping.set()
    response.close()


# ---------------------------------------------------------------------- a real waitress server
@pytest.fixture
def server(tmp_path: Path, frame: np.ndarray):
    ctx = make_context(tmp_path)
    add_event(ctx, frame)
    web = WebServer(ctx, port=0)
    web.start()
    yield web
    web.stop()
    ctx.store.close()


def _fetch(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_waitress_server_auth_and_errors(server: WebServer) -> None:
    assert server.url.startswith("http://127.0.0.1:")
    assert _fetch(server.url + "/api/health") == (200, {"status": "ok", "version": "9.9.9-test"})
    status, body = _fetch(server.url + "/api/events")
    assert status == 401 and "authentication required" in body["error"]
    accounts = server.app.extensions["camwatch.accounts"]
    _, secret = accounts.create_token("test")
    auth = {"Authorization": f"Bearer {secret}"}
    status, body = _fetch(server.url + "/api/events", auth)
    assert status == 200 and body["total"] == 1
    status, body = _fetch(server.url + "/api/events?limit=abc", auth)
    assert status == 400 and body["error"] == "limit: must be an integer, got 'abc'"
    status, body = _fetch(server.url + "/api/events?after=notatime", auth)
    assert status == 400 and "after" in body["error"]


def test_waitress_streams_sse_and_stops(server: WebServer) -> None:
    _, secret = server.app.extensions["camwatch.accounts"].create_token("sse")
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(f"GET /api/stream HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {secret}\r\n\r\n".encode())
        received = b""
        deadline = time.monotonic() + 5
        while b"event: events" not in received and time.monotonic() < deadline:
            received += sock.recv(65536)
        assert b"text/event-stream" in received and b"event: cameras" in received and b"event: events" in received
    started = time.monotonic()
    server.stop()
    assert time.monotonic() - started < 5
