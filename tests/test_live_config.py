"""Config changes at run time, through the same paths the web UI uses, on real clips.

A zone drawn in the zone editor while a camera runs must behave from then on as if it had
been configured from the start: zone entry, loitering, the zone on snapshots, its Home
Assistant entities over MQTT. The camera set follows a new config too: an added camera
starts, a removed one stops (its stored events stay), a changed one is rebuilt and keeps
what it tracks.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
import yaml

from camwatch.app import Camwatch
from camwatch.config import load_config
from camwatch.const import TOPIC_EVENT
from camwatch.events.model import EventMessage
from tests.conftest import MEDIA, SSD_MODEL, require
from tests.mqtt_support import Subscriber, require_mosquitto
from tests.support.mosquitto import MosquittoBroker
from tests.support.netutil import free_port
from tests.support.web import setup_and_login

PEOPLE_CLIP = MEDIA / "one-by-one-person-detection.mp4"
WALKING_CLIP = MEDIA / "walking-by.h264"  # one man walks through, ~6.5-12.3 s of 18 s
TABLE = [[0.35, 0.55], [0.8, 0.55], [0.8, 1.0], [0.35, 1.0]]  # the floor at the table


@pytest.fixture
def broker() -> Iterator[MosquittoBroker]:
    require_mosquitto()
    with MosquittoBroker() as running:
        yield running


class Recorder:
    """Every event message on the bus, in order."""

    def __init__(self, app: Camwatch) -> None:
        self.messages: list[EventMessage] = []
        self._lock = threading.Lock()
        app.bus.subscribe("test-recorder", self._handle, {TOPIC_EVENT}, maxsize=100000)

    def _handle(self, _topic: str, message: Any) -> None:
        with self._lock:
            self.messages.append(message)

    def wait(self, check: Any, timeout: float, what: str) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                found = check(list(self.messages))
            if found:
                return found
            time.sleep(0.05)
        raise AssertionError(f"timed out waiting for {what}")

    def ended(self, kind: str = "object") -> list[Any]:
        return [m.event for m in self.messages if m.type == "end" and m.event.kind == kind]


def write_config(path: Path, data_dir: Path, cameras: dict[str, Any], **extra: Any) -> Path:
    raw = {
        "data_dir": str(data_dir),
        "detector": {"model_path": str(SSD_MODEL)},
        "faces": {"enabled": False},
        "node": {"name": "node1"},
        "cameras": cameras,
        **extra,
    }
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return path


def drawn_at(annotated: np.ndarray, clean: np.ndarray, x: float) -> float:
    """Share of rows (60-95 % of the height) where the annotated snapshot differs from the
    clean one within 2 px of column ``x`` (a share of the width): a line drawn there."""
    h, w = clean.shape[:2]
    col = round(x * w)
    rows = slice(round(0.6 * h), round(0.95 * h))
    diff = np.abs(annotated[rows, col - 2 : col + 3].astype(int) - clean[rows, col - 2 : col + 3].astype(int))
    return float(np.mean((diff.sum(axis=2) > 60).any(axis=1)))


def test_zone_drawn_at_run_time_gives_entry_loitering_overlay_and_entities(tmp_path: Path, broker) -> None:
    require(PEOPLE_CLIP.is_file() and SSD_MODEL.is_file(), "people clip and SSD model")
    port = free_port()
    config_path = write_config(
        tmp_path / "config.yml", tmp_path / "data",
        {"room": {"url": str(PEOPLE_CLIP), "source": {"realtime": False}, "objects": {"track": ["person"]}}},
        web={"enabled": True, "host": "127.0.0.1", "port": port},
        mqtt={"enabled": True, "host": "127.0.0.1", "port": broker.port, "reconnect_min": 1, "reconnect_max": 2},
    )  # fmt: skip
    sub = Subscriber(broker.port, ["homeassistant/#", "camwatch/node1/room/#"])
    app = Camwatch(load_config(config_path), config_path=config_path, data_dir=tmp_path / "data",
                   start_time=time.time() - 3600)  # fmt: skip
    recorder = Recorder(app)
    app.start()
    try:
        assert app.web is not None
        client = app.web.app.test_client()
        csrf = setup_and_login(client)
        first = recorder.wait(lambda ms: next((m.event for m in ms if m.type == "new"), None), 120, "visitor 1")
        sub.wait_for(lambda: sub.on("homeassistant/event/camwatch_node1_room/alert/config"), what="discovery")
        assert not [m for m in sub.messages if "zone_table" in m.topic]

        # The zone editor saves the drawn zone (relative coordinates) with loitering after 8 s.
        body = {"zones": {"table": {"coordinates": TABLE, "objects": ["person"], "loitering_time": 8}}}
        saved = client.put("/api/cameras/room/zones", json=body, headers={"X-CSRF-Token": csrf})
        assert saved.status_code == 200, saved.data
        applied_at = app.pipelines["room"].last_ts  # the new pipeline runs from the next frame on
        assert applied_at is not None and applied_at < first.start_time + 40

        assert app.wait(240), "the clip was not processed in time"
        assert app.bus.flush(30)
        people = recorder.ended()
        assert len(people) == 6, [e.start_time - first.start_time for e in people]
        assert first.id in {e.id for e in people}  # the visitor tracked across the change: one event
        loitering = {e.attributes["object_id"]: e for e in recorder.ended("anomaly") if e.subtype == "loitering"}
        later = [e for e in people if e.start_time > applied_at]
        assert len(later) >= 4, [e.start_time - applied_at for e in people]
        for event in later:
            assert event.zones_entered == ["table"], event
            assert event.attributes["zone_dwell"]["table"] > 8, event
            alert = loitering.get(event.id)
            assert alert is not None, f"no loitering for {event.id}"
            assert alert.zones_entered == ["table"] and alert.attributes["dwell"] > 8
            assert alert.start_time > applied_at
            # the zone is drawn on the event's annotated snapshot, not on the clean one
            annotated = cv2.imread(str(app.store.files.path(event.id, "annotated")))
            clean = cv2.imread(str(app.store.files.path(event.id, "clean")))
            assert drawn_at(annotated, clean, TABLE[0][0]) > 0.8, event.id  # the zone's left edge
            assert drawn_at(annotated, clean, 0.2) < 0.2, event.id  # and nothing where no zone is
        assert all(e.start_time > applied_at for e in loitering.values())

        # Home Assistant got the new zone's entities, and its count went up and down.
        for topic in ("homeassistant/switch/camwatch_node1_room/zone_table/config",
                      "homeassistant/sensor/camwatch_node1_room/zone_table_count/config"):
            config = sub.wait_for(lambda t=topic: sub.last(t), what=topic).json()
            assert config["unique_id"].endswith("zone_table") or "zone_table" in config["unique_id"]
        counts = [m.payload for m in sub.on("camwatch/node1/room/zones/table/objects/person")]
        assert b"1" in counts and b"0" in counts, counts
        late = Subscriber(broker.port, ["camwatch/node1/room/zones/table/state"])  # the switch state is retained
        try:
            state = late.wait_for(lambda: late.last("camwatch/node1/room/zones/table/state"), what="zone switch state")
            assert state.payload == b"ON" and state.retain
        finally:
            late.close()
    finally:
        app.stop()
        sub.close()


def test_camera_set_follows_the_config(tmp_path: Path, broker) -> None:
    require(WALKING_CLIP.is_file() and SSD_MODEL.is_file(), "walking clip and SSD model")
    looping = {"url": str(WALKING_CLIP), "source": {"realtime": True, "loop": True}, "objects": {"track": ["person"]},
               "tamper": {"enabled": False}}  # fmt: skip
    mqtt = {"enabled": True, "host": "127.0.0.1", "port": broker.port, "reconnect_min": 1, "reconnect_max": 2}
    config_path = write_config(tmp_path / "config.yml", tmp_path / "data", {"hall": looping, "porch": looping},
                               mqtt=mqtt)  # fmt: skip
    sub = Subscriber(broker.port, ["homeassistant/#"])
    app = Camwatch(load_config(config_path), config_path=config_path, data_dir=tmp_path / "data", with_web=False)
    recorder = Recorder(app)
    app.start()
    try:
        porch_event = recorder.wait(
            lambda ms: next((m.event for m in ms if m.type == "new" and m.event.camera == "porch"), None), 60, "porch"
        )
        sub.wait_for(lambda: sub.last("homeassistant/switch/camwatch_node1_porch/detect/config"), what="porch entities")
        hall_worker, hall_tracker = app.workers["hall"], app.pipelines["hall"].tracker

        # porch removed, yard added, hall given a zone over the whole view
        hall = {**looping, "zones": {"floor": {"coordinates": [[0, 0], [1, 0], [1, 1], [0, 1]]}}}
        write_config(config_path, tmp_path / "data", {"hall": hall, "yard": looping}, mqtt=mqtt)
        app.apply_config(load_config(config_path))

        assert set(app.workers) == set(app.pipelines) == {"hall", "yard"}
        assert set(app.state.cameras()) == {"hall", "yard"} and app.control.cameras() == ["hall", "yard"]
        assert app.workers["hall"] is hall_worker and app.pipelines["hall"].tracker is hall_tracker
        assert app.workers["hall"].pipeline is app.pipelines["hall"]
        # the removed camera's open event was ended and stays in the store
        assert app.bus.flush(10)
        stored = app.store.get(porch_event.id)
        assert stored is not None and stored.end_reason == "camera removed"
        # the added camera runs, the changed one sees its new zone
        recorder.wait(lambda ms: any(m.event.camera == "yard" and m.type == "new" for m in ms), 60, "yard event")
        recorder.wait(lambda ms: any(m.event.camera == "hall" and "floor" in m.event.zones_entered for m in ms),
                      60, "hall zone entry")  # fmt: skip
        # Home Assistant: porch's entities are removed, yard's and hall's zone appear
        sub.wait_for(lambda: sub.last("homeassistant/switch/camwatch_node1_yard/detect/config"), what="yard entities")
        sub.wait_for(lambda: sub.last("homeassistant/switch/camwatch_node1_hall/zone_floor/config"), what="hall zone")
        removed = sub.wait_for(lambda: (m := sub.last("homeassistant/switch/camwatch_node1_porch/detect/config"))
                               and m.payload == b"" and m, what="porch entity removal")  # fmt: skip
        assert removed.payload == b""
    finally:
        app.stop()
        sub.close()
