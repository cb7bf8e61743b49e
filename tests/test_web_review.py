"""The routes behind the homeowner's review: an event's story, seen / not seen, mark all
seen, the camera's display name in every event, the page address for message links —
with the Flask test client on a real store, and bad input refused with one line."""

from __future__ import annotations

import time
from pathlib import Path

import cv2
import pytest

from camwatch.config import load_config
from camwatch.events.model import Event, EventMessage
from camwatch.web import create_app
from tests.support.web import add_event, make_context, setup_and_login


@pytest.fixture
def env(tmp_path: Path, shared_media: Path):
    ctx = make_context(tmp_path, cameras=("front_door",))
    raw = ctx.config.model_dump()
    raw["cameras"]["front_door"]["name"] = "Front door"
    ctx.config = type(ctx.config).model_validate(raw)
    app = create_app(ctx)
    client = app.test_client()
    csrf = setup_and_login(client)
    frame = cv2.imread(str(shared_media / "kite_and_cold.jpg"))
    now = time.time()
    events = [add_event(ctx, frame, camera="front_door", start=now - 600 + 60 * i) for i in range(3)]
    yield ctx, client, csrf, events
    app.extensions["camwatch.accounts"].close()
    ctx.store.close()


def test_events_say_the_camera_name_and_whether_seen(env) -> None:
    ctx, client, csrf, events = env
    listed = client.get("/api/events").get_json()["events"]
    assert {e["camera_name"] for e in listed} == {"Front door"}
    assert [e["seen"] for e in listed] == [False, False, False]
    assert client.get("/api/events/unseen").get_json() == {"unseen": 3}

    assert client.get(f"/api/events/{events[0].id}").get_json()["seen"] is False  # the API does not mark
    page = client.get(f"/events/{events[0].id}")  # the page does
    assert page.status_code == 200 and b"Front door" in page.data and b"front_door" not in page.data.split(b"<main>")[1]
    assert client.get(f"/api/events/{events[0].id}").get_json()["seen"] is True
    assert client.get("/api/events/unseen").get_json() == {"unseen": 2}

    answer = client.put(f"/api/events/{events[0].id}/seen", json={"seen": False}, headers={"X-CSRF-Token": csrf})
    assert answer.status_code == 200 and answer.get_json()["seen"] is False
    assert client.get("/api/events/unseen").get_json() == {"unseen": 3}


def test_mark_all_seen_up_to_what_was_shown(env) -> None:
    ctx, client, csrf, events = env
    headers = {"X-CSRF-Token": csrf}
    answer = client.post("/api/events/seen", json={"until": events[1].start_time}, headers=headers)
    assert answer.get_json() == {"marked": 2, "unseen": 1}
    page = client.get("/events")
    assert page.data.count(b'class="card event unseen"') == 1 and b"Mark all seen (1)" in page.data
    form = client.post("/events/seen", data={"csrf_token": csrf, "until": ""})  # the page's button: all
    assert form.status_code == 302
    assert b"1 event marked seen." in client.get("/events").data
    assert client.post("/api/events/seen", json={}, headers=headers).get_json() == {"marked": 0, "unseen": 0}


@pytest.mark.parametrize("body", [
    [], {"until": "yesterday"}, {"until": None}, {"until": -1}, {"until": True}, {"until": 1e20}, {"all": True},
])
def test_mark_seen_refuses_bad_bodies(env, body) -> None:
    _ctx, client, csrf, _events = env
    answer = client.post("/api/events/seen", json=body, headers={"X-CSRF-Token": csrf})
    assert answer.status_code == 400 and "error" in answer.get_json()


def test_bad_seen_bodies_and_unknown_events(env) -> None:
    _ctx, client, csrf, events = env
    headers = {"X-CSRF-Token": csrf}
    for body in ({}, {"seen": "yes"}, {"seen": True, "more": 1}):
        assert client.put(f"/api/events/{events[0].id}/seen", json=body, headers=headers).status_code == 400
    assert client.put("/api/events/1.0-nothing/seen", json={"seen": True}, headers=headers).status_code == 404
    assert client.get("/api/events/1.0-nothing/story").status_code == 404
    assert client.post("/events/seen", data={"csrf_token": csrf, "until": "soon"}).status_code == 400


def test_the_story_route(env) -> None:
    ctx, client, _csrf, _events = env
    start = time.time() - 30
    event = Event(id=f"{start:.6f}-0abc", camera="front_door", label="person", start_time=start, last_seen=start + 1)
    ctx.store.handle("event", EventMessage("new", event))
    moved = Event.from_dict({**event.to_dict(), "last_seen": start + 4, "current_zones": ["porch"],
                             "zones_entered": ["porch"]})
    ctx.store.handle("event", EventMessage("update", moved))
    story = client.get(f"/api/events/{event.id}/story").get_json()
    assert story["event_id"] == event.id
    assert [(m["what"], m["time"], m["text"]) for m in story["story"]] == [
        ("appeared", start, "A person appeared"), ("confirmed", start + 1, "Confirmed as a person"),
        ("entered", start + 4, "Entered porch")]


def test_the_page_address_for_message_links(env) -> None:
    ctx, client, csrf, _events = env
    headers = {"X-CSRF-Token": csrf}
    assert client.get("/api/notify").get_json()["link"] == {"web_url": None, "from": None}
    answer = client.put("/api/notify/settings", json={"web_url": "http://192.168.1.40:5080/"}, headers=headers)
    assert answer.get_json() == {"web_url": "http://192.168.1.40:5080", "from": "notify.web_url"}
    assert load_config(ctx.config_path).notify.web_url == "http://192.168.1.40:5080"
    assert "# camwatch test config" in ctx.config_path.read_text(encoding="utf-8")  # the file's comment stays
    for bad in ({"web_url": "ftp://x"}, {"web_url": "http://a b"}, {"url": "http://x"}, {"web_url": 5}):
        assert client.put("/api/notify/settings", json=bad, headers=headers).status_code == 400
    answer = client.put("/api/notify/settings", json={"web_url": None}, headers=headers)
    assert answer.get_json() == {"web_url": None, "from": None}
    assert load_config(ctx.config_path).notify.web_url is None
