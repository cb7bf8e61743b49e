"""The Faces and Notifications pages in Debian's Chromium (Playwright), against a real camwatch
that has processed a real clip (faces on, no MQTT), with a local json:// endpoint.

Faces: add a photo, name a face from a recorded event in one click, see the crops, rename,
delete one sample, delete the person. Notifications: add a destination from the page, Send
test arrives at the endpoint, a destination that is down says why, and the next event's
delivery (and failure) shows on the System page. Screenshots go to test-artifacts/screenshots/.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from camwatch.config import load_config
from camwatch.const import TOPIC_EVENT
from camwatch.events.model import EventMessage
from tests.conftest import MEDIA, MODELS, require
from tests.support.browser import PHONE, shot, wait_js
from tests.support.netutil import free_port
from tests.support.notify_endpoint import NotifyEndpoint
from tests.support.web import PASSWORD, run_clips

CLIPS = {"hall": "walking-by.h264"}
PERSON_CROP = re.compile(r"/api/faces/(?!unknown/)[^/]+/\d+\.jpg$")  # an enrolled face, not an event's


@pytest.fixture(scope="module")
def live_app(tmp_path_factory: pytest.TempPathFactory, shared_media: Path, ssd_model: Path) -> Iterator[Any]:
    """One camwatch for the module's two tests: the Notifications page's, then the Faces page's (which
    names the event's face: its next announcement would carry the name)."""
    require((MODELS / "face_detection_short_range.tflite").is_file(), "BlazeFace models in shared/models")
    app = run_clips(tmp_path_factory.mktemp("homeowner"), {cam: shared_media / clip for cam, clip in CLIPS.items()},
                    web_port=free_port(), notify={"retries": 1, "retry_delay": 0.2})
    try:
        _events, faces = app.store.query(camera="hall", has_face=True, limit=1)
        assert faces, "the pipeline recorded no event with a face on walking-by.h264"
        yield app
    finally:
        app.stop()


@pytest.fixture
def hook() -> Iterator[NotifyEndpoint]:
    with NotifyEndpoint() as endpoint:
        yield endpoint


@pytest.fixture(scope="module")
def owner(live_app: Any, browser: Any) -> Any:
    """The owner's logged-in session: the first-run page, then the password (once per camwatch)."""
    base = live_app.web.url
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15000)
    page = context.new_page()
    page.goto(base + "/")
    assert page.url.endswith("/setup")
    page.fill("#password", PASSWORD)
    page.fill("#confirm", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(base + "/")
    state = context.storage_state()
    context.close()
    return state


def _logged_in_page(browser: Any, owner: Any, base: str) -> tuple[Any, Any, list[str]]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, storage_state=owner)
    context.set_default_timeout(15000)
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.on("dialog", lambda dialog: dialog.accept())  # the confirm() before a delete
    page.goto(base + "/")
    assert page.url == base + "/"
    return context, page, problems


def _on_a_phone(browser: Any, context: Any, url: str, ready: str, name: str) -> None:
    """The page on a 390 px wide phone: no sideways scrolling; a screenshot."""
    phone = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True,
                                storage_state=context.storage_state())
    page = phone.new_page()
    page.goto(url)
    page.wait_for_selector(ready)
    widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], f"{url}: {widths[0]} px wide on a {widths[1]} px screen"
    shot(page, name)
    phone.close()


def _people(page: Any) -> dict[str, int]:
    return page.evaluate(
        "Object.fromEntries([...document.querySelectorAll('article.person')].map("
        "a => [a.dataset.person, a.querySelectorAll('.crop img').length]))"
    )


def test_notifications_page(live_app: Any, browser: Any, owner: Any, hook: NotifyEndpoint) -> None:
    app = live_app
    base = app.web.url
    context, page, problems = _logged_in_page(browser, owner, base)

    page.goto(base + "/notifications")
    page.wait_for_selector("#choice-labels input[value=person]")
    assert page.locator("#attach-warning").is_visible()
    page.fill("#dest-name", "phone")
    page.fill("#dest-url", hook.apprise_url("/phone"))
    page.check("#choice-labels input[value=person]")
    page.fill("#dest-interval", "0")
    page.click("#dest-save")
    page.wait_for_selector("article.destination[data-name=phone]")
    assert "Saved phone" in page.locator("#form-result").inner_text()
    config = load_config(app.config_path)
    assert config.notify.destinations["phone"].labels == ["person"]
    assert "/phone" not in app.config_path.read_text(encoding="utf-8")  # the address is in a 0600 file

    # Send test from the card: it arrives at the endpoint.
    card = page.locator("article.destination[data-name=phone]")
    card.locator("button[data-action=test]").click()
    wait_js(page, "document.querySelector('article[data-name=phone] [data-field=result]').textContent.startsWith('Sent')")
    assert hook.wait_for(1, path="/phone")[0].title == "camwatch test notification"
    shot(page, "notifications")

    # A destination that is down: its test says why.
    page.fill("#dest-name", "down")
    page.fill("#dest-url", f"json://127.0.0.1:{free_port()}/nobody")
    page.click("#dest-save")
    page.wait_for_selector("article.destination[data-name=down]")
    page.locator("article.destination[data-name=down] button[data-action=test]").click()
    wait_js(page, "document.querySelector('article[data-name=down] [data-field=result]').textContent.startsWith('Not delivered')")
    assert "Connection" in page.locator("article[data-name=down] [data-field=result]").inner_text()
    shot(page, "notifications-down")
    _on_a_phone(browser, context, base + "/notifications", "article.destination[data-name=down]", "phone-notifications")

    # The next event (one the pipeline recorded, announced again): delivered to phone, failed for down.
    events, _total = app.store.query(camera="hall", label="person", limit=1)
    app.bus.publish(TOPIC_EVENT, EventMessage("new", events[0]))
    assert app.bus.flush(10) and app.notifications.wait_idle(30)
    assert hook.wait_for(2, path="/phone")[1].title == "Person at hall"
    page.goto(base + "/system")
    phone = page.locator("#notifications tr[data-destination=phone]")
    down = page.locator("#notifications tr[data-destination=down]")
    assert "working" in phone.inner_text()
    assert "failing" in down.inner_text() and "Connection" in down.inner_text()
    assert "down: not delivered after 2 attempt(s)" in page.locator("ul.errors").inner_text()
    assert "nobody" not in page.content()  # the address never shows
    shot(page, "system-notifications")

    # Delete from the page: gone from the config and from the sink.
    page.goto(base + "/notifications")
    page.locator("article.destination[data-name=down] button[data-action=delete]").click()
    wait_js(page, "!document.querySelector('article.destination[data-name=down]')")
    assert "down" not in load_config(app.config_path).notify.destinations
    assert "down" not in app.state.notify
    assert not problems, problems
    context.close()


