"""The zones editor's on/off switch and its rule line, in Debian's Chromium (Playwright), against a
real waitress server whose config file and ControlState live in the test's directory.

A zone's switch shows whether the zone is in use (on in the file *and* on its runtime switch,
which Home Assistant sets too); switching it and saving writes ``enabled`` through the config
writer and sets the runtime switch to match, so the page, the file and Home Assistant agree.
Screenshot: test-artifacts/screenshots/zones-switch.png.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import pytest
import yaml

from camwatch.config import load_config
from camwatch.control import ControlState
from camwatch.web import WebContext, WebServer
from tests.support.browser import SCREENSHOTS, wait_js
from tests.support.web import PASSWORD, make_context, set_still, setup_and_login

ZONES = {
    "porch": {"coordinates": [[0.1, 0.5], [0.5, 0.5], [0.5, 0.995], [0.1, 0.995]]},
    "lawn": {"coordinates": [[0.55, 0.5], [0.95, 0.5], [0.95, 0.995], [0.55, 0.995]], "objects": ["person"]},
}


@pytest.fixture
def server(tmp_path: Path, shared_media: Path) -> Iterator[tuple[WebContext, WebServer]]:
    ctx = make_context(tmp_path, cameras=("front",))
    raw = yaml.safe_load(ctx.config_path.read_text(encoding="utf-8"))
    raw["cameras"]["front"]["zones"] = ZONES
    ctx.config_path.write_text("# zones test\n" + yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    ctx.config = load_config(ctx.config_path)
    ctx.control = ControlState(ctx.data_dir / "control.json", {"front": {
        "detect": True, "snapshots": True, "motion": True, "zones": {"porch": True, "lawn": True}}})
    photo = cv2.imread(str(shared_media / "kite_and_cold.jpg"))
    assert photo is not None, "cannot read kite_and_cold.jpg"
    set_still(ctx, "front", photo)
    web = WebServer(ctx, port=0)
    web.start()
    setup_and_login(web.app.test_client())
    try:
        yield ctx, web
    finally:
        web.stop()
        ctx.store.close()


def _switch(zone: str) -> str:
    return f'input[data-zone-switch="{zone}"]'


def _save(page: Any) -> None:
    page.click("#save")
    wait_js(page, "document.getElementById('status').textContent.includes('Saved')")


def test_zone_switches_show_and_save_whether_a_zone_is_in_use(server: tuple[WebContext, WebServer], browser: Any):
    ctx, web = server
    ctx.control.set("front", "zone:lawn", False)  # switched off in Home Assistant
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10000)
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.goto(web.url + "/login")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(web.url + "/")

    page.goto(web.url + "/zones/front")
    page.wait_for_selector(_switch("porch"))
    rule = page.inner_text("#zone-rule")
    assert "where they stand" in rule and "cuts off their feet" in rule
    assert page.is_checked(_switch("porch"))
    assert not page.is_checked(_switch("lawn")), "a zone switched off at run time is shown on"

    # Off here: written in the file, the runtime switch follows, the zone's shape stays.
    page.click(f'label:has({_switch("porch")})')
    assert "Save to apply" in page.inner_text("#status")
    assert page.evaluate("document.querySelector('#shapes li.selected') === null"), "the switch picked the shape"
    _save(page)
    assert load_config(ctx.config_path).cameras["front"].zones["porch"].enabled is False
    assert ctx.control.zone_enabled("front", "porch") is False
    saved = json.loads((ctx.data_dir / "control.json").read_text(encoding="utf-8"))
    assert saved["cameras"]["front"]["zones"]["porch"] is False

    # On again here: the file and the runtime switch say on, also for the one HA had switched off.
    page.click(f'label:has({_switch("lawn")})')
    _save(page)
    config = load_config(ctx.config_path)
    assert config.cameras["front"].zones["lawn"].enabled is True
    assert config.cameras["front"].zones["lawn"].objects == ["person"]  # the rest of the zone kept
    assert ctx.control.zone_enabled("front", "lawn") is True

    page.reload()
    page.wait_for_selector(_switch("porch"))
    assert not page.is_checked(_switch("porch")) and page.is_checked(_switch("lawn"))
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "zones-switch.png"), full_page=True)
    assert not problems, f"browser errors: {problems}"
    context.close()
