"""MQTT end to end: a real clip through the whole Camwatch pipeline to a real Mosquitto.

A paho subscriber checks what an integrator sees: availability, events new/update/end (ids
as in the store), counts, motion, camera status, Home Assistant discovery, snapshots only
where a camera opted in; and that a broker outage (``CAMWATCH_MQTT_OUTAGE`` seconds, 12 by
default: long enough to cover the next visitor's events and several reconnect attempts;
``CAMWATCH_MQTT_OUTAGE=30`` runs the issue's 30 s), with or without a camwatch restart in
between, loses no event and keeps their order.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from camwatch.app import Camwatch
from camwatch.comms.outbox import Outbox
from camwatch.comms.publisher import OUTBOX_FILE
from camwatch.config import CamwatchConfig, parse_config
from camwatch.const import TOPIC_EVENT
from camwatch.events.model import EventMessage
from camwatch.events.store import EventStore
from camwatch.paths import database_path, snapshots_dir
from tests.conftest import MEDIA, SSD_MODEL, require
from tests.mqtt_support import Received, Subscriber, require_mosquitto
from tests.support.mosquitto import MosquittoBroker

OUTAGE_SECONDS = float(os.environ.get("CAMWATCH_MQTT_OUTAGE", "12"))
PEOPLE_CLIP = MEDIA / "one-by-one-person-detection.mp4"  # 10 fps; people at ~6-19 s, 23-45 s, 51-69 s, ...
JPEG_MAGIC = b"\xff\xd8\xff"
SNAPSHOT_HEIGHT = 180
OUTAGE_FPS = 2.0  # the outage tests follow visitors' events (2 detections a second are plenty), not detection
EventKey = tuple[str, str, str]  # (event id, message type, canonical JSON of the whole message)


# ------------------------------------------------------------------ helpers
def _cut(source: Path, target: Path, start: float, seconds: float) -> Path:
    """A frame-exact stretch of ``source`` (re-encoded: a stream copy would snap to a keyframe)."""
    require(source.is_file(), f"clip {source}")
    require(SSD_MODEL.is_file(), f"SSD model {SSD_MODEL}")
    cmd = ["ffmpeg", "-v", "error", "-y", "-ss", str(start), "-i", str(source), "-t", str(seconds), "-an",
           "-c:v", "libx264", "-preset", "ultrafast", "-g", "10", "-pix_fmt", "yuv420p", str(target)]  # fmt: skip
    try:
        subprocess.run(cmd, check=True, capture_output=True, timeout=120)
    except FileNotFoundError:
        require(False, "ffmpeg (apt-get install ffmpeg)")
    return target


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Two stretches of the people clip: 0-50 s (two people) and from 17 s (one leaving, the next
    from 6 s to 28 s in, the one after from 34 s): as long as the outage and the next visitor's
    way out need (30 s for the default outage), at most to 62 s."""
    folder = tmp_path_factory.mktemp("mqtt-e2e-clips")
    return {
        "two_people": _cut(PEOPLE_CLIP, folder / "two_people.mp4", 0, 50),
        "outage": _cut(PEOPLE_CLIP, folder / "outage.mp4", 17, min(45.0, OUTAGE_SECONDS + 18)),
    }


@pytest.fixture
def broker() -> Iterator[MosquittoBroker]:
    """A broker that keeps the subscriber's session and its queued QoS 1 messages across restarts."""
    require_mosquitto()
    running = MosquittoBroker()
    conf = running.conf_path.read_text().replace(
        "persistence false",
        f"persistence true\npersistence_location {running.workdir}/\nmax_queued_messages 100000",
    )
    running.conf_path.write_text(conf)
    running.start()
    yield running
    running.close()


def _config(port: int, cameras: dict[str, Any], **mqtt: Any) -> CamwatchConfig:
    return parse_config({
        "detector": {"model_path": str(SSD_MODEL)},
        "faces": {"enabled": False},
        "web": {"enabled": False},
        "node": {"name": "node1"},
        "mqtt": {"enabled": True, "host": "127.0.0.1", "port": port, "reconnect_min": 1, "reconnect_max": 2,
                 "motion_off_delay": 0.5, "stats_interval": 1, **mqtt},
        "cameras": cameras,
    })  # fmt: skip