def test_faces_page(live_app: Any, browser: Any, owner: Any) -> None:
    app = live_app
    base = app.web.url
    context, page, problems = _logged_in_page(browser, owner, base)

    page.goto(base + "/faces")
    page.wait_for_selector("#unknown-faces article.unknown-face")
    assert page.locator("#no-people").is_visible()
    unnamed = page.locator("#unknown-faces article.unknown-face").count()
    shot(page, "faces-empty")

    # A photo from the phone: Grace is enrolled with one crop.
    page.fill("#upload-name", "Grace")
    page.set_input_files("#upload-file", str(MEDIA / "grace_hopper.bmp"))
    page.click("#upload-send")
    page.wait_for_selector("article.person[data-person=Grace]")
    assert _people(page) == {"Grace": 1}

    # "Who is this?" on a recorded event's face: one click on Grace's name.
    first = page.locator("#unknown-faces article.unknown-face").first
    event_id = first.get_attribute("data-event")
    first.locator("button[data-enrol=Grace]").click()
    wait_js(page, "document.querySelectorAll('article.person[data-person=Grace] .crop img').length === 2")
    # the list of unnamed faces is drawn again after the enrolment answers: wait for it
    wait_js(page, f"!document.querySelector(\"#unknown-faces article[data-event='{event_id}']\")")
    assert page.locator("#unknown-faces article.unknown-face").count() == unnamed - 1
    sources = [s.source for s in app.services.faces.gallery.samples("Grace")]
    assert sources == ["upload:grace_hopper.bmp", f"event:{event_id}"]
    wait_js(page, "[...document.querySelectorAll('.crop img')].every(i => i.complete && i.naturalWidth > 0)")
    shot(page, "faces-enrolled")
    _on_a_phone(browser, context, base + "/faces", "article.person .crop img", "phone-faces")

    # Rename.
    card = page.locator("article.person[data-person=Grace]")
    card.locator("[data-field=new-name]").fill("Grace Hopper")
    card.locator("button[data-action=rename]").click()
    page.wait_for_selector("article.person[data-person='Grace Hopper']")
    assert _people(page) == {"Grace Hopper": 2}

    # Delete one sample: the crop and its embedding go.
    card = page.locator("article.person[data-person='Grace Hopper']")
    card.locator(".crop button[data-action=delete-sample]").first.click()
    wait_js(page, "document.querySelectorAll('article.person .crop img').length === 1")
    assert [s.source for s in app.services.faces.gallery.samples("Grace Hopper")] == [f"event:{event_id}"]
    shot(page, "faces-one-sample")

    # The event page says whose face it is (the name given on the Faces page) and offers the
    # known people to correct it.
    page.goto(f"{base}/events/{event_id}")
    page.wait_for_selector("#face-correct:not([hidden])")
    assert page.locator("#face-name").inner_text() == "Grace"
    page.click("#face-correct")
    page.wait_for_selector("#face-choices button[data-name='Grace Hopper']")
    shot(page, "event-who-is-this")

    # Delete the person while their crops are still on the way (held back here, as a slow board or
    # a full-page screenshot would): the page stops those loads, so none comes back 404 afterwards.
    held: list[Any] = []
    page.route(PERSON_CROP, lambda route: held.append(route))
    page.goto(base + "/faces")
    page.wait_for_selector("article.person")
    wait_js(page, "document.querySelectorAll('article.person .crop img').length === 1")
    for _ in range(200):
        if held:
            break
        page.wait_for_timeout(50)  # lets Playwright hand over the held request
    assert held, "the page never asked for the crop"
    page.locator("article.person button[data-action=delete-person]").click()
    page.wait_for_selector("#no-people:not([hidden])")
    assert app.services.faces.gallery.people() == []
    for route in held:
        with contextlib.suppress(Exception):  # a load the page stopped can no longer be continued
            route.continue_()
    page.unroute(PERSON_CROP)
    page.evaluate("fetch('/api/faces').then(r => r.json())")  # one more round trip after the released loads
    assert not problems, problems
    context.close()
