"""Naming and correcting a face from the event page, in Debian's Chromium against a real camwatch
that has processed the head-pose clip (two people facing the camera; SSD detector, faces on).

On an event with an unnamed face: "Who is this?" → Joe. Then "Not Joe?" → Robin: the face enrolled
from this event moves from Joe to Robin and the event carries Robin's name. Then "Not Robin?" →
"Nobody I know": the face is dropped and the event says nobody known.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import MEDIA, require
from tests.support.browser import shot
from tests.support.netutil import free_port
from tests.support.web import PASSWORD, run_clips

CLIP = MEDIA / "head-pose-face-detection-female-and-male.gif"


@pytest.fixture
def live_app(tmp_path: Path, ssd_model: Path) -> Iterator[Any]:
    require(importlib.util.find_spec("dlib") is not None, "dlib face recognition (the faces extra)")
    app = run_clips(tmp_path, {"desk": CLIP}, web_port=free_port())
    try:
        yield app
    finally:
        app.stop()


def _answer(page: Any, name: str | None) -> str:
    """Open the choices under the face, answer with a typed name or "Nobody I know"; the result line."""
    page.click("#face-correct")
    if name is None:
        page.click("#face-choices button[data-nobody]")
    else:
        page.fill("#face-new-name", name)
        page.click("#face-choices button[data-new]")
    page.wait_for_selector("#face-result:not([hidden])")
    return page.locator("#face-result").inner_text()


def test_name_then_correct_a_face_from_the_event_page(live_app: Any, browser: Any) -> None:
    app = live_app
    base = app.web.url
    events, _ = app.store.query(camera="desk", has_face=True, limit=10)
    assert events, "no event with a face on the head-pose clip"
    event = events[0]
    gallery = app.services.faces.gallery
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(20000)
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.goto(base + "/")
    page.fill("#password", PASSWORD)
    page.fill("#confirm", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(base + "/")

    page.goto(f"{base}/events/{event.id}")
    page.wait_for_selector("#face-correct:not([hidden])")
    assert page.locator("#face-name").inner_text() == "Nobody known"
    assert page.locator("#face-correct").inner_text() == "Who is this?"
    assert "Added to Joe" in _answer(page, "Joe")
    assert page.locator("#face-name").inner_text() == "Joe"
    enrolled = gallery.samples_from(f"event:{event.id}")
    assert enrolled and [s.id for s in gallery.samples("Joe")] == enrolled

    page.reload()
    page.wait_for_selector("#face-correct:not([hidden])")
    assert page.locator("#face-correct").inner_text() == "Not Joe?"
    assert "this is Robin" in _answer(page, "Robin")
    assert [s.id for s in gallery.samples("Robin")] == enrolled and gallery.samples("Joe") == []
    assert app.store.get(event.id).sub_label == "Robin"
    page.reload()
    page.wait_for_selector("#face-correct:not([hidden])")
    assert page.locator("#face-name").inner_text() == "Robin"
    shot(page, "event-face-corrected")

    assert "nobody known" in _answer(page, None)
    assert gallery.samples("Robin") == [] and app.store.get(event.id).sub_label == "unknown"
    assert page.locator("#face-name").inner_text() == "Nobody known"
    assert not problems, problems
    context.close()