def _camera(clip: Path, realtime: bool, snapshot: bool = False, fps: float | None = None) -> dict[str, Any]:
    return {
        "url": str(clip),
        "source": {"realtime": realtime},
        **({"detect": {"fps": fps}} if fps else {}),
        "objects": {"track": ["person"]},
        "zones": {"room": {"coordinates": [[0, 0], [1, 0], [1, 1], [0, 1]], "objects": ["person"]}},
        "mqtt": {"snapshot": snapshot, "snapshot_height": SNAPSHOT_HEIGHT},
    }


class BusRecorder:
    """Every EventMessage in the order the pipeline published it (the order MQTT must keep)."""

    def __init__(self, app: Camwatch) -> None:
        self.keys: list[EventKey] = []
        self.times: list[float] = []
        self._lock = threading.Lock()
        app.bus.subscribe("test-recorder", self._handle, {TOPIC_EVENT}, maxsize=100000)

    def _handle(self, _topic: str, message: Any) -> None:
        if isinstance(message, EventMessage):
            key = _key(json.loads(json.dumps(message.to_dict(), default=str)))
            with self._lock:
                if key not in self.keys:
                    self.keys.append(key)
                    self.times.append(time.monotonic())

    def between(self, start: float, end: float) -> list[EventKey]:
        with self._lock:
            return [k for k, t in zip(self.keys, self.times, strict=True) if start <= t <= end]


def _key(data: dict[str, Any]) -> EventKey:
    return data["event"]["id"], data["type"], json.dumps(data, sort_keys=True)


def _received_events(sub: Subscriber) -> list[EventKey]:
    """Every ``camwatch/events`` message, first copy only (QoS 1 may deliver one twice)."""
    seen: list[EventKey] = []
    for message in sub.on("camwatch/node1/events"):
        key = _key(message.json())
        if key not in seen:
            seen.append(key)
    return seen


def _store_events(data_dir: Path) -> dict[str, Any]:
    store = EventStore(database_path(data_dir), snapshots_dir(data_dir))
    try:
        events, _total = store.query(limit=1000, order="asc")
    finally:
        store.close()
    return {e.id: e for e in events}


def _payloads(sub: Subscriber, topic: str) -> list[bytes]:
    return [m.payload for m in sub.on(topic)]


def _wait_delivered(sub: Subscriber, produced: list[EventKey], timeout: float = 30.0) -> list[EventKey]:
    sub.wait_for(lambda: set(produced) <= set(_received_events(sub)), timeout, f"{len(produced)} event messages")
    return _received_events(sub)


def _assert_lifecycle(keys: list[EventKey], event_ids: set[str]) -> None:
    """Each event: exactly one new first, updates, exactly one end last."""
    for event_id in event_ids:
        types = [t for i, t, _m in keys if i == event_id]
        assert types[0] == "new" and types[-1] == "end", (event_id, types)
        assert types.count("new") == 1 and types.count("end") == 1, (event_id, types)
        assert set(types[1:-1]) <= {"update"}, (event_id, types)


