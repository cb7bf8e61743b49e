"""Attacks on the web UI and API from a stranger on the LAN, a leaked token or a hostile page.

First run, DNS rebinding, token scopes, open redirects, logout, HEAD, login throttling and
lockout, malformed input (never a 500), token names.
"""

from __future__ import annotations

import concurrent.futures
import json
import logging
import sqlite3
import threading
from pathlib import Path

import pytest
import requests

from camwatch.faces.gallery import GalleryError, validate_name
from camwatch.setup_code import read_setup_code, setup_code_path
from camwatch.web import WebServer, create_app
from camwatch.web.throttle import LoginThrottle
from tests.support.web import PASSWORD, make_context, page_csrf, setup_and_login

LAN = "192.168.1.50"


@pytest.fixture
def ctx(tmp_path: Path):
    context = make_context(tmp_path, web={"login_max_failures": 3, "login_backoff": 60, "login_lockout": 600})
    yield context
    context.store.close()


@pytest.fixture
def app(ctx):
    application = create_app(ctx)
    yield application
    application.extensions["camwatch.accounts"].close()


def _lan_client(app, address: str = LAN):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def _accounts(app):
    return app.extensions["camwatch.accounts"]


# ---------------------------------------------------------------------- first run
def test_a_stranger_on_the_lan_cannot_take_over_the_first_run(app, ctx) -> None:
    stranger = _lan_client(app)
    page = stranger.get("/setup")
    assert page.status_code == 200 and b'name="setup_code"' in page.data
    token = page_csrf(page.data)
    form = {"csrf_token": token, "password": "stranger-wins", "confirm": "stranger-wins"}
    assert stranger.post("/setup", data=form).status_code == 403
    assert stranger.post("/setup", data={**form, "setup_code": "AAAA-BBBB-CCCC"}).status_code == 403
    assert not _accounts(app).has_password()

    code = read_setup_code(ctx.data_dir)
    path = setup_code_path(ctx.data_dir)
    assert code and len(code) == 14 and oct(path.stat().st_mode & 0o777) == "0o600"
    owner = _lan_client(app, "192.168.1.20")
    token = page_csrf(owner.get("/setup").data)
    typed = code.lower().replace("-", " ")  # case, spaces and dashes do not matter
    done = owner.post("/setup", data={"csrf_token": token, "password": PASSWORD, "confirm": PASSWORD,
                                      "setup_code": typed})
    assert done.status_code == 302, done.data
    assert _accounts(app).check_password(PASSWORD)
    assert not path.exists() and read_setup_code(ctx.data_dir) is None
    assert owner.get("/api/events").status_code == 200


def test_setup_code_guesses_are_throttled(app) -> None:
    stranger = _lan_client(app)
    token = page_csrf(stranger.get("/setup").data)
    form = {"csrf_token": token, "password": "stranger-wins", "confirm": "stranger-wins", "setup_code": "x"}
    statuses = [stranger.post("/setup", data=form).status_code for _ in range(5)]
    assert statuses == [403, 403, 403, 429, 429]


def test_at_the_device_no_code_is_needed_but_a_proxy_is_not_the_device(app) -> None:
    proxied = app.test_client()  # loopback, but a proxy forwards it for someone else
    headers = {"X-Forwarded-For": "203.0.113.9"}
    page = proxied.get("/setup", headers=headers)
    assert b'name="setup_code"' in page.data
    form = {"csrf_token": page_csrf(page.data), "password": PASSWORD, "confirm": PASSWORD}
    assert proxied.post("/setup", data=form, headers=headers).status_code == 403
    local = app.test_client()
    assert b'name="setup_code"' not in local.get("/setup").data
    setup_and_login(local)
    assert _accounts(app).has_password()


def test_setup_code_is_logged_at_start_and_shown_by_doctor(ctx, caplog: pytest.LogCaptureFixture) -> None:
    from camwatch.service.doctor import _web_setup

    caplog.set_level(logging.INFO)
    server = WebServer(ctx, port=0)
    server.start()
    try:
        code = read_setup_code(ctx.data_dir)
        assert code and code in caplog.text and "/setup" in caplog.text
        rows = _web_setup(ctx.data_dir, server.port)
        assert rows and rows[0].result == "warn" and code in rows[0].detail
    finally:
        server.stop()
    setup_and_login(create_app(ctx).test_client())
    assert read_setup_code(ctx.data_dir) is None and _web_setup(ctx.data_dir, 5080) == []


