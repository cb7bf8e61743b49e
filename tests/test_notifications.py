"""Notifications through Apprise: the real sink on a real event bus, sending to a real HTTP
endpoint in this process (Apprise's ``json://`` target). Filters, one message per event,
the rate limit, the snapshot opt-in, retries, failures and a hanging service.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from camwatch.config import ConfigError, masked_dump, parse_config
from camwatch.const import TOPIC_EVENT
from camwatch.events.bus import EventBus
from camwatch.events.model import Event, EventMessage
from camwatch.events.snapshots import SnapshotWriter
from camwatch.ids import new_event_id
from camwatch.notify.sink import NotifySink
from camwatch.state import RuntimeState
from tests.support.netutil import free_port
from tests.support.notify_endpoint import NotifyEndpoint

T0 = 1_767_614_400.0  # 2026-01-05 12:00 UTC


@pytest.fixture
def hook() -> Iterator[NotifyEndpoint]:
    with NotifyEndpoint() as endpoint:
        yield endpoint


class Rig:
    """A sink on a bus with a config of two cameras; ``publish`` sends messages and waits."""

    def __init__(self, tmp: Path, destinations: dict[str, Any], **notify: Any) -> None:
        raw = {
            "cameras": {"front": {"url": "/m/front.mp4", "name": "Front door"}, "back": {"url": "/m/back.mp4"}},
            "notify": {"destinations": destinations, "retry_delay": 0.05, **notify},
        }
        self.config = parse_config(raw)
        self.state = RuntimeState(["front", "back"])
        self.snapshots = tmp / "snapshots"
        self.sink = NotifySink(self.config, self.state, self.snapshots)
        self.bus = EventBus()
        self.bus.subscribe("notify", self.sink.handle, {TOPIC_EVENT})

    def publish(self, *messages: EventMessage, wait: bool = True) -> None:
        for message in messages:
            self.bus.publish(TOPIC_EVENT, message)
        assert self.bus.flush(10)
        if wait:
            assert self.sink.wait_idle(30), "the sink did not finish sending"

    def close(self) -> None:
        self.bus.close()
        self.sink.stop(2)


@pytest.fixture
def rigs(tmp_path: Path) -> Iterator[Any]:
    made: list[Rig] = []

    def make(destinations: dict[str, Any], **notify: Any) -> Rig:
        rig = Rig(tmp_path, destinations, **notify)
        made.append(rig)
        return rig

    yield make
    for rig in made:
        rig.close()


def event(camera: str = "front", label: str = "person", start: float = T0, **fields: Any) -> Event:
    return Event(id=new_event_id(start), camera=camera, label=label, start_time=start, score=0.8, top_score=0.86,
                 last_seen=start, **fields)


def msg(kind: str, ev: Event, **changes: Any) -> EventMessage:
    copy = Event.from_dict({**ev.to_dict(), **changes})
    return EventMessage(kind, copy)


# ----------------------------------------------------------------------------- config
def test_config_checks_the_url_and_never_echoes_it() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config({"cameras": {"a": {"url": "/x"}},
                      "notify": {"destinations": {"phone": {"url": "nosuchservice://tok3n-s3cret/x"}}}})
    text = caught.value.render()
    assert "notify.destinations.phone.url" in text and "not a service Apprise knows" in text
    assert "tok3n-s3cret" not in text
    with pytest.raises(ConfigError, match="unknown key"):
        parse_config({"cameras": {"a": {"url": "/x"}},
                      "notify": {"destinations": {"phone": {"url": "json://h/x", "colour": "red"}}}})
    with pytest.raises(ConfigError, match="lower case"):
        parse_config({"cameras": {"a": {"url": "/x"}}, "notify": {"destinations": {"My Phone": {"url": "json://h/x"}}}})


def test_config_url_from_a_secret_file_is_masked(tmp_path: Path) -> None:
    secret = tmp_path / "phone.url"
    secret.write_text("tgram://123456789:AAbbCCddEE-secret/987654\n")
    config = parse_config({"cameras": {"a": {"url": "/x"}},
                           "notify": {"destinations": {"phone": {"url": f"${{file:{secret}}}"}}}})
    destination = config.notify.destinations["phone"]
    assert destination.url.get_secret_value() == "tgram://123456789:AAbbCCddEE-secret/987654"
    dumped = masked_dump(config)
    assert dumped["notify"]["destinations"]["phone"]["url"] == "***"
    assert "AAbbCCddEE" not in repr(config) and "AAbbCCddEE" not in str(dumped)


# ----------------------------------------------------------------------------- filters
def test_filters_cameras_labels_zones_and_armed(rigs: Any, hook: NotifyEndpoint) -> None:
    rig = rigs({
        "front_people": {"url": hook.apprise_url("/front"), "cameras": ["front"], "labels": ["person"],
                         "min_interval": 0},
        "porch": {"url": hook.apprise_url("/porch"), "zones": ["porch"], "min_interval": 0},
        "always": {"url": hook.apprise_url("/always"), "only_armed": False, "min_interval": 0},
    })
    person_front = event()
    car_front = event(label="car", start=T0 + 1)
    person_back = event(camera="back", start=T0 + 2)
    disarmed = event(start=T0 + 3, alerted=False)
    rig.publish(msg("new", person_front), msg("new", car_front), msg("new", person_back), msg("new", disarmed))
    front = hook.for_path("/front")
    assert [n.title for n in front] == ["Person at Front door"]
    assert "person 86%" in front[0].message
    assert hook.for_path("/porch") == []  # nobody entered the porch yet
    # The disarmed event reaches only the destination that asked for events while disarmed.
    assert len(hook.for_path("/always")) == 4

    # Entering the porch later in the event sends it once to the zone destination.
    rig.publish(msg("update", person_front, zones_entered=["porch"], current_zones=["porch"]),
                msg("update", person_front, zones_entered=["porch"], current_zones=[]),
                msg("end", person_front, zones_entered=["porch"], end_time=T0 + 9))
    porch = hook.for_path("/porch")
    assert len(porch) == 1 and "Zones: porch" in porch[0].message
    assert len(hook.for_path("/front")) == 1 and len(hook.for_path("/always")) == 4  # one message per event


def test_recognised_face_sends_one_follow_up(rigs: Any, hook: NotifyEndpoint) -> None:
    rig = rigs({"phone": {"url": hook.apprise_url("/p"), "min_interval": 0}}, web_url="http://cam.local:5080/")
    ev = event()
    rig.publish(msg("new", ev), msg("update", ev, has_face=True, sub_label="unknown"),
                msg("update", ev, has_face=True, sub_label="Grace", sub_label_score=0.71),
                msg("update", ev, has_face=True, sub_label="Grace", sub_label_score=0.8))
    got = hook.for_path("/p")
    assert [n.title for n in got] == ["Person at Front door", "Grace at Front door"]
    assert got[1].message.endswith(f"http://cam.local:5080/events/{ev.id}")
    # Recognised before the first message: the first message names the person, no follow-up.
    known = event(start=T0 + 5)
    rig.publish(msg("new", known, has_face=True, sub_label="Grace"), msg("end", known, sub_label="Grace"))
    assert [n.title for n in hook.for_path("/p")][2:] == ["Grace at Front door"]


def test_rate_limit_per_camera_on_event_time(rigs: Any, hook: NotifyEndpoint) -> None:
    rig = rigs({"phone": {"url": hook.apprise_url("/p"), "min_interval": 60}})
    starts = [T0, T0 + 10, T0 + 20, T0 + 70]
    front = [event(start=s) for s in starts]
    back = event(camera="back", start=T0 + 15)  # another camera has its own limit
    rig.publish(msg("new", front[0]), msg("new", front[1]), msg("new", back), msg("new", front[2]),
                msg("new", front[3]))
    got = hook.for_path("/p")
    assert [n.title for n in got] == ["Person at Front door", "Person at back", "Person at Front door"]
    assert "2 more events on Front door held back by the rate limit." in got[2].message
    assert "held back" not in got[0].message
    status = rig.state.notify["phone"]
    assert status["sent"] == 3 and status["held_back"] == 2 and status["failed"] == 0


# ----------------------------------------------------------------------------- snapshot
def test_text_only_unless_the_snapshot_is_opted_in(rigs: Any, hook: NotifyEndpoint, tmp_path: Path) -> None:
    rig = rigs({"text": {"url": hook.apprise_url("/text"), "min_interval": 0},
                "photo": {"url": hook.apprise_url("/photo"), "attach_snapshot": True, "min_interval": 0}})
    frame = np.full((240, 320, 3), 90, np.uint8)
    cv2.rectangle(frame, (100, 60), (180, 220), (0, 0, 255), -1)
    ev = event(has_snapshot=True, box=[100, 60, 180, 220])
    assert SnapshotWriter(rig.snapshots).save(ev.id, frame, ev.box, ev.label, 0.86)
    rig.publish(msg("new", ev))
    assert hook.for_path("/text")[0].attachments == []
    attachments = hook.for_path("/photo")[0].attachments
    assert len(attachments) == 1 and attachments[0].mimetype == "image/jpeg"
    image = cv2.imdecode(np.frombuffer(attachments[0].data, np.uint8), cv2.IMREAD_COLOR)
    assert image.shape == frame.shape


# ----------------------------------------------------------------------------- delivery
def test_retries_with_backoff_then_delivered(rigs: Any, hook: NotifyEndpoint) -> None:
    rig = rigs({"phone": {"url": hook.apprise_url("/p"), "min_interval": 0}}, retries=3)
    hook.fail_next(2)
    rig.publish(msg("new", event()))
    assert [status for _path, status in hook.requests] == [503, 503, 200]
    status = rig.state.notify["phone"]
    assert status["sent"] == 1 and status["retries"] == 2 and status["failed"] == 0 and status["state"] == "ok"
    assert "error=503" in status["last_error"]


def test_unreachable_destination_is_reported(rigs: Any) -> None:
    url = f"json://127.0.0.1:{free_port()}/nobody-listens"
    rig = rigs({"down": {"url": url, "min_interval": 0}}, retries=1)
    rig.publish(msg("new", event()))
    status = rig.state.notify["down"]
    assert status["failed"] == 1 and status["sent"] == 0 and status["state"] == "failing"
    assert "Connection" in status["last_error"]
    errors = [e for e in rig.state.errors if e["source"] == "notify"]
    assert len(errors) == 1 and errors[0]["message"].startswith("down: not delivered after 2 attempt(s)")


def test_a_hanging_service_delays_only_itself(rigs: Any, hook: NotifyEndpoint) -> None:
    with NotifyEndpoint() as slow:
        slow.hold.clear()  # accepts the connection, never answers until released
        rig = rigs({
            "slow": {"url": slow.apprise_url("/slow") + "?rto=30", "min_interval": 0},
            "fast": {"url": hook.apprise_url("/fast"), "min_interval": 0},
        })
        events = [event(start=T0 + i) for i in range(4)]
        rig.publish(msg("new", events[0]), wait=False)
        assert slow.wait_started(1), "the slow service never got the first request"
        started = time.monotonic()
        rig.publish(*[msg("new", e) for e in events[1:]], wait=False)  # the bus is not held up
        assert time.monotonic() - started < 5
        assert len(hook.wait_for(4, path="/fast")) == 4  # the other destination is not held up either
        assert slow.received == [] and rig.state.notify["slow"]["queued"] == 4
        slow.hold.set()
        assert rig.sink.wait_idle(30)
        assert len(slow.received) == 4 and rig.state.notify["slow"]["sent"] == 4


def test_a_full_queue_drops_the_oldest(rigs: Any) -> None:
    with NotifyEndpoint() as slow:
        slow.hold.clear()
        rig = rigs({"slow": {"url": slow.apprise_url("/slow") + "?rto=30", "min_interval": 0}}, queue_size=2)
        events = [event(start=T0 + i) for i in range(4)]
        rig.publish(msg("new", events[0]), wait=False)
        assert slow.wait_started(1)
        rig.publish(*[msg("new", e) for e in events[1:]], wait=False)
        # One in flight, two queued: the oldest queued message was dropped and counted.
        assert rig.state.notify["slow"]["dropped"] == 1 and rig.state.notify["slow"]["queued"] == 3
        slow.hold.set()
        assert rig.sink.wait_idle(30)
        clock = [time.strftime("%H:%M:%S", time.localtime(T0 + i)) for i in (0, 2, 3)]
        assert [n.message.split(" · ")[1] for n in slow.received] == clock


def test_reload_adds_changes_and_removes_destinations(rigs: Any, hook: NotifyEndpoint) -> None:
    rig = rigs({"a": {"url": hook.apprise_url("/a"), "min_interval": 0}})
    rig.publish(msg("new", event()))
    raw = {"cameras": {"front": {"url": "/m/front.mp4"}, "back": {"url": "/m/back.mp4"}},
           "notify": {"destinations": {"b": {"url": hook.apprise_url("/b"), "min_interval": 0}}}}
    rig.sink.reload(parse_config(raw))
    assert set(rig.state.notify) == {"b"}
    rig.publish(msg("new", event(start=T0 + 1)))
    assert len(hook.for_path("/a")) == 1 and len(hook.for_path("/b")) == 1
    assert hook.for_path("/b")[0].title == "Person at front"  # the display name went with the new config