# ------------------------------------------------------------------ results
def test_clip_through_pipeline_publishes_documented_payloads(
    broker: MosquittoBroker, clips: dict[str, Path], data_dir: Path
) -> None:
    """Two cameras play the same real clip; only ``hall`` opted in to snapshots."""
    sub = Subscriber(broker.port, ["camwatch/#", "homeassistant/#"])
    clip = clips["two_people"]
    config = _config(broker.port, {"hall": _camera(clip, False, snapshot=True), "lobby": _camera(clip, False)})
    app = Camwatch(config, data_dir=data_dir, with_web=False)
    recorder = BusRecorder(app)
    app.start()
    try:
        sub.wait_payload("camwatch/node1/available", "online")
        assert app.wait(120), "the clip did not finish"
    finally:
        app.stop()
    sub.wait_payload("camwatch/node1/available", "stopped")

    # events: ids as in the store, new → update → end, in the order the pipeline made them
    stored = _store_events(data_dir)
    by_camera = {cam: {i for i, e in stored.items() if e.camera == cam and e.label == "person"} for cam in ("hall", "lobby")}
    assert all(len(ids) >= 2 for ids in by_camera.values()), f"two people expected per camera: {by_camera}"
    received = _wait_delivered(sub, recorder.keys)
    assert received == recorder.keys
    assert {i for i, _t, _m in received} == set(stored)
    _assert_lifecycle(received, set(stored))
    assert any(t == "update" for _i, t, _m in received)
    for message in sub.on("camwatch/node1/events"):
        data = message.json()
        assert not message.retain and data["type"] in {"new", "update", "end"}
        event = data["event"]
        assert event["camera"] in {"hall", "lobby"} and event["label"] == "person" and event["kind"] == "object"
        assert len(event["box"]) == 4 and event["frame_size"] == [768, 432]
        if data["type"] == "end":
            assert event["end_time"] >= event["start_time"] and event["end_reason"]
            assert event["end_time"] == pytest.approx(stored[event["id"]].end_time, abs=1e-3)
    alerts = [m.json() for m in sub.on("camwatch/node1/hall/alerts")]
    assert {a["event_id"] for a in alerts if a["event_type"] == "person"} == by_camera["hall"]

    for cam in ("hall", "lobby"):
        # counts (retained state): someone was seen, and the room is empty at the end
        objects = [json.loads(p) for p in _payloads(sub, f"camwatch/node1/{cam}/objects")]
        assert {"person": 1} in objects and objects[-1] == {}
        person = _payloads(sub, f"camwatch/node1/{cam}/objects/person")
        assert b"1" in person and person[-1] == b"0"
        zone = _payloads(sub, f"camwatch/node1/{cam}/zones/room/objects/person")
        assert b"1" in zone and zone[-1] == b"0"
        assert _payloads(sub, f"camwatch/node1/{cam}/zones/room/objects/all")[-1] == b"0"
        # motion ON / OFF, camera status, stats
        motion = _payloads(sub, f"camwatch/node1/{cam}/motion")
        assert b"ON" in motion and motion[-1] == b"OFF"
        assert b"online" in _payloads(sub, f"camwatch/node1/{cam}/status")
        stats = sub.last(f"camwatch/node1/{cam}/stats")
        assert stats is not None and stats.json()["fps"] is not None
        assert all(m.retain is False for m in sub.on(f"camwatch/node1/{cam}/alerts"))
    assert set(sub.last("camwatch/node1/stats").json()) >= {"uptime", "cpu_percent", "memory_mb", "cameras", "mqtt"}
    sub.close()

    # retained: a late subscriber sees availability, discovery and the final state at once
    late = Subscriber(broker.port, ["camwatch/#", "homeassistant/#"])
    late.wait_for(lambda: late.last("camwatch/node1/hall/motion"), what="retained state")
    time.sleep(0.5)
    assert all(m.retain for m in late.messages)
    assert late.last("camwatch/node1/available").payload == b"stopped"
    assert late.last("camwatch/node1/hall/objects/person").payload == b"0"
    assert not late.on("camwatch/node1/events"), "events must not be retained"
    configs = {m.topic: m.json() for m in late.messages if m.topic.startswith("homeassistant/")}
    for cam in ("hall", "lobby"):
        mine = {t: c for t, c in configs.items() if f"/camwatch_node1_{cam}/" in t}
        assert f"homeassistant/binary_sensor/camwatch_node1_{cam}/person_occupancy/config" in mine
        assert f"homeassistant/binary_sensor/camwatch_node1_{cam}/motion/config" in mine
        assert f"homeassistant/event/camwatch_node1_{cam}/alert/config" in mine
        assert all(c["unique_id"] and c["device"]["identifiers"] for c in mine.values())
    assert "homeassistant/image/camwatch_node1_hall/snapshot/config" in configs
    assert not any(t.startswith("homeassistant/image/camwatch_node1_lobby/") for t in configs)

    # results only: JPEG bytes appear solely on the opted-in camera's snapshot topics
    everything = [*_all_messages(sub), *late.messages]
    with_jpeg = {m.topic for m in everything if JPEG_MAGIC in m.payload}
    assert with_jpeg == {"camwatch/node1/hall/snapshot", "camwatch/node1/hall/person/snapshot"}
    for topic in with_jpeg:
        image = cv2.imdecode(np.frombuffer(late.last(topic).payload, np.uint8), cv2.IMREAD_COLOR)
        assert image is not None and image.shape[0] == SNAPSHOT_HEIGHT and 10 < image.shape[1] < 768
    late.close()


