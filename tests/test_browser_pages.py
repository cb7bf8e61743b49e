"""The homeowner's pages in Debian's Chromium (Playwright), at desktop (1280×800) and phone
(390×844) size, against a real camwatch that has played two real clips through the whole
pipeline: `front_door` ("Front door", a porch zone; six visitors one by one) and `hall`
("Hallway"; a person walking by, face seen), with a notification destination at a local
json:// endpoint.

Every page fits the phone (no sideways scrolling), names the camera by its display name
and never its key, and writes every time in the browser's locale (de-DE here, so a time
the server formatted would show). The event page tells the event's story and switches its
picture between with and without boxes in place. Events not seen yet are marked and
counted; "Mark all seen" clears them. Disarming asks first and says what it switches off.
A test notification counts; messages link to their event once the page's address is set.
Screenshots of every page at phone size: test-artifacts/screenshots/page-*.png.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from camwatch.config import load_config
from camwatch.const import TOPIC_EVENT
from camwatch.events.model import Event, EventMessage
from tests.support.browser import PHONE, SCREENSHOTS, shot, wait_js
from tests.support.netutil import free_port
from tests.support.notify_endpoint import NotifyEndpoint
from tests.support.web import PASSWORD, run_clips

DESKTOP = {"width": 1280, "height": 800}
LOCALE = {"locale": "de-DE", "timezone_id": "Europe/Berlin"}
CLIPS = {"front_door": "one-by-one-person-detection.mp4", "hall": "walking-by.h264"}
NAMES = {"front_door": "Front door", "hall": "Hallway"}
PORCH = [[0.3, 0.0], [0.7, 0.0], [0.7, 1.0], [0.3, 1.0]]
#: toLocaleString() in de-DE: 7.12.2026, 05:16:34; toLocaleTimeString(): 05:16:34.
GERMAN_TIME = re.compile(r"^\d{1,2}\.\d{1,2}\.\d{4}, \d{2}:\d{2}:\d{2}$")
GERMAN_CLOCK = re.compile(r"^\d{2}:\d{2}:\d{2}$")
SERVER_TIME = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}")


@pytest.fixture(scope="module")
def hook() -> Iterator[NotifyEndpoint]:
    with NotifyEndpoint() as endpoint:
        yield endpoint


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, shared_media: Path, ssd_model: Path,
        hook: NotifyEndpoint) -> Iterator[Any]:
    """One camwatch for the module's tests: playing the clips is most of what a test costs."""
    settings = {"front_door": {"name": NAMES["front_door"], "zones": {"porch": {"coordinates": PORCH}}},
                "hall": {"name": NAMES["hall"]}}
    # Cars only: the clips (people) send it nothing, so its first message is the page's test.
    notify = {"retries": 0, "destinations": {"my_phone": {"url": hook.apprise_url("/phone"), "labels": ["car"],
                                                          "min_interval": 0}}}
    app = run_clips(tmp_path_factory.mktemp("pages"), {cam: shared_media / clip for cam, clip in CLIPS.items()},
                    web_port=free_port(), camera_settings=settings, notify=notify)
    try:
        assert app.store.query(camera="front_door", zone="porch", limit=1)[1], "nobody entered the porch"
        assert app.store.query(camera="hall", has_face=True, limit=1)[1], "no face on walking-by.h264"
        total = app.store.query(limit=1)[1]
        assert app.store.review.unseen_count() == total > 1, "the new events are not all unseen"
        yield app
    finally:
        app.stop()


@pytest.fixture
def live(app: Any) -> Any:
    """The module's camwatch as the clips left it: every event unseen again (opening an event's page
    marks it seen). The review test, last in the module, leaves the notification settings changed."""
    events, total = app.store.query(limit=1000)
    assert len(events) == total
    for event in events:
        app.store.review.mark_unseen(event.id)
    return app


@pytest.fixture(scope="module")
def owner(app: Any, browser: Any) -> Any:
    """The owner's logged-in session: the first-run page on a phone, then the password (once per camwatch)."""
    return _set_up(browser, app.web.url)


