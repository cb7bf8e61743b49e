"""The Cameras page in Debian's Chromium with a network camera: the GStreamer RTSP test camera
that wants a login. A wrong password gets its reason, the right one a picture; saved, the
password is in a 0600 file and never on the page; Test from the saved card uses the stored
password; Delete removes the camera. Screenshots: test-artifacts/screenshots/cameras-*.png.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from camwatch.config import load_config
from camwatch.web import WebContext, WebServer
from tests.conftest import require
from tests.support.browser import shot, wait_js
from tests.support.rtsp import RtspServer, rtsp_missing
from tests.support.web import PASSWORD, make_context

USER = "viewer"
CAMERA_PASSWORD = "p@ss:w/rd"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[WebContext, WebServer, list[Any]]]:
    applied: list[Any] = []
    ctx = make_context(tmp_path, cameras=(), applied=applied)
    web = WebServer(ctx, port=0)
    web.start()
    try:
        yield ctx, web, applied
    finally:
        web.stop()
        ctx.store.close()


@pytest.fixture
def camera() -> Iterator[RtspServer]:
    missing = rtsp_missing()
    require(not missing, "GStreamer RTSP test camera: " + "; ".join(missing))
    with RtspServer.live(username=USER, password=CAMERA_PASSWORD) as running:
        yield running


def _test_result(page: Any, selector: str) -> tuple[bool, str]:
    wait_js(page, f"document.querySelector('{selector}').getAttribute('data-ok') !== null", 40)
    ok = page.locator(selector).get_attribute("data-ok") == "1"
    return ok, page.locator(f"{selector} [data-field=message]").inner_text()


def test_a_network_camera_with_a_login(server: Any, camera: RtspServer, browser: Any) -> None:
    ctx, web, applied = server
    base = web.url
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(20000)
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.on("dialog", lambda dialog: dialog.accept())
    page.goto(base + "/setup")
    page.fill("#password", PASSWORD)
    page.fill("#confirm", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(base + "/")

    page.goto(base + "/cameras")
    page.fill("#cam-name", "door")
    page.fill("#cam-display", "Front door")
    page.fill("#cam-url", camera.url)
    page.fill("#cam-user", USER)
    page.fill("#cam-password", "guess")
    page.click("#cam-test")
    ok, message = _test_result(page, "#test-result")
    assert not ok and "wrong password" in message and "RTSP 401" in message and "guess" not in message
    shot(page, "cameras-wrong-password")

    page.evaluate("document.querySelector('#test-result').removeAttribute('data-ok')")
    page.fill("#cam-password", CAMERA_PASSWORD)
    page.click("#cam-test")
    ok, message = _test_result(page, "#test-result")
    assert ok and "640×360" in message and "(measured)" in message, message
    wait_js(page, "document.querySelector('#test-image').naturalWidth === 640")
    shot(page, "cameras-test-picture")

    page.click("#cam-save")
    card = page.locator("article.camera-settings[data-camera=door]")
    card.wait_for()
    assert f"{camera.url} (user {USER})" in card.inner_text()
    assert CAMERA_PASSWORD not in page.content()
    saved = yaml.safe_load(ctx.config_path.read_text())["cameras"]["door"]
    assert saved["url"] == camera.url and saved["username"] == USER and saved["name"] == "Front door"
    assert saved["password"].startswith("${file:") and CAMERA_PASSWORD not in ctx.config_path.read_text()
    assert load_config(ctx.config_path).cameras["door"].password.get_secret_value() == CAMERA_PASSWORD
    assert applied[-1].cameras["door"].username == USER

    # Test from the saved card: the stored password, never sent to the page.
    card.locator("button[data-action=test]").click()
    ok, message = _test_result(page, "article.camera-settings[data-camera=door] [data-field=result]")
    assert ok, message
    shot(page, "cameras-saved")

    # Edit: the form comes back without the password, saving keeps it.
    card.locator("button[data-action=edit]").click()
    assert page.input_value("#cam-password") == "" and page.input_value("#cam-user") == USER
    assert "keep the stored password" in page.get_attribute("#cam-password", "placeholder")
    page.fill("#cam-fps", "3")
    page.click("#cam-save")
    wait_js(page, "document.querySelector('#form-result').textContent.startsWith('Saved door')")
    assert load_config(ctx.config_path).cameras["door"].detect.fps == 3
    assert load_config(ctx.config_path).cameras["door"].password.get_secret_value() == CAMERA_PASSWORD

    page.locator("article.camera-settings[data-camera=door] button[data-action=delete]").click()
    page.wait_for_selector("#no-cameras:not([hidden])")
    assert load_config(ctx.config_path).cameras == {}
    assert list((ctx.data_dir / "secrets").iterdir()) == []
    assert not problems, problems
    context.close()