def test_foreign_host_names_and_origins_are_refused(tmp_path: Path) -> None:
    ctx = make_context(tmp_path, web={"allowed_hosts": ["cam.example.org"]})
    app = create_app(ctx)
    client = app.test_client()
    csrf = setup_and_login(client)
    _, secret = app.extensions["camwatch.accounts"].create_token("reader")
    auth = {"Authorization": f"Bearer {secret}"}
    rebinding = client.get("/api/events", headers={**auth, "Host": "evil.example:5080"})
    assert rebinding.status_code == 400 and "web.allowed_hosts" in rebinding.get_json()["error"]
    assert client.get("/login", headers={"Host": "attacker.test"}).status_code == 400
    for host in ("evil.example.com", "raspberrypi.evil.example", "local.attacker.test.com"):
        assert client.get("/api/events", headers={**auth, "Host": host}).status_code == 400, host
    for host in ("127.0.0.1:5080", "192.168.1.10", "[fe80::1]:5080", "localhost:5080", "cam.example.org",
                 "raspberrypi.local", "camwatch.lan:5080", "camwatch", "cam.home.arpa"):
        assert client.get("/api/events", headers={**auth, "Host": host}).status_code == 200, host

    change = {"camera": None, "feature": "armed", "value": False}
    headers = {"X-CSRF-Token": csrf}
    for origin in ("http://evil.example", "null", "http://localhost.evil.example"):
        refused = client.put("/api/control", json=change, headers={**headers, "Origin": origin})
        assert refused.status_code == 403, origin
    assert ctx.control.armed is True
    same = client.put("/api/control", json=change, headers={**headers, "Origin": "http://localhost"})
    assert same.status_code == 200 and ctx.control.armed is False
    proxy = client.put("/api/control", json={**change, "value": True},
                       headers={**headers, "Origin": "https://cam.example.org"})
    assert proxy.status_code == 200 and ctx.control.armed is True
    app.extensions["camwatch.accounts"].close()
    ctx.store.close()


# ---------------------------------------------------------------------- tokens
def _token(client, csrf: str, scope: str) -> dict:
    response = client.post("/api/tokens", json={"name": f"{scope} token", "scope": scope},
                           headers={"X-CSRF-Token": csrf})
    assert response.status_code == 201, response.data
    return response.get_json()


def test_token_scopes_and_no_token_manages_tokens(app, ctx) -> None:
    owner = app.test_client()
    csrf = setup_and_login(owner)
    tokens = {scope: _token(owner, csrf, scope) for scope in ("read", "control", "admin")}
    assert owner.post("/api/tokens", json={"name": "x", "scope": "root"}, headers={"X-CSRF-Token": csrf}).status_code == 400
    bearer = app.test_client()

    def call(scope: str, method: str, path: str, body: object = None) -> int:
        headers = {"Authorization": f"Bearer {tokens[scope]['token']}"}
        return bearer.open(path, method=method, json=body, headers=headers).status_code

    disarm = {"camera": None, "feature": "armed", "value": False}
    zones = {"zones": {}, "motion_mask": []}
    assert call("read", "GET", "/api/events") == 200 and call("read", "GET", "/metrics") == 200
    assert call("read", "PUT", "/api/control", disarm) == 403 and ctx.control.armed is True
    assert call("control", "PUT", "/api/control", disarm) == 200 and ctx.control.armed is False
    assert call("control", "PUT", "/api/cameras/front/zones", zones) == 403
    assert call("admin", "PUT", "/api/cameras/front/zones", zones) == 200
    for scope in ("read", "control", "admin"):
        assert call(scope, "GET", "/api/tokens") == 403
        assert call(scope, "POST", "/api/tokens", {"name": "minted", "scope": "admin"}) == 403
        assert call(scope, "DELETE", f"/api/tokens/{tokens['read']['id']}") == 403
    assert [t.name for t in _accounts(app).tokens()] == ["read token", "control token", "admin token"]
    scope_error = bearer.put("/api/control", json=disarm, headers={"Authorization": f"Bearer {tokens['read']['token']}"})
    assert "scope is read" in scope_error.get_json()["error"]