def _context(browser: Any, size: dict[str, int], state: Any = None) -> Any:
    phone = size == PHONE
    context = browser.new_context(viewport=size, device_scale_factor=2 if phone else 1, is_mobile=phone,
                                  has_touch=phone, storage_state=state, **LOCALE)
    context.set_default_timeout(15000)
    return context


def _watch(page: Any) -> list[str]:
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    return problems


def _fits(page: Any) -> None:
    widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], f"{page.url}: {widths[0]} px wide on a {widths[1]} px screen"


def _times_in_the_browsers_locale(page: Any) -> int:
    """Every <time> is written by the browser (de-DE); no server-formatted time shows."""
    times = page.evaluate(
        "[...document.querySelectorAll('time[data-time]')].map(t => [t.textContent, t.hasAttribute('data-clock'),"
        " t.hasAttribute('data-clock') ? new Date(t.dataset.time * 1000).toLocaleTimeString()"
        " : new Date(t.dataset.time * 1000).toLocaleString()])"
    )
    for text, clock, expected in times:
        assert text == expected and (GERMAN_CLOCK if clock else GERMAN_TIME).match(text), (page.url, text)
    assert not SERVER_TIME.search(page.inner_text("body")), page.url
    return len(times)


def _names_not_keys(page: Any) -> None:
    text = page.inner_text("main")
    for key in NAMES:
        assert key not in text, f"{page.url} shows the key {key!r}"
    assert any(name in text for name in NAMES.values()), f"{page.url} names no camera"


