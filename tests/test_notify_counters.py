"""Notification counters survive a restart, a test message counts, and messages link to their
event — the real sink on a real bus, sending through Apprise to a real HTTP endpoint."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from camwatch.config import parse_config
from camwatch.const import TOPIC_EVENT
from camwatch.events.bus import EventBus
from camwatch.events.model import Event, EventMessage
from camwatch.ids import new_event_id
from camwatch.notify.counters import COUNTERS_FILE, record_test
from camwatch.notify.message import probe_text
from camwatch.notify.sender import send
from camwatch.notify.sink import NotifySink
from camwatch.state import RuntimeState
from tests.support.netutil import free_port
from tests.support.notify_endpoint import NotifyEndpoint

T0 = 1_767_614_400.0


class Run:
    """One camwatch run's notifications: a sink on a bus (a restart is a new Run on the same data dir)."""

    def __init__(self, data_dir: Path, destinations: dict[str, Any], **sections: Any) -> None:
        self.config = parse_config({
            "cameras": {"front": {"url": "/m/front.mp4", "name": "Front door"}},
            "notify": {"destinations": destinations, "retries": 0, "retry_delay": 0.05},
            **sections,
        })
        self.state = RuntimeState(["front"])
        self.sink = NotifySink(self.config, self.state, data_dir / "snapshots", data_dir=data_dir)
        self.bus = EventBus()
        self.bus.subscribe("notify", self.sink.handle, {TOPIC_EVENT})

    def publish(self, *events: Event) -> None:
        for event in events:
            self.bus.publish(TOPIC_EVENT, EventMessage("new", event))
        assert self.bus.flush(10) and self.sink.wait_idle(30)

    def stop(self) -> None:
        self.bus.close()
        self.sink.stop(2)


def person(start: float) -> Event:
    return Event(id=new_event_id(start), camera="front", label="person", start_time=start, score=0.8,
                 top_score=0.86, last_seen=start)


@pytest.fixture
def hook():
    with NotifyEndpoint() as endpoint:
        yield endpoint


def test_counters_continue_after_a_restart(tmp_path: Path, hook: NotifyEndpoint) -> None:
    destinations = {"phone": {"url": hook.apprise_url("/phone"), "min_interval": 0},
                    "down": {"url": f"json://127.0.0.1:{free_port()}/nobody", "min_interval": 0}}
    first = Run(tmp_path, destinations)
    assert first.state.notify["phone"]["state"] == "idle"
    since = first.state.notify["phone"]["since"]
    first.publish(person(T0), person(T0 + 60))
    assert hook.wait_for(2, path="/phone")
    assert first.state.notify["phone"]["sent"] == 2 and first.state.notify["down"]["failed"] == 2
    first.stop()
    kept = json.loads((tmp_path / COUNTERS_FILE).read_text(encoding="utf-8"))
    assert kept["phone"]["sent"] == 2

    second = Run(tmp_path, destinations)  # camwatch restarted
    phone, down = second.state.notify["phone"], second.state.notify["down"]
    assert (phone["sent"], phone["state"], phone["since"]) == (2, "ok", since)
    assert (down["failed"], down["state"]) == (2, "failing") and "Connection" in down["last_error"]
    second.publish(person(T0 + 120))
    assert second.state.notify["phone"]["sent"] == 3
    second.stop()


def test_a_test_message_counts_and_a_removed_destination_forgets(tmp_path: Path, hook: NotifyEndpoint) -> None:
    run = Run(tmp_path, {"phone": {"url": hook.apprise_url("/phone"), "min_interval": 0}})
    assert run.state.notify["phone"]["state"] == "idle"
    result = send(hook.apprise_url("/phone"), probe_text("phone"))
    assert result.ok
    record_test(run.state, tmp_path, "phone", result.ok, result.error)  # what the web page's test does
    shown = run.state.notify["phone"]
    assert (shown["state"], shown["tests"], shown["sent"], shown["last_test_ok"]) == ("ok", 1, 0, True)
    run.publish(person(T0))  # the sending thread keeps the test it did not make
    shown = run.state.notify["phone"]
    assert (shown["tests"], shown["sent"]) == (1, 1)

    record_test(run.state, tmp_path, "phone", False, "error=503")
    assert run.state.notify["phone"]["state"] == "failing" and run.state.notify["phone"]["tests"] == 2

    run.sink.reload(parse_config({"cameras": {"front": {"url": "/m/front.mp4"}}}))  # removed on the page
    assert "phone" not in json.loads((tmp_path / COUNTERS_FILE).read_text(encoding="utf-8"))
    run.stop()


@pytest.mark.parametrize("sections,base", [
    ({"notify_web_url": "http://camwatch.local:5080"}, "http://camwatch.local:5080"),
    ({"mqtt": {"web_url": "http://pi.lan:5080/"}}, "http://pi.lan:5080"),  # the address given for Home Assistant
    ({}, None),
], ids=["notify", "mqtt", "none"])
def test_messages_link_to_their_event(tmp_path: Path, hook: NotifyEndpoint, sections: dict[str, Any],
                                      base: str | None) -> None:
    destinations = {"phone": {"url": hook.apprise_url("/phone"), "min_interval": 0}}
    web_url = sections.pop("notify_web_url", None)
    run = Run(tmp_path, destinations, **sections)
    if web_url:
        run.sink.reload(parse_config({"cameras": {"front": {"url": "/m/front.mp4", "name": "Front door"}},
                                      "notify": {"destinations": destinations, "web_url": web_url}}))
    event = person(T0)
    run.publish(event)
    message = hook.wait_for(1, path="/phone")[0]
    assert message.title == "Person at Front door"
    if base:
        assert message.message.splitlines()[-1] == f"{base}/events/{event.id}"
    else:
        assert "/events/" not in message.message
    run.stop()


def test_an_unreadable_counters_file_counts_from_now(tmp_path: Path, hook: NotifyEndpoint) -> None:
    (tmp_path / COUNTERS_FILE).write_text("{not json", encoding="utf-8")
    run = Run(tmp_path, {"phone": {"url": hook.apprise_url("/phone"), "min_interval": 0}})
    assert run.state.notify["phone"]["sent"] == 0
    run.publish(person(T0))
    assert json.loads((tmp_path / COUNTERS_FILE).read_text(encoding="utf-8"))["phone"]["sent"] == 1
    run.stop()
