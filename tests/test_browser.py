"""The web UI in Debian's Chromium (Playwright), against a real camwatch that has processed real clips.

A real Camwatch (SSD detector, tracker, events, faces, store; no MQTT) plays two clips through
the whole pipeline, then keeps running with its web UI on a free loopback port (waitress). The
flow is the homeowner's: first-run password, log in, dashboard, filter events, open one, draw
and save a zone (applied to the running pipeline without a restart), the phone layout, log out.
Screenshots go to test-artifacts/screenshots/.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from camwatch.config import load_config
from tests.support.browser import PHONE, shot, wait_js
from tests.support.netutil import free_port
from tests.support.web import PASSWORD, run_clips

CLIPS = {"room": "one-by-one-person-detection.mp4", "hall": "walking-by.h264"}


@pytest.fixture
def live_app(tmp_path: Path, shared_media: Path, ssd_model: Path) -> Iterator[tuple[Any, dict[str, int]]]:
    """The running app after both clips, and how many events each camera recorded."""
    app = run_clips(tmp_path, {cam: shared_media / clip for cam, clip in CLIPS.items()}, web_port=free_port())
    try:
        counts = {cam: app.store.query(camera=cam, limit=1)[1] for cam in CLIPS}
        people = {cam: app.store.query(camera=cam, label="person", limit=1)[1] for cam in CLIPS}
        assert all(people.values()), f"the pipeline recorded no person event on a clip: {people}"
        assert app.state.still("room") is not None, "the pipeline published no still for room"
        yield app, counts
    finally:
        app.stop()


def _no_horizontal_overflow(page: Any) -> None:
    widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], f"{page.url}: the page is {widths[0]} px wide on a {widths[1]} px screen"


def _phone_layout(browser: Any, logged_in: Any, base: str) -> None:
    """The dashboard and events on a phone (390x844): screenshots, no sideways scrolling."""
    phone = browser.new_context(
        viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True, storage_state=logged_in.storage_state()
    )
    phone.set_default_timeout(10000)
    page = phone.new_page()
    page.goto(base + "/")
    page.wait_for_selector("article[data-camera=room] [data-field=events] a")
    wait_js(page, "document.querySelector('article[data-camera=room] [data-field=still]').naturalWidth > 0")
    _no_horizontal_overflow(page)
    shot(page, "phone-dashboard")
    page.goto(base + "/events")
    wait_js(page, "[...document.querySelectorAll('a.event img')].every(i => i.complete && i.naturalWidth > 0)")
    _no_horizontal_overflow(page)
    shot(page, "phone-events")
    phone.close()


@pytest.mark.slow
def test_homeowner_flow(live_app: tuple[Any, dict[str, int]], browser: Any) -> None:
    app, counts = live_app
    base = app.web.url
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10000)
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: problems.append(str(exc)))

    # First visit: no password yet, so the set-password page.
    page.goto(base + "/events")
    assert page.url.endswith("/setup")
    shot(page, "setup")
    page.fill("#password", PASSWORD)
    page.fill("#confirm", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(base + "/")
    page.click("#logout")
    page.wait_for_url("**/login")

    # An unauthenticated visit lands on the login page; a wrong password is refused.
    page.goto(base + "/system")
    assert "/login" in page.url
    page.fill("#password", "not the password")
    page.click("button[type=submit]")
    assert page.locator(".error").inner_text() == "Wrong password."
    problems.remove("Failed to load resource: the server responded with a status of 401 (UNAUTHORIZED)")
    shot(page, "login")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(base + "/system")
    assert page.locator("#detector").inner_text().count("cpu") >= 1
    shot(page, "system")

    # Dashboard: the card shows the clip's detections and the pipeline's latest annotated still.
    page.goto(base + "/")
    room = page.locator("article[data-camera=room]")
    page.wait_for_selector("#live-state.on")
    assert room.locator("[data-field=state]").inner_text() == "finished"  # the clip has ended
    wait_js(page, "document.querySelector('article[data-camera=room] [data-field=still]').naturalWidth === 768")
    page.wait_for_selector("article[data-camera=room] [data-field=events] a")
    assert "Person" in room.locator("[data-field=events]").inner_text()
    shot(page, "dashboard")
    _phone_layout(browser, context, base)

    # Events: filter by camera.
    page.goto(base + "/events")
    assert page.locator("a.event").count() == sum(counts.values())
    page.select_option("#f-camera", "hall")
    page.click("#apply-filters")
    page.wait_for_url("**/events?camera=hall*")
    cards = page.locator("a.event")
    assert cards.count() == counts["hall"]
    assert all("hall" in cards.nth(i).inner_text() for i in range(cards.count()))
    wait_js(page, "[...document.querySelectorAll('a.event img')].every(i => i.complete && i.naturalWidth > 0)")
    shot(page, "events")

    # Event page: the snapshot loads.
    cards.first.click()
    page.wait_for_url("**/events/*")
    wait_js(page, "document.getElementById('snapshot').complete")
    assert page.evaluate("document.getElementById('snapshot').naturalWidth") > 0
    assert page.locator("h1").inner_text().startswith("Person")
    shot(page, "event")

    # Zones editor: draw a zone on the still and save it to the config file.
    page.goto(base + "/zones/room")
    wait_js(page, "document.getElementById('zone-canvas').width === 768")
    page.fill("#zone-name", "doorway")
    page.click("#new-zone")
    page.locator("#zone-canvas").scroll_into_view_if_needed()
    box = page.locator("#zone-canvas").bounding_box()
    corners = [(0.2, 0.3), (0.5, 0.3), (0.5, 0.9), (0.2, 0.9)]
    for fx, fy in corners:
        page.mouse.click(box["x"] + fx * box["width"], box["y"] + fy * box["height"])
    page.click("#finish")
    page.click("#save")
    wait_js(page, "document.getElementById('status').textContent.includes('Saved')")
    shot(page, "zones")
    config = load_config(app.config_path)
    saved = config.cameras["room"].zones["doorway"].coordinates
    assert len(saved) == 4
    for (x, y), (fx, fy) in zip(saved, corners, strict=True):
        assert abs(x - fx) < 0.01 and abs(y - fy) < 0.01
    # Applied without a restart: the running pipeline tracks the new zone.
    applied = app.pipelines["room"].config.zones["doorway"].coordinates
    assert [tuple(p) for p in applied] == [tuple(p) for p in saved]
    assert "doorway" in app.pipelines["room"].zones.zones  # the pipeline's zone tracker was rebuilt

    # Log out: back to the login page, and pages need a login again.
    page.click("#logout")
    page.wait_for_url("**/login")
    page.goto(base + "/")
    assert "/login" in page.url
    assert not problems, problems
    context.close()
