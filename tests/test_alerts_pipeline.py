"""The alerting stage and the detect/motion switches, through the whole pipeline on a real
clip to the event store and a real Mosquitto.

walking-by.h264: one man crosses the view (~6.5-8 s), is out of view ~3 s and walks back
(~11-12.3 s): one person event. The clip starts on a Monday at noon (local time).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from camwatch.app import Camwatch
from camwatch.config import parse_config
from camwatch.events.model import Event
from tests.conftest import MEDIA, SSD_MODEL, require
from tests.mqtt_support import Subscriber, require_mosquitto
from tests.support.mosquitto import MosquittoBroker

CLIP = MEDIA / "walking-by.h264"
START = datetime(2026, 1, 5, 12, 0).timestamp()  # a Monday noon, local time


@pytest.fixture(scope="module")
def broker() -> Iterator[MosquittoBroker]:
    require_mosquitto()
    with MosquittoBroker() as running:
        yield running


@dataclass
class Run:
    stored: list[Event]  # what the store kept, oldest first
    mqtt_events: list[dict[str, Any]]  # camwatch/events messages
    alerts: list[dict[str, Any]]  # camwatch/hall/alerts messages
    motion: list[bytes]  # camwatch/hall/motion payloads
    frames: int
    detector_calls: int


def run_clip(root: Path, broker: MosquittoBroker, alerts: dict[str, Any], switches: dict[str | None, dict[str, bool]]) -> Run:
    """The clip through a real Camwatch with ``alerts`` config and runtime ``switches``
    (camera, or None for global → feature → value) set before the camera starts."""
    require(CLIP.is_file() and SSD_MODEL.is_file(), "walking-by clip and SSD model")
    config = parse_config({
        "detector": {"model_path": str(SSD_MODEL)},
        "faces": {"enabled": False},
        "web": {"enabled": False},
        "alerts": {"unusual": {"enabled": False}, **alerts},
        "mqtt": {"enabled": True, "host": "127.0.0.1", "port": broker.port, "motion_off_delay": 0},
        "node": {"name": "node1"},
        "cameras": {"hall": {"url": str(CLIP), "source": {"realtime": False}, "objects": {"track": ["person"]}}},
    })  # fmt: skip
    root.mkdir(parents=True)
    sub = Subscriber(broker.port, ["camwatch/#"])
    app = Camwatch(config, data_dir=root, with_web=False, start_time=START)
    for camera, features in switches.items():
        for feature, value in features.items():
            app.control.set(camera, feature, value)  # as the API, the UI and MQTT commands do
    app.start()
    try:
        assert app.wait(120), "the clip was not processed in time"
        assert app.bus.flush(30)
        assert app.mqtt is not None
        sub.wait_for(lambda: len(app.mqtt.outbox) == 0, timeout=20, what="the MQTT outbox drained")  # type: ignore[union-attr]
        stored, _ = app.store.query(order="asc", limit=100)
        time.sleep(0.3)  # the subscriber's last deliveries
        return Run(
            stored=stored,
            mqtt_events=[m.json() for m in sub.on("camwatch/node1/events")],
            alerts=[m.json() for m in sub.on("camwatch/node1/hall/alerts")],
            motion=[m.payload for m in sub.on("camwatch/node1/hall/motion") if not m.retain],  # live, not last run's
            frames=app.workers["hall"].frames_processed,
            detector_calls=app.pipelines["hall"].detector_calls,
        )
    finally:
        app.stop()
        sub.close()


def people(run: Run) -> list[Event]:
    return [e for e in run.stored if e.kind == "object" and e.label == "person"]


def published(run: Run, event: Event) -> list[dict[str, Any]]:
    return [m["event"] for m in run.mqtt_events if m["event"]["id"] == event.id]


def test_armed_person_event_alerts(tmp_path: Path, broker: MosquittoBroker) -> None:
    run = run_clip(tmp_path / "d", broker, {}, {})
    (person,) = people(run)
    assert person.alerted and person.end_time is not None
    assert [e["alerted"] for e in published(run, person)] and all(e["alerted"] for e in published(run, person))
    assert [a["event_type"] for a in run.alerts if a["event_id"] == person.id] == ["person"]


def test_disarmed_event_is_recorded_without_alert(tmp_path: Path, broker: MosquittoBroker) -> None:
    run = run_clip(tmp_path / "d", broker, {}, {None: {"armed": False}})
    (person,) = people(run)
    assert person.alerted is False
    messages = published(run, person)
    assert {m["type"] for m in run.mqtt_events if m["event"]["id"] == person.id} >= {"new", "end"}
    assert messages and not any(m["alerted"] for m in messages)
    assert run.alerts == []


def test_schedule_outside_its_window_silences_person_alerts(tmp_path: Path, broker: MosquittoBroker) -> None:
    night = {"schedules": [{"start": "20:00", "end": "06:00", "labels": ["person"]}]}
    run = run_clip(tmp_path / "d", broker, night, {})
    (person,) = people(run)
    assert person.alerted is False and run.alerts == []
    day = {"schedules": [{"start": "11:00", "end": "13:00", "labels": ["person"]}]}
    run = run_clip(tmp_path / "d2", broker, day, {})
    (person,) = people(run)
    assert person.alerted is True and [a["event_type"] for a in run.alerts] == ["person"]


def test_detect_switched_off_runs_motion_only(tmp_path: Path, broker: MosquittoBroker) -> None:
    run = run_clip(tmp_path / "d", broker, {}, {"hall": {"detect": False}})
    assert run.frames > 80
    assert run.detector_calls == 0
    assert run.stored == [] and run.mqtt_events == [] and run.alerts == []
    assert b"ON" in run.motion  # motion is still seen and reported


def test_motion_switched_off_looks_at_every_whole_frame(tmp_path: Path, broker: MosquittoBroker) -> None:
    run = run_clip(tmp_path / "d", broker, {}, {"hall": {"motion": False}})
    assert run.frames > 80
    assert run.detector_calls == run.frames  # no motion gating: the whole frame, every frame
    assert people(run) and all(e.alerted for e in people(run))  # the man is still seen and alerted on
    assert b"ON" not in run.motion
