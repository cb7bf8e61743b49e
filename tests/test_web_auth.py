"""Web authentication: first-run password, login throttling, sessions, CSRF, API tokens, headers."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import pytest
from werkzeug.security import generate_password_hash

from camwatch.web import create_app
from tests.support.web import PASSWORD, make_context, page_csrf, setup_and_login


@pytest.fixture
def app(tmp_path: Path):
    ctx = make_context(tmp_path, web={"login_max_failures": 3, "login_backoff": 60, "login_lockout": 600})
    application = create_app(ctx)
    yield application
    application.extensions["camwatch.accounts"].close()
    ctx.store.close()


def test_first_run_redirects_to_setup_then_login(app) -> None:
    client = app.test_client()
    assert client.get("/").headers["Location"].endswith("/setup")
    assert client.get("/login").headers["Location"].endswith("/setup")
    setup_and_login(client)
    other = app.test_client()
    response = other.get("/events?camera=front")
    assert response.status_code == 302
    assert "/login?next=/events?camera%3Dfront" in response.headers["Location"]
    assert other.get("/setup").headers["Location"].endswith("/login")  # setup only once


def test_setup_rejects_bad_passwords_and_missing_csrf(app) -> None:
    client = app.test_client()
    token = page_csrf(client.get("/setup").data)
    assert client.post("/setup", data={"password": PASSWORD, "confirm": PASSWORD}).status_code == 403
    short = client.post("/setup", data={"csrf_token": token, "password": "short", "confirm": "short"})
    assert short.status_code == 400 and b"at least 8 characters" in short.data
    differ = client.post("/setup", data={"csrf_token": token, "password": PASSWORD, "confirm": PASSWORD + "x"})
    assert differ.status_code == 400 and b"differ" in differ.data
    assert not app.extensions["camwatch.accounts"].has_password()


def test_password_is_stored_with_scrypt(app, tmp_path: Path) -> None:
    setup_and_login(app.test_client())
    db = tmp_path / "data" / "web.db"
    stored = sqlite3.connect(db).execute("SELECT value FROM settings WHERE key='password_hash'").fetchone()[0]
    assert stored.startswith("scrypt:")
    assert PASSWORD.encode() not in db.read_bytes()
    assert oct(db.stat().st_mode & 0o777) == "0o600"


def _login(client, password: str, **extra: str):
    token = page_csrf(client.get("/login").data)
    return client.post("/login", data={"csrf_token": token, "password": password, **extra})


def test_login_logout_and_cookie_flags(app) -> None:
    setup_and_login(app.test_client())
    client = app.test_client()
    assert _login(client, "wrong password").status_code == 401
    response = _login(client, PASSWORD, next="/events")
    assert response.status_code == 302 and response.headers["Location"] == "/events"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert client.get("/api/events").status_code == 200
    assert client.post("/logout").status_code == 403  # CSRF needed, even for logout
    token = page_csrf(client.get("/").data)
    assert client.post("/logout", data={"csrf_token": token}).headers["Location"].endswith("/login")
    assert client.get("/api/events").status_code == 401
    assert client.get("/").status_code == 302


def test_open_redirect_is_refused(app) -> None:
    setup_and_login(app.test_client())
    response = _login(app.test_client(), PASSWORD, next="//evil.example/x")
    assert response.headers["Location"] == "/"


def test_failed_logins_are_throttled(app, caplog: pytest.LogCaptureFixture) -> None:
    setup_and_login(app.test_client())
    client = app.test_client()
    caplog.set_level(logging.INFO)
    for _ in range(3):
        assert _login(client, "guess-123").status_code == 401
    locked = _login(client, PASSWORD)  # even the right password waits
    assert locked.status_code == 429
    assert int(locked.headers["Retry-After"]) > 0
    assert b"Too many failed attempts" in locked.data
    other = app.test_client()
    other.environ_base["REMOTE_ADDR"] = "10.0.0.9"
    assert _login(other, PASSWORD).status_code == 302  # another address is not locked
    assert "too many failed logins" in caplog.text
    assert PASSWORD not in caplog.text and "guess-123" not in caplog.text


def test_forwarded_for_only_from_trusted_proxy(tmp_path: Path) -> None:
    ctx = make_context(tmp_path, web={"login_max_failures": 2, "login_backoff": 60, "trusted_proxies": ["127.0.0.1"]})
    app = create_app(ctx)
    setup_and_login(app.test_client())
    client = app.test_client()
    for _ in range(2):
        token = page_csrf(client.get("/login").data)
        client.post("/login", data={"csrf_token": token, "password": "nope-nope"},
                    headers={"X-Forwarded-For": "192.168.1.50"})
    token = page_csrf(client.get("/login").data)
    blocked = client.post("/login", data={"csrf_token": token, "password": PASSWORD},
                          headers={"X-Forwarded-For": "192.168.1.50"})
    assert blocked.status_code == 429
    allowed = client.post("/login", data={"csrf_token": token, "password": PASSWORD},
                          headers={"X-Forwarded-For": "192.168.1.51"})
    assert allowed.status_code == 302
    app.extensions["camwatch.accounts"].close()


def test_csrf_needed_for_session_changes(app) -> None:
    client = app.test_client()
    csrf = setup_and_login(client)
    refused = client.post("/api/tokens", json={"name": "ha"})
    assert refused.status_code == 403 and "CSRF" in refused.get_json()["error"]
    assert client.post("/api/tokens", json={"name": "ha"}, headers={"X-CSRF-Token": "forged"}).status_code == 403
    assert client.post("/api/tokens", json={"name": "ha"}, headers={"X-CSRF-Token": csrf}).status_code == 201


def test_api_tokens_bearer_hashed_and_revocable(app, tmp_path: Path) -> None:
    client = app.test_client()
    csrf = setup_and_login(client)
    created = client.post("/api/tokens", json={"name": "home-assistant", "scope": "control"},
                          headers={"X-CSRF-Token": csrf}).get_json()
    secret = created["token"]
    assert secret.startswith("cwt_") and len(secret) > 40
    assert secret.encode() not in (tmp_path / "data" / "web.db").read_bytes()
    listed = client.get("/api/tokens").get_json()["tokens"]
    assert [t["name"] for t in listed] == ["home-assistant"] and "token" not in listed[0]
    assert listed[0]["scope"] == "control"

    bearer = app.test_client()
    auth = {"Authorization": f"Bearer {secret}"}
    assert bearer.get("/api/events", headers=auth).status_code == 200
    assert bearer.get("/metrics", headers=auth).status_code == 200
    # A token client changes state without CSRF (no cookie is involved).
    assert bearer.put("/api/control", json={"camera": None, "feature": "armed", "value": False},
                      headers=auth).status_code == 200
    assert bearer.get("/", headers=auth).status_code == 401  # tokens are for the API, not pages
    assert bearer.get("/api/events", headers={"Authorization": "Bearer cwt_wrong"}).status_code == 401
    assert bearer.get("/api/events", headers={"Authorization": "Basic YWRtaW46eA=="}).status_code == 401

    assert client.delete(f"/api/tokens/{created['id']}", headers={"X-CSRF-Token": csrf}).status_code == 200
    assert bearer.get("/api/events", headers=auth).status_code == 401
    assert client.delete(f"/api/tokens/{created['id']}", headers={"X-CSRF-Token": csrf}).status_code == 404


def test_token_page_shows_secret_once(app) -> None:
    client = app.test_client()
    csrf = setup_and_login(client)
    page = client.post("/tokens", data={"csrf_token": csrf, "name": "scripts"})
    assert page.status_code == 200 and b"cwt_" in page.data and b"shown only once" in page.data
    again = client.get("/tokens")
    assert b"scripts" in again.data
    assert b"token-secret" not in again.data and b"cwt_" not in again.data
    assert client.post("/tokens", data={"csrf_token": csrf, "name": ""}).status_code == 400


def test_password_from_config(tmp_path: Path) -> None:
    ctx = make_context(tmp_path, web={"password_hash": generate_password_hash("from-config-1", method="scrypt")})
    app = create_app(ctx)
    client = app.test_client()
    assert client.get("/").headers["Location"].startswith("/login")
    assert client.get("/setup").headers["Location"].endswith("/login")
    assert _login(client, "from-config-1").status_code == 302
    assert b"set in the config file" in client.get("/account/password").data
    app.extensions["camwatch.accounts"].close()


def test_password_change_ends_other_sessions(app) -> None:
    first = app.test_client()
    csrf = setup_and_login(first)
    second = app.test_client()
    assert _login(second, PASSWORD).status_code == 302
    changed = first.post("/account/password", data={"csrf_token": csrf, "current": PASSWORD,
                                                    "password": "a new passphrase", "confirm": "a new passphrase"})
    assert changed.status_code == 200 and b"Password changed" in changed.data
    assert first.get("/api/events").status_code == 200
    assert second.get("/api/events").status_code == 401
    wrong = first.post("/account/password", data={"csrf_token": page_csrf(first.get("/").data), "current": "bad",
                                                  "password": "x" * 9, "confirm": "x" * 9})
    assert wrong.status_code == 403


def test_security_headers_and_health(app) -> None:
    client = app.test_client()
    health = client.get("/api/health")
    assert health.status_code == 200 and health.get_json() == {"status": "ok", "version": "9.9.9-test"}
    setup_and_login(client)
    for path in ("/", "/api/events", "/login", "/static/app.css"):
        headers = client.get(path).headers
        csp = headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "same-origin"
