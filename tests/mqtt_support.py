"""Helpers for the MQTT tests: a recording subscriber, configs and events built from the dataclass."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from camwatch.config.root import CamwatchConfig
from camwatch.control import ControlState
from camwatch.events.model import Event, EventMessage
from camwatch.ids import new_event_id
from camwatch.state import RuntimeState
from tests.conftest import require
from tests.support.mosquitto import mosquitto_available


def require_mosquitto() -> None:
    require(mosquitto_available(), "mosquitto and mosquitto_passwd (apt install mosquitto mosquitto-clients)")


@dataclass(frozen=True)
class Received:
    topic: str
    payload: bytes
    retain: bool

    def json(self) -> Any:
        return json.loads(self.payload)


class Subscriber:
    """A real MQTT client that records every message it gets (optionally a persistent session)."""

    def __init__(self, port: int, topics: list[str], persistent: bool = False, auth: tuple[str, str] | None = None):
        self.messages: list[Received] = []
        self._lock = threading.Lock()
        self._topics = topics
        self.subscribed = threading.Event()
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"test-sub-{uuid.uuid4().hex[:8]}",
            clean_session=not persistent,
        )
        if auth:
            self.client.username_pw_set(*auth)
        self.client.reconnect_delay_set(0.1, 0.5)
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.on_subscribe = lambda *_a: self.subscribed.set()
        self.client.connect_async("127.0.0.1", port, keepalive=10)
        self.client.loop_start()
        assert self.subscribed.wait(10), "test subscriber could not subscribe"

    def _on_connect(self, client: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if not reason.is_failure:
            client.subscribe([(t, 1) for t in self._topics])

    def _on_message(self, _c: Any, _u: Any, msg: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.messages.append(Received(msg.topic, bytes(msg.payload), bool(msg.retain)))

    def on(self, topic: str) -> list[Received]:
        with self._lock:
            return [m for m in self.messages if m.topic == topic]

    def last(self, topic: str) -> Received | None:
        found = self.on(topic)
        return found[-1] if found else None

    def wait_for(self, check: Callable[[], Any], timeout: float = 10.0, what: str = "condition") -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            result = check()
            if result:
                return result
            time.sleep(0.05)
        raise AssertionError(f"timed out waiting for {what}; got topics {sorted({m.topic for m in self.messages})}")

    def wait_payload(self, topic: str, payload: bytes | str, timeout: float = 10.0) -> Received:
        want = payload.encode() if isinstance(payload, str) else payload
        return self.wait_for(
            lambda: next((m for m in reversed(self.on(topic)) if m.payload == want), None),
            timeout,
            f"{want!r} on {topic}",
        )

    def publish(self, topic: str, payload: bytes | str, retain: bool = False) -> None:
        self.client.publish(topic, payload, qos=1, retain=retain).wait_for_publish(5)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


#: The node name the MQTT tests give camwatch (its topics are ``camwatch/node1/…``).
NODE = "node1"


def make_config(port: int, cameras: dict[str, Any] | None = None, **mqtt: Any) -> CamwatchConfig:
    cameras = cameras or {
        "front": {
            "url": "/dev/null.mp4",
            "objects": {"track": ["person", "car"]},
            "zones": {"porch": {"coordinates": [[0, 0], [100, 0], [100, 100]], "objects": ["person"]}},
            "mqtt": {"snapshot": True, "snapshot_height": 120},
        }
    }
    settings: dict[str, Any] = {"enabled": True, "host": "127.0.0.1", "port": port, "reconnect_min": 1,
                                "reconnect_max": 2, "motion_off_delay": 0.5, **mqtt}  # fmt: skip
    return CamwatchConfig.model_validate({"cameras": cameras, "mqtt": settings, "node": {"name": NODE}})


def make_control(config: CamwatchConfig, data_dir: Path) -> ControlState:
    return ControlState(
        data_dir / "control.json",
        {
            n: {"detect": True, "snapshots": True, "motion": True, "zones": {z: True for z in c.zones}}
            for n, c in config.cameras.items()
        },
    )


def make_state(config: CamwatchConfig) -> RuntimeState:
    return RuntimeState(list(config.cameras))


def person_event(camera: str = "front", label: str = "person", ts: float | None = None, **changes: Any) -> Event:
    ts = time.time() if ts is None else ts
    event = Event(
        id=new_event_id(ts), camera=camera, label=label, start_time=ts, score=0.8, top_score=0.82,
        box=[100.0, 50.0, 220.0, 300.0], frame_size=[640, 480],
    )  # fmt: skip
    for key, value in changes.items():
        setattr(event, key, value)
    return event


def message(kind: str, event: Event) -> EventMessage:
    return EventMessage(kind, Event.from_dict(event.to_dict()))


def ha_available(config: dict[str, Any], last_payload: Callable[[str], bytes | None]) -> bool:
    """Whether Home Assistant shows an MQTT entity as available, by its own rule.

    Each ``availability`` item's last payload goes through its ``value_template`` (Jinja, with
    ``value`` and ``value_json`` as in Home Assistant) and is compared with ``payload_available``
    (default ``online``). ``availability_mode`` ``all`` needs every item available, ``any`` one;
    a topic that never got a message counts as not available (Home Assistant starts there).
    """
    import jinja2

    items = config.get("availability") or []
    if not items:
        return True
    mode = config.get("availability_mode", "latest")
    assert mode in {"all", "any"}, f"ha_available does not model availability_mode {mode!r}"
    results = []
    for item in items:
        payload = last_payload(item["topic"])
        if payload is None:
            results.append(False)
            continue
        value = payload.decode()
        template = item.get("value_template")
        if template:
            try:
                value_json = json.loads(value)
            except ValueError:
                value_json = None
            value = jinja2.Environment().from_string(template).render(value=value, value_json=value_json).strip()
        results.append(value == item.get("payload_available", "online"))
    return all(results) if mode == "all" else any(results)
