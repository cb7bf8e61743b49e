"""The runtime switches in Debian's Chromium (Playwright): Arm/Disarm in the top bar and the
per-camera detection / snapshots / motion switches on the dashboard, against a real waitress
server whose ControlState persists to control.json in the test's data dir.

The page must show the server's state (after a reload too) and every click must reach the
ControlState and the file on disk. The phone layout (390 px) must not scroll sideways.
Screenshot: test-artifacts/screenshots/controls.png.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import pytest

from camwatch.web import WebContext, WebServer
from tests.support.browser import PHONE, SCREENSHOTS, wait_js
from tests.support.web import PASSWORD, make_context, set_still, setup_and_login

CAMERAS = ("front", "garden")


@pytest.fixture
def server(tmp_path: Path, shared_media: Path) -> Iterator[tuple[WebContext, WebServer]]:
    ctx = make_context(tmp_path, cameras=CAMERAS)
    photo = cv2.imread(str(shared_media / "kite_and_cold.jpg"))
    assert photo is not None, "cannot read kite_and_cold.jpg"
    for camera in CAMERAS:
        set_still(ctx, camera, photo)
    web = WebServer(ctx, port=0)
    web.start()
    setup_and_login(web.app.test_client())  # first-run password through the real form
    try:
        yield ctx, web
    finally:
        web.stop()
        ctx.store.close()


def _wait_until(condition: Any, what: str, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def _saved(ctx: WebContext) -> dict[str, Any]:
    return json.loads((ctx.data_dir / "control.json").read_text(encoding="utf-8"))


ARM = "#arm-switch"


def _switch(camera: str, feature: str) -> str:
    return f'article[data-camera="{camera}"] input[data-switch="{feature}"]'


def test_arm_and_camera_switches_in_the_browser(server: tuple[WebContext, WebServer], browser: Any) -> None:
    ctx, web = server
    context = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True)
    context.set_default_timeout(10000)
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: problems.append(str(exc)))

    page.goto(web.url + "/login")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(web.url + "/")
    wait_js(page, "document.getElementById('live-state').textContent === 'connected'")

    # Armed at start, and every camera switch on.
    assert ctx.control.armed is True
    assert page.get_attribute(ARM, "aria-checked") == "true" and page.inner_text(ARM) == "Armed"
    for camera in CAMERAS:
        for feature in ("detect", "snapshots", "motion"):
            assert page.is_checked(_switch(camera, feature)), f"{camera}.{feature} shown off"

    # Disarm: asked first; then the ControlState and control.json change; the switch says so.
    page.tap(ARM)
    page.wait_for_selector("#disarm-dialog[open]")
    assert ctx.control.armed is True  # nothing changes before the answer
    page.tap("#disarm-confirm")
    wait_js(page, "document.getElementById('arm-switch').getAttribute('aria-checked') === 'false'")
    assert page.inner_text(ARM) == "Disarmed"
    assert ctx.control.armed is False
    assert _saved(ctx)["armed"] is False

    # Detection off on one camera only (tapping the label, as a thumb would).
    page.tap('article[data-camera="garden"] label:has(input[data-switch="detect"])')
    _wait_until(lambda: ctx.control.get("garden", "detect") is False, "garden detection off")
    wait_js(page, f"!document.querySelector('{_switch('garden', 'detect')}').disabled")
    assert _saved(ctx)["cameras"]["garden"]["detect"] is False
    assert ctx.control.get("front", "detect") is True and ctx.control.get("garden", "motion") is True
    assert not page.is_checked(_switch("garden", "detect"))

    # A reload shows the server's state, not the template defaults.
    page.reload()
    page.wait_for_selector(ARM)
    assert page.get_attribute(ARM, "aria-checked") == "false" and page.inner_text(ARM) == "Disarmed"
    assert not page.is_checked(_switch("garden", "detect")) and page.is_checked(_switch("front", "detect"))

    # A change made elsewhere (MQTT, API) reaches the open page over the live stream.
    wait_js(page, "document.getElementById('live-state').textContent === 'connected'")
    ctx.control.set("front", "snapshots", False)
    ctx.control.set(None, "armed", True)
    wait_js(page, f"!document.querySelector('{_switch('front', 'snapshots')}').checked")
    wait_js(page, "document.getElementById('arm-switch').getAttribute('aria-checked') === 'true'")

    # Usable on a phone: no sideways scrolling, switches at least 40 px tall to tap.
    widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], f"the dashboard is {widths[0]} px wide on a {widths[1]} px screen"
    heights = page.evaluate(
        "[document.getElementById('arm-switch'), ...document.querySelectorAll('label.switch')]"
        ".map(e => e.getBoundingClientRect().height)"
    )
    assert min(heights) >= 40, f"switches too small to tap: {heights}"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(SCREENSHOTS / "controls.png"))

    # The System page shows the armed state and the (empty) schedule; its top-bar switch works too.
    page.goto(web.url + "/system")
    assert page.inner_text('[data-field="armed-text"]') == "armed"
    assert "No schedule" in page.inner_text("#schedule")
    page.click(ARM)
    page.click("#disarm-confirm")
    wait_js(page, "document.querySelector('[data-field=\"armed-text\"]').textContent === 'disarmed'")
    assert ctx.control.armed is False and _saved(ctx)["armed"] is False

    assert not problems, f"browser errors: {problems}"
    context.close()