def _all_messages(sub: Subscriber) -> list[Received]:
    return list(sub.messages)


# ------------------------------------------------------------------ outages
@pytest.mark.slow
def test_broker_outage_during_real_time_clip_loses_nothing(
    broker: MosquittoBroker, clips: dict[str, Path], data_dir: Path
) -> None:
    sub = Subscriber(broker.port, ["camwatch/node1/events", "camwatch/node1/available"], persistent=True)
    config = _config(broker.port, {"hall": _camera(clips["outage"], True, fps=OUTAGE_FPS)})
    app = Camwatch(config, data_dir=data_dir, with_web=False)
    recorder = BusRecorder(app)
    app.start()
    try:
        sub.wait_for(lambda: any(t == "new" for _i, t, _m in _received_events(sub)), 30, "the first person's event")
        broker.stop()
        down = time.monotonic()
        time.sleep(OUTAGE_SECONDS)
        during = recorder.between(down, time.monotonic())
        assert app.state.mqtt["connected"] is False
        assert len(app.mqtt.outbox) >= len(during) >= 1, "the outage must cover events"
        broker.start()
        assert app.wait(90), "the clip did not finish"
    finally:
        app.stop()
    stored = _store_events(data_dir)
    assert len(stored) >= 2
    received = _wait_delivered(sub, recorder.keys)
    assert received == recorder.keys, "every event message, in the order produced"
    assert {i for i, _t, _m in received} == set(stored)
    _assert_lifecycle(received, set(stored))
    sub.wait_payload("camwatch/node1/available", "stopped")
    sub.close()


@pytest.mark.slow
def test_outage_with_camwatch_restart_delivers_first_run_events(
    broker: MosquittoBroker, clips: dict[str, Path], data_dir: Path
) -> None:
    sub = Subscriber(broker.port, ["camwatch/node1/events", "camwatch/node1/available"], persistent=True)
    config = _config(broker.port, {"hall": _camera(clips["outage"], True, fps=OUTAGE_FPS)})
    first = Camwatch(config, data_dir=data_dir, with_web=False)
    first_run = BusRecorder(first)
    first.start()
    try:
        sub.wait_for(lambda: any(t == "new" for _i, t, _m in _received_events(sub)), 30, "the first person's event")
        broker.stop()
        down = time.monotonic()
        time.sleep(OUTAGE_SECONDS / 2)
    finally:
        first.stop()  # camwatch stops while the broker is away: the outbox keeps the rest
    outbox = Outbox(data_dir / OUTBOX_FILE)
    assert len(outbox) >= len(first_run.between(down, time.monotonic())) >= 1
    outbox.close()

    second = Camwatch(config, data_dir=data_dir, with_web=False)
    second_run = BusRecorder(second)
    second.start()
    try:
        time.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - down)))
        broker.start()
        sub.wait_payload("camwatch/node1/available", "online", timeout=15)
        _wait_delivered(sub, first_run.keys)
    finally:
        second.stop()
    produced = first_run.keys + second_run.keys
    received = _wait_delivered(sub, produced)
    assert received == produced, "the first run's events arrive first, all of them, in order"
    stored = _store_events(data_dir)
    assert {i for i, _t, _m in produced} == set(stored)
    _assert_lifecycle(received, set(stored))
    sub.close()