def test_tokens_from_before_scopes_keep_working(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    old = sqlite3.connect(data / "web.db")
    old.executescript(
        "CREATE TABLE tokens (id TEXT PRIMARY KEY, name TEXT NOT NULL, token_hash TEXT NOT NULL UNIQUE,"
        " hint TEXT NOT NULL, created REAL NOT NULL, last_used REAL);"
        "INSERT INTO tokens VALUES ('abc', 'old', 'ffff', 'wxyz', 1.0, NULL);"
    )
    old.commit()
    old.close()
    ctx = make_context(tmp_path)
    app = create_app(ctx)
    assert [(t.name, t.scope) for t in _accounts(app).tokens()] == [("old", "admin")]
    _accounts(app).close()
    ctx.store.close()


@pytest.mark.parametrize("name", ["nul\x00name", "invoice\u202egpj.exe", "iso\u2066late", "bell\x07", "esc\x1b[31m", ""])
def test_token_names_follow_the_face_name_rule(app, name: str) -> None:
    owner = app.test_client()
    csrf = setup_and_login(owner)
    response = owner.post("/api/tokens", json={"name": name}, headers={"X-CSRF-Token": csrf})
    assert response.status_code == 400 and "name" in response.get_json()["error"]
    page = owner.post("/tokens", data={"csrf_token": csrf, "name": name})
    assert page.status_code == 400
    assert _accounts(app).tokens() == []
    with pytest.raises(GalleryError):
        validate_name(name)


# ---------------------------------------------------------------------- redirects, logout, HEAD
@pytest.mark.parametrize(
    "target",
    ["/\t/evil.example", "/\n/evil.example", "//evil.example", "/\\evil.example", "\\\\evil.example",
     "https://evil.example/", " //evil.example", "/\x00/evil", "/\u3000/evil", "javascript:alert(1)"],
)
def test_next_is_only_a_local_path(app, target: str) -> None:
    setup_and_login(app.test_client())
    client = app.test_client()
    token = page_csrf(client.get("/login").data)
    response = client.post("/login", data={"csrf_token": token, "password": PASSWORD, "next": target})
    assert response.status_code == 302 and response.headers["Location"] == "/"
    again = client.get("/login", query_string={"next": target})
    assert again.status_code == 302 and again.headers["Location"] == "/"


def test_next_keeps_a_local_path(app) -> None:
    setup_and_login(app.test_client())
    client = app.test_client()
    token = page_csrf(client.get("/login").data)
    response = client.post("/login", data={"csrf_token": token, "password": PASSWORD, "next": "/events?camera=front"})
    assert response.headers["Location"] == "/events?camera=front"


def test_logout_ends_the_session_on_the_server(app) -> None:
    client = app.test_client()
    csrf = setup_and_login(client)
    stolen = client.get_cookie("camwatch_session").value
    assert client.post("/logout", data={"csrf_token": csrf}).status_code == 302
    thief = app.test_client()
    thief.set_cookie("camwatch_session", stolen)
    assert thief.get("/api/events").status_code == 401
    assert thief.get("/").status_code == 302
    assert b'id="arm-switch"' not in thief.get("/login").data  # no menu, no armed state for an ended session


def test_head_never_changes_state(app, ctx) -> None:
    stranger = app.test_client()
    form = {"password": "head-password", "confirm": "head-password", "current": "x"}
    assert stranger.head("/setup", data=form).status_code == 200
    assert not _accounts(app).has_password()
    owner = app.test_client()
    setup_and_login(owner)
    generation = _accounts(app).password_generation()
    head_login = app.test_client()
    head_login.head("/login", data={"password": PASSWORD})
    assert head_login.get("/api/events").status_code == 401
    owner.head("/account/password", data={"current": PASSWORD, "password": "changed-by-head", "confirm": "changed-by-head"})
    assert _accounts(app).password_generation() == generation
    for rule in app.url_map.iter_rules():  # no GET route runs its change on HEAD
        if "POST" in (rule.methods or ()) and "GET" in (rule.methods or ()):
            owner.head(rule.rule, data={"password": "x" * 12, "confirm": "x" * 12, "name": "head"})
    assert _accounts(app).password_generation() == generation and _accounts(app).tokens() == []


# ---------------------------------------------------------------------- throttle
def test_parallel_guesses_are_counted_atomically(ctx) -> None:
    server = WebServer(ctx, port=0)
    server.start()
    try:
        owner = requests.Session()
        token = page_csrf(owner.get(server.url + "/setup", timeout=10).text)
        owner.post(server.url + "/setup", data={"csrf_token": token, "password": PASSWORD, "confirm": PASSWORD},
                   timeout=10)
        sessions = [requests.Session() for _ in range(40)]
        tokens = [page_csrf(s.get(server.url + "/login", timeout=10).text) for s in sessions]
        barrier = threading.Barrier(len(sessions))

        def guess(index: int) -> int:
            barrier.wait()
            return sessions[index].post(server.url + "/login", data={"csrf_token": tokens[index], "password": f"guess-{index}"},
                                        allow_redirects=False, timeout=60).status_code

        with concurrent.futures.ThreadPoolExecutor(len(sessions)) as pool:
            statuses = list(pool.map(guess, range(len(sessions))))
    finally:
        server.stop()
    assert statuses.count(401) == 3  # the limit, however the guesses interleave
    assert statuses.count(429) == 37


def test_throttle_counts_before_evaluating_and_caps_the_wait() -> None:
    throttle = LoginThrottle(max_failures=5, window=900, cap=300, backoff=2)
    keys = ["address:10.0.0.1"]
    assert [throttle.attempt(keys, now=0.0) for _ in range(5)] == [0.0] * 5  # 5 in flight at once
    assert throttle.attempt(keys, now=0.0) == pytest.approx(2.0)  # the 6th waits before any answer
    now = 0.0
    waits = []
    for _ in range(30):  # a guesser who waits out each delay
        now += throttle.retry_after(keys, now=now) + 0.001
        assert throttle.attempt(keys, now=now) == 0.0
        waits.append(throttle.retry_after(keys, now=now))
    assert waits[:4] == pytest.approx([4, 8, 16, 32], abs=0.01)
    assert max(waits) == pytest.approx(300, abs=0.01)  # never more than the cap
    throttle.success(keys)
    assert throttle.retry_after(keys, now=now) == 0.0


def test_a_guesser_behind_the_same_address_does_not_lock_the_owner_out(app) -> None:
    owner = app.test_client()
    csrf = setup_and_login(owner)  # this browser is now known (device cookie)
    owner.post("/logout", data={"csrf_token": csrf})
    guesser = app.test_client()  # same NAT address, no device cookie
    for _ in range(3):
        token = page_csrf(guesser.get("/login").data)
        assert guesser.post("/login", data={"csrf_token": token, "password": "guess-guess"}).status_code == 401
    token = page_csrf(guesser.get("/login").data)
    assert guesser.post("/login", data={"csrf_token": token, "password": PASSWORD}).status_code == 429
    token = page_csrf(owner.get("/login").data)
    assert owner.post("/login", data={"csrf_token": token, "password": PASSWORD}).status_code == 302


def test_many_addresses_slow_down_unknown_clients_only(app) -> None:
    owner = app.test_client()
    owner.post("/logout", data={"csrf_token": setup_and_login(owner)})
    for index in range(12):  # 4 × 3 failures from 12 addresses: every unknown client now waits
        client = _lan_client(app, f"10.0.0.{index + 1}")
        token = page_csrf(client.get("/login").data)
        client.post("/login", data={"csrf_token": token, "password": "spray-spray"})
    fresh = _lan_client(app, "10.0.1.1")
    token = page_csrf(fresh.get("/login").data)
    assert fresh.post("/login", data={"csrf_token": token, "password": PASSWORD}).status_code == 429
    token = page_csrf(owner.get("/login").data)
    assert owner.post("/login", data={"csrf_token": token, "password": PASSWORD}).status_code == 302


# ---------------------------------------------------------------------- no 500s
def test_malformed_input_is_400_not_500(app) -> None:
    client = app.test_client()
    csrf = setup_and_login(client)
    headers = {"X-CSRF-Token": csrf, "Content-Type": "application/json"}
    deep = "[" * 100_000 + "]" * 100_000
    for path in ("/api/control", "/api/cameras/front/zones", "/api/events/1.0-abc/keep"):
        response = client.put(path, data=deep, headers=headers)
        assert response.status_code in (400, 404), path
        if response.status_code == 400:
            assert "nested too deeply" in response.get_json()["error"]
    deep_object = '{"a":' * 100_000 + "1" + "}" * 100_000
    assert client.post("/api/tokens", data=deep_object, headers=headers).status_code == 400
    assert client.post("/api/faces", data=deep, headers=headers).status_code in (400, 503)
    page = client.get("/events?page=99999999999999999999")
    assert page.status_code == 400 and b"page: must be between" in page.data
    assert client.get("/api/events?offset=99999999999999999999").status_code == 400
    assert client.get("/login?next=/%0A/x").status_code == 302
    assert client.get("/login?next=/%0D%0ASet-Cookie:x=1").headers["Location"] == "/"
    other = app.test_client()
    assert other.get("/login?next=/%0A/x").status_code == 200
    assert other.get("/?x=%0A%0D").status_code == 302
    huge = client.put("/api/control", data=json.dumps({"camera": None, "feature": "armed", "value": 1e999}),
                      headers=headers)
    assert huge.status_code == 400


def test_openapi_marks_public_routes_and_documents_csrf(app) -> None:
    client = app.test_client()
    setup_and_login(client)
    spec = client.get("/api/openapi.json").get_json()
    for path in ("/login", "/setup", "/api/health"):
        for operation in spec["paths"][path].values():
            assert operation["security"] == [], path
    assert "403" in spec["paths"]["/api/control"]["put"]["responses"]
    body = spec["paths"]["/api/control"]["put"]["requestBody"]["content"]["application/json"]["schema"]
    assert body.get("oneOf") and all(b["additionalProperties"] is False for b in body["oneOf"])
    response = client.put("/api/events/filters", headers={"X-CSRF-Token": "x"})
    assert response.status_code == 405
    assert sorted(response.headers["Allow"].replace(" ", "").split(",")) == ["GET", "HEAD", "OPTIONS"]