def _set_up(browser: Any, base: str) -> Any:
    """The first-run page on a phone, then the password: a logged-in session to reuse."""
    context = _context(browser, PHONE)
    page = context.new_page()
    page.goto(base + "/")
    assert page.url.endswith("/setup")
    _fits(page)
    shot(page, "page-setup")
    page.fill("#password", PASSWORD)
    page.fill("#confirm", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(base + "/")
    state = context.storage_state()
    context.close()
    return state


def _visit_every_page(context: Any, base: str, event_id: str, size: str) -> list[str]:
    page = context.new_page()
    problems = _watch(page)

    page.goto(base + "/")
    page.wait_for_selector("#live-state.on")
    page.wait_for_selector("article[data-camera=front_door] [data-field=events] a")
    wait_js(page, "[...document.querySelectorAll('[data-field=still]')].every(i => i.naturalWidth > 0)")
    assert page.inner_text("h1") == "Live"  # not "Live live": the connection state is beside it
    assert page.inner_text("#live-state") == "connected"
    recent = page.inner_text("article[data-camera=front_door] [data-field=events] a")
    assert GERMAN_TIME.search(recent.split(" · ")[-1]), recent  # what the script adds: the same format
    _fits(page)
    _names_not_keys(page)
    _times_in_the_browsers_locale(page)
    shot(page, f"page-{size}-live")

    checks = [
        ("events", "/events", "a.event img", True),
        ("event", f"/events/{event_id}", "#story li", True),
        ("zones", "/zones/front_door", "#zone-canvas", True),
        ("cameras", "/cameras", "article.camera-settings", False),  # the key is a setting there
        ("notifications", "/notifications", "article.destination", True),
        ("system", "/system", "#cameras tr[data-camera]", True),
        ("tokens", "/tokens", "#create-token", False),
        ("password", "/account/password", "button[type=submit]", False),
        ("faces", "/faces", "h1", False),
    ]
    for name, path, ready, named in checks:
        page.goto(base + path)
        page.wait_for_selector(ready)
        if name == "notifications":
            wait_js(page, "document.getElementById('link-state').textContent !== '…'")
        if name != "faces":  # the Faces page is another change's
            _fits(page)
        if named:
            _names_not_keys(page)
        _times_in_the_browsers_locale(page)
        shot(page, f"page-{size}-{name}")
    page.close()
    return problems


def test_every_page_fits_a_phone_names_cameras_and_times_alike(live: Any, browser: Any, owner: Any) -> None:
    base = live.web.url
    state = owner
    events, _ = live.store.query(camera="front_door", zone="porch", limit=1)
    problems: list[str] = []
    for size, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
        context = _context(browser, viewport, state)
        problems += _visit_every_page(context, base, events[0].id, size)
        context.close()

    login = _context(browser, PHONE)  # logged out
    page = login.new_page()
    page.goto(base + "/login")
    _fits(page)
    shot(page, "page-phone-login")
    login.close()
    assert not problems, problems


def test_the_event_page_tells_the_story(live: Any, browser: Any, owner: Any) -> None:
    base = live.web.url
    state = owner
    porch, _ = live.store.query(camera="front_door", zone="porch", limit=1)
    face, _ = live.store.query(camera="hall", has_face=True, limit=1)
    for size, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
        context = _context(browser, viewport, state)
        page = context.new_page()
        problems = _watch(page)
        page.goto(f"{base}/events/{porch[0].id}")
        title = page.inner_text("h1")
        assert title.startswith("Person") and "Front door" in title and "front_door" not in title
        body = page.inner_text("main")
        assert "Kind" not in body and "object" not in body and "(unknown)" not in body
        story = page.evaluate("[...document.querySelectorAll('#story li')].map(li => "
                              "[li.dataset.what, li.querySelector('.when').textContent, li.querySelector('.text').textContent])")
        whats = [what for what, _, _ in story]
        assert whats[:2] == ["appeared", "confirmed"] and whats[-1] == "ended", story
        assert "picture" in whats and ["entered", "Entered porch"] in [[w, t] for w, _, t in story], story
        assert all(GERMAN_CLOCK.match(when) for _, when, _ in story), story  # every moment has its time
        assert story[-1][2] == "Left the picture"
        times = [live.store.review.story(porch[0])[i].time for i in range(len(story))]
        assert times == sorted(times), "the moments are in the order they happened"

        # The picture without boxes, in the page: same address, a way back.
        wait_js(page, "document.getElementById('snapshot').complete")
        url = page.url
        page.click("#toggle-boxes")
        wait_js(page, "document.getElementById('snapshot').src.endsWith('?kind=clean')")
        wait_js(page, "document.getElementById('snapshot').complete && document.getElementById('snapshot').naturalWidth > 0")
        assert page.url == url and page.inner_text("#toggle-boxes") == "With boxes"
        shot(page, f"event-{size}-clean")
        page.click("#toggle-boxes")
        wait_js(page, "!document.getElementById('snapshot').src.includes('kind=clean')")

        # The face and its name in plain words, with the place for "this is not …" beside them.
        page.goto(f"{base}/events/{face[0].id}")
        whats = page.evaluate("[...document.querySelectorAll('#story li')].map(li => li.dataset.what)")
        assert "face" in whats, whats
        words = page.inner_text("#face-words")
        assert words in ("seen", "seen, not recognised") or words.startswith("recognised as"), words
        assert page.locator("#event-face img.face").count() == 1
        shot(page, f"event-{size}-face")
        assert not problems, problems
        context.close()


def test_review_disarm_and_notifications(live: Any, browser: Any, owner: Any, hook: NotifyEndpoint) -> None:
    base = live.web.url
    state = owner
    total = live.store.query(limit=1)[1]
    assert live.store.review.unseen_count() == total > 1
    context = _context(browser, PHONE, state)
    page = context.new_page()
    problems = _watch(page)
    page.on("dialog", lambda dialog: dialog.accept())

    # Unseen: counted on the Live page and in the menu, marked in the list.
    page.goto(base + "/")
    assert page.inner_text("#unseen-count") == str(total)
    assert page.inner_text("#nav-unseen") == str(total)
    page.goto(base + "/events")
    assert page.locator("a.event.unseen").count() == min(total, 24)
    first = page.locator("a.event").first.get_attribute("data-event")
    page.locator("a.event").first.click()
    page.wait_for_selector("#story")
    page.goto(base + "/events")
    assert "unseen" not in page.locator(f"a.event[data-event='{first}']").get_attribute("class")
    assert page.locator("a.event.unseen").count() == min(total - 1, 24)
    page.goto(base + "/")
    assert page.inner_text("#unseen-count") == str(total - 1)
    shot(page, "review-live-unseen")
    page.goto(base + "/events")
    page.click("#mark-all-seen")
    page.wait_for_selector(".flash")
    assert page.inner_text(".flash") == f"{total - 1} events marked seen."
    assert page.locator("a.event.unseen").count() == 0 and page.is_disabled("#mark-all-seen")
    assert live.store.review.unseen_count() == 0
    page.goto(base + "/")
    assert page.locator("#all-seen").is_visible() and not page.locator("#unseen-link").is_visible()

    # Disarming asks first, and says what stops and what goes on.
    assert live.control.armed
    page.tap("#arm-switch")
    page.wait_for_selector("#disarm-dialog[open]")
    stops = page.inner_text("#disarm-stops")
    assert "Messages to my_phone" in stops
    assert "still recorded" in page.inner_text("#disarm-goes-on")
    _fits(page)
    page.screenshot(path=str(SCREENSHOTS / "page-phone-disarm.png"))  # the screen as the phone shows it
    page.tap("#disarm-cancel")
    wait_js(page, "!document.getElementById('disarm-dialog').open")
    assert live.control.armed and page.get_attribute("#arm-switch", "aria-checked") == "true"
    page.tap("#arm-switch")
    page.wait_for_selector("#disarm-dialog[open]")
    page.tap("#disarm-confirm")
    wait_js(page, "document.getElementById('arm-switch').getAttribute('aria-checked') === 'false'")
    assert live.control.armed is False
    assert page.locator("#disarmed-note").is_visible() and "my_phone" in page.inner_text("#disarmed-note")
    page.tap("#arm-switch")  # arming needs no question
    wait_js(page, "document.getElementById('arm-switch').getAttribute('aria-checked') === 'true'")
    assert live.control.armed and not page.locator("#disarm-dialog[open]").count()

    # A test message counts like a delivery, on the page and on the System page.
    page.goto(base + "/notifications")
    card = page.locator("article.destination[data-name=my_phone]")
    card.wait_for()
    assert card.locator("[data-field=state]").inner_text() == "nothing sent yet"
    assert "since" in card.locator("[data-field=counters]").inner_text()
    card.locator("button[data-action=test]").click()
    wait_js(page, "(document.querySelector('article[data-name=my_phone] [data-field=result]') || {}).textContent"
                  " === 'Sent: check that it arrived.'")
    assert hook.wait_for(1, path="/phone")[0].title == "camwatch test notification"
    # The page reloads the cards after the test's answer: the new card says it.
    wait_js(page, "document.querySelector('article[data-name=my_phone] [data-field=state]').textContent === 'working'")
    card = page.locator("article.destination[data-name=my_phone]")
    assert card.locator("[data-field=tests]").inner_text().startswith("1 sent")
    page.goto(base + "/system")
    row = page.locator("#notifications tr[data-destination=my_phone]")
    assert row.locator("[data-field=state]").inner_text().endswith("working")
    assert row.locator("[data-field=tests]").inner_text().split()[-1].startswith("(delivered")
    _fits(page)

    # Links in messages: none until the page's address is set, then each message links to its event.
    page.goto(base + "/notifications")
    wait_js(page, "document.getElementById('link-state').textContent.startsWith('Messages carry no link')")
    page.click("#link-here")
    assert page.input_value("#link-url") == base
    page.click("#link-save")
    wait_js(page, "document.getElementById('link-result').textContent.startsWith('Saved')")
    assert load_config(live.config_path).notify.web_url == base
    assert page.inner_text("#link-state").startswith(f"Each message links to its event on {base}")
    events, _ = live.store.query(camera="hall", label="person", limit=1)
    car = Event.from_dict({**events[0].to_dict(), "label": "car"})  # a stored event, as a car for this destination
    live.bus.publish(TOPIC_EVENT, EventMessage("new", car))
    message = hook.wait_for(2, path="/phone")[1]
    assert message.title == "Car at Hallway"
    assert f"{base}/events/{car.id}" in message.message
    shot(page, "page-phone-notifications-link")
    assert not problems, problems
    context.close()
