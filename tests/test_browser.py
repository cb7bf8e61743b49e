"""The web UI in Debian's Chromium (Playwright), against a real waitress server and real detections.

The store is filled by running the real SSD detector on real clips (two cameras); the flow
is the homeowner's: first-run password, log in, dashboard, filter events, open one, draw and
save a zone, log out. Screenshots go to test-artifacts/screenshots/.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import pytest

from camwatch.config import load_config
from camwatch.web import WebServer
from tests.conftest import ROOT, require
from tests.support.web import PASSWORD, add_event, make_context, set_still

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-quic",
]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
CLIPS = {"room": "one-by-one-person-detection.mp4", "hall": "walking-by.h264"}
FRAMES = 300  # 30 s of the room clip (10 fps), 12 s of the hall clip (25 fps)
STEP = 5


def _detect_clip(ctx: Any, detector: Any, camera: str, clip: Path) -> int:
    """Run the detector on every STEP-th frame; each run of person sightings becomes one event."""
    capture = cv2.VideoCapture(str(clip))
    fps = capture.get(cv2.CAP_PROP_FPS) or 25.0
    t0 = time.time() - 3600
    runs: list[list[tuple[float, Any, Any]]] = []
    gap = 0
    last_frame = last_det = None
    for index in range(FRAMES):
        ok, frame = capture.read()
        if not ok:
            break
        if index % STEP:
            continue
        people = [d for d in detector.detect(frame, 0.5) if d.label == "person"]
        if people:
            best = max(people, key=lambda d: d.score)
            if not runs or gap > 3:
                runs.append([])
            runs[-1].append((t0 + index / fps, frame, best))
            gap = 0
            last_frame, last_det = frame, best
        else:
            gap += 1
    capture.release()
    for run in runs:
        when, frame, det = max(run, key=lambda item: item[2].score)
        add_event(ctx, frame, camera=camera, label="person", score=det.score, box=det.box, start=run[0][0])
    if last_frame is not None:
        set_still(ctx, camera, last_frame, box=last_det.box, label="person", score=last_det.score)
        ctx.state.update_camera(camera, online=True, state="online", processed_fps=5.0, input_fps=fps,
                                frame_size=(last_frame.shape[1], last_frame.shape[0]), counts={"person": 1})
    return len(runs)


@pytest.fixture
def live_server(tmp_path: Path, detector: Any, shared_media: Path) -> Iterator[tuple[WebServer, dict[str, int]]]:
    ctx = make_context(tmp_path, cameras=tuple(CLIPS))
    counts = {cam: _detect_clip(ctx, detector, cam, shared_media / clip) for cam, clip in CLIPS.items()}
    assert all(counts.values()), f"the detector found no person in a clip: {counts}"
    ctx.state.detector = detector.describe()
    server = WebServer(ctx, host="127.0.0.1", port=0)
    server.start()
    yield server, counts
    server.stop()
    ctx.store.close()


@pytest.fixture
def browser() -> Iterator[Any]:
    require(CHROMIUM.exists(), "Chromium at /usr/bin/chromium (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        require(False, "the playwright Python package (pip install playwright)")
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


def _wait_js(page: Any, expression: str, timeout: float = 10.0) -> None:
    """Poll a JS expression (page.wait_for_function would need 'unsafe-eval', which the CSP forbids)."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(f"() => Boolean({expression})"):
        assert time.monotonic() < deadline, f"timed out waiting for {expression}"
        page.wait_for_timeout(100)


def _shot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def test_homeowner_flow(live_server: tuple[WebServer, dict[str, int]], browser: Any) -> None:
    server, counts = live_server
    base = server.url
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10000)
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: problems.append(str(exc)))

    # First visit: no password yet, so the set-password page.
    page.goto(base + "/events")
    assert page.url.endswith("/setup")
    _shot(page, "setup")
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
    _shot(page, "login")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(base + "/system")
    assert page.locator("#detector").inner_text().count("cpu") >= 1
    _shot(page, "system")

    # Dashboard: the camera card shows the detection, live over SSE.
    page.goto(base + "/")
    room = page.locator("article[data-camera=room]")
    page.wait_for_selector("#live-state.on")
    assert room.locator("[data-field=state]").inner_text() == "online"
    assert "person: 1" in room.locator("[data-field=counts]").inner_text()
    _wait_js(page, "document.querySelector('article[data-camera=room] [data-field=still]').naturalWidth > 0")
    page.wait_for_selector("article[data-camera=room] [data-field=events] a")
    assert "person" in room.locator("[data-field=events]").inner_text()
    _shot(page, "dashboard")

    # Events: filter by camera.
    page.goto(base + "/events")
    assert page.locator("a.event").count() == sum(counts.values())
    page.select_option("#f-camera", "hall")
    page.click("#apply-filters")
    page.wait_for_url("**/events?camera=hall*")
    cards = page.locator("a.event")
    assert cards.count() == counts["hall"]
    assert all("hall" in cards.nth(i).inner_text() for i in range(cards.count()))
    _wait_js(page, "[...document.querySelectorAll('a.event img')].every(i => i.complete && i.naturalWidth > 0)")
    _shot(page, "events")

    # Event page: the snapshot loads.
    cards.first.click()
    page.wait_for_url("**/events/*")
    _wait_js(page, "document.getElementById('snapshot').complete")
    assert page.evaluate("document.getElementById('snapshot').naturalWidth") > 0
    assert "person" in page.locator("h1").inner_text()
    _shot(page, "event")

    # Zones editor: draw a zone on the still and save it to the config file.
    page.goto(base + "/zones/room")
    _wait_js(page, "document.getElementById('zone-canvas').width === 768")
    page.fill("#zone-name", "doorway")
    page.click("#new-zone")
    page.locator("#zone-canvas").scroll_into_view_if_needed()
    box = page.locator("#zone-canvas").bounding_box()
    corners = [(0.2, 0.3), (0.5, 0.3), (0.5, 0.9), (0.2, 0.9)]
    for fx, fy in corners:
        page.mouse.click(box["x"] + fx * box["width"], box["y"] + fy * box["height"])
    page.click("#finish")
    page.click("#save")
    _wait_js(page, "document.getElementById('status').textContent.includes('Saved')")
    _shot(page, "zones")
    config = load_config(server.ctx.config_path)
    saved = config.cameras["room"].zones["doorway"].coordinates
    assert len(saved) == 4
    for (x, y), (fx, fy) in zip(saved, corners, strict=True):
        assert abs(x - fx) < 0.01 and abs(y - fy) < 0.01
    assert server.ctx.config.cameras["room"].zones["doorway"]

    # Log out: back to the login page, and pages need a login again.
    page.click("#logout")
    page.wait_for_url("**/login")
    page.goto(base + "/")
    assert "/login" in page.url
    assert not problems, problems
    context.close()
