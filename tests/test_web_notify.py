"""Notification destinations through the web API: saved to config.yml (comments kept, the
address in a 0600 file), applied without a restart, never shown again; Send test reaches a
real local endpoint."""

from __future__ import annotations

import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from camwatch.config import load_config
from camwatch.config.writer import referenced_file
from camwatch.web import create_app
from tests.support.netutil import free_port
from tests.support.notify_endpoint import NotifyEndpoint
from tests.support.web import make_context, setup_and_login


@pytest.fixture
def env(tmp_path: Path) -> Iterator[tuple[Any, Any, str, list[Any]]]:
    applied: list[Any] = []
    ctx = make_context(tmp_path, cameras=("front", "back"), applied=applied)
    app = create_app(ctx)
    client = app.test_client()
    csrf = setup_and_login(client)
    yield ctx, client, csrf, applied
    app.extensions["camwatch.accounts"].close()
    ctx.store.close()


@pytest.fixture
def hook() -> Iterator[NotifyEndpoint]:
    with NotifyEndpoint() as endpoint:
        yield endpoint


def _put(client: Any, csrf: str, name: str, body: dict[str, Any]) -> Any:
    return client.put(f"/api/notify/destinations/{name}", json=body, headers={"X-CSRF-Token": csrf})


def test_add_edit_delete_a_destination(env: Any, hook: NotifyEndpoint) -> None:
    ctx, client, csrf, applied = env
    url = hook.apprise_url("/phone-secret-path")
    page = client.get("/notifications")
    assert page.status_code == 200 and b"Add a destination" in page.data and b"leaves this device" in page.data

    response = _put(client, csrf, "phone", {"url": url, "labels": ["person"], "cameras": ["front"],
                                            "attach_snapshot": True, "min_interval": 30})
    assert response.status_code == 200, response.data
    assert response.get_json()["service"] == "JSON (json://…)"
    text = ctx.config_path.read_text(encoding="utf-8")
    assert text.startswith("# camwatch test config\n")  # the user's comment stays
    assert "phone-secret-path" not in text
    config = load_config(ctx.config_path)
    destination = config.notify.destinations["phone"]
    assert destination.url.get_secret_value() == url and destination.attach_snapshot and destination.min_interval == 30
    secret = referenced_file(load_config_raw(ctx.config_path))
    assert secret is not None and secret.parent == ctx.data_dir / "secrets"
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    assert applied[-1].notify.destinations["phone"].labels == ["person"]  # applied without a restart
    listing = client.get("/api/notify")
    assert b"phone-secret-path" not in listing.data
    assert [d["name"] for d in listing.get_json()["destinations"]] == ["phone"]

    # Edit without a new address: the same file stays; with one: a new file, the old one goes.
    assert _put(client, csrf, "phone", {"only_armed": False}).status_code == 200
    assert referenced_file(load_config_raw(ctx.config_path)) == secret and secret.exists()
    assert load_config(ctx.config_path).notify.destinations["phone"].labels == ["person"]
    assert _put(client, csrf, "phone", {"url": hook.apprise_url("/other")}).status_code == 200
    newer = referenced_file(load_config_raw(ctx.config_path))
    assert newer != secret and newer.exists() and not secret.exists()

    assert client.delete("/api/notify/destinations/phone", headers={"X-CSRF-Token": csrf}).status_code == 200
    assert load_config(ctx.config_path).notify.destinations == {}
    assert not newer.exists() and list((ctx.data_dir / "secrets").iterdir()) == []
    assert client.delete("/api/notify/destinations/phone", headers={"X-CSRF-Token": csrf}).status_code == 404


def load_config_raw(path: Path, name: str = "phone") -> str:
    """The destination's url as written in the file (a ${file:...} reference)."""
    return yaml.safe_load(path.read_text(encoding="utf-8"))["notify"]["destinations"][name]["url"]


def test_bad_input_is_refused_and_saves_nothing(env: Any, hook: NotifyEndpoint) -> None:
    ctx, client, csrf, applied = env
    before = ctx.config_path.read_text(encoding="utf-8")
    cases = [
        ("phone", {"url": "nosuchservice://t0ken-value"}, "not a service Apprise knows"),
        ("Phone!", {"url": hook.apprise_url()}, "lower case"),
        ("phone", {"url": hook.apprise_url(), "colour": "red"}, "unknown key"),
        ("phone", {"url": hook.apprise_url(), "min_interval": -5}, "must be >= 0"),
        ("phone", {"url": hook.apprise_url(), "cameras": "front"}, "must be a list"),
    ]
    for name, body, message in cases:
        response = _put(client, csrf, name, body)
        assert response.status_code == 400, (body, response.data)
        assert message in response.get_json()["error"], response.get_json()
        assert b"t0ken-value" not in response.data
    missing = _put(client, csrf, "phone", {"labels": ["person"]})  # nothing to change, nothing to create
    assert missing.status_code == 404 and "needs its Apprise URL" in missing.get_json()["error"]
    assert ctx.config_path.read_text(encoding="utf-8") == before and applied == []
    assert not (ctx.data_dir / "secrets").exists() or list((ctx.data_dir / "secrets").iterdir()) == []
    # Without the CSRF token a cookie session cannot change anything.
    assert client.put("/api/notify/destinations/phone", json={"url": hook.apprise_url()}).status_code == 403


def test_send_test_reaches_the_endpoint_or_says_why(env: Any, hook: NotifyEndpoint) -> None:
    _ctx, client, csrf, _applied = env
    headers = {"X-CSRF-Token": csrf}
    answer = client.post("/api/notify/test", json={"url": hook.apprise_url("/typed")}, headers=headers).get_json()
    assert answer == {"ok": True, "error": None, "service": "JSON (json://…)"}
    assert hook.wait_for(1, path="/typed")[0].title == "camwatch test notification"
    assert _put(client, csrf, "phone", {"url": hook.apprise_url("/saved")}).status_code == 200
    assert client.post("/api/notify/test", json={"name": "phone"}, headers=headers).get_json()["ok"] is True
    assert "'phone'" in hook.wait_for(1, path="/saved")[0].message
    down = client.post("/api/notify/test", json={"url": f"json://127.0.0.1:{free_port()}/x"}, headers=headers)
    assert down.status_code == 200 and down.get_json()["ok"] is False
    assert "Connection" in down.get_json()["error"]
    assert client.post("/api/notify/test", json={"name": "nobody"}, headers=headers).status_code == 404


def test_routes_are_in_the_openapi_document(env: Any) -> None:
    _ctx, client, _csrf, _applied = env
    spec = client.get("/api/openapi.json").get_json()
    assert {"get"} <= set(spec["paths"]["/api/notify"])
    assert {"put", "delete"} <= set(spec["paths"]["/api/notify/destinations/{name}"])
    assert "requestBody" in spec["paths"]["/api/notify/destinations/{name}"]["put"]
    assert "post" in spec["paths"]["/api/notify/test"]
    assert "text/html" in spec["paths"]["/notifications"]["get"]["responses"]["200"]["content"]
