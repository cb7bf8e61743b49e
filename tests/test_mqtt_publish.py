"""MqttSink against a real Mosquitto: topic tree payloads, commands, discovery, snapshots."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import pytest

from camwatch.comms.publisher import MqttSink
from camwatch.const import (
    ALERT_TYPES,
    TOPIC_CAMERA_STATE,
    TOPIC_COUNTS,
    TOPIC_EVENT,
    TOPIC_MOTION,
    TOPIC_STATS,
    TOPIC_TAMPER,
)
from camwatch.events.snapshots import snapshot_path
from camwatch.paths import snapshots_dir
from tests.mqtt_support import (
    Subscriber,
    make_config,
    make_control,
    make_state,
    message,
    person_event,
    require_mosquitto,
)
from tests.support.mosquitto import MosquittoBroker

REQUIRED = {  # Home Assistant MQTT docs: required keys per component
    "binary_sensor": {"state_topic"},
    "sensor": {"state_topic"},
    "switch": {"command_topic"},
    "event": {"state_topic", "event_types"},
    "image": {"image_topic"},
}


@pytest.fixture
def broker() -> Iterator[MosquittoBroker]:
    require_mosquitto()
    with MosquittoBroker() as running:
        yield running


@pytest.fixture
def sink_parts(broker: MosquittoBroker, data_dir: Path):
    config = make_config(broker.port)
    state, control = make_state(config), make_control(config, data_dir)
    sinks: list[MqttSink] = []

    def start(cfg=config) -> MqttSink:
        sink = MqttSink(cfg, state, make_control(cfg, data_dir) if cfg is not config else control, data_dir)
        sink.start()
        sinks.append(sink)
        return sink

    yield config, state, control, start
    for sink in sinks:
        if sink._thread is not None and not sink._stop.is_set():
            sink.stop(timeout=2)


def test_topic_tree_payloads(broker: MosquittoBroker, sink_parts, data_dir: Path) -> None:
    _config, _state, _control, start = sink_parts
    sub = Subscriber(broker.port, ["camwatch/#"])
    sink = start()
    sub.wait_payload("camwatch/node1/available", "online")
    assert sub.last("camwatch/node1/front/status").payload == b"offline"

    event = person_event(zones_entered=["porch"], current_zones=["porch"])
    sink.handle(TOPIC_CAMERA_STATE, {"name": "front", "online": True, "state": "online"})
    sink.handle(TOPIC_EVENT, message("new", event))
    sink.handle(TOPIC_MOTION, {"camera": "front", "active": True, "time": 1.0})
    sink.handle(TOPIC_COUNTS, {"camera": "front", "counts": {"person": 2}, "zones": {"porch": {"person": 1}}})
    event.score = 0.9
    sink.handle(TOPIC_EVENT, message("update", event))
    event.end_time, event.end_reason = event.start_time + 5, "gone"
    sink.handle(TOPIC_EVENT, message("end", event))
    sink.handle(TOPIC_MOTION, {"camera": "front", "active": False, "time": 2.0})
    sink.handle(TOPIC_TAMPER, {"camera": "front", "state": "covered", "active": True, "time": 3.0})
    sink.handle(TOPIC_STATS, {"uptime": 5.0, "cpu_percent": 12.0, "memory_mb": 90.0,
                              "detector": {"inference_ms": 31.5},
                              "cameras": {"front": {"online": True, "processed_fps": 4.9, "input_fps": 25.0,
                                                    "skipped_fps": 0.0}}})  # fmt: skip

    sub.wait_for(lambda: len(sub.on("camwatch/node1/events")) == 3, what="3 events")
    events = [m.json() for m in sub.on("camwatch/node1/events")]
    assert [e["type"] for e in events] == ["new", "update", "end"]
    assert {e["event"]["id"] for e in events} == {event.id}
    assert events[2]["event"]["end_reason"] == "gone" and events[1]["event"]["score"] == 0.9
    assert not any(m.retain for m in sub.on("camwatch/node1/events"))

    sub.wait_payload("camwatch/node1/front/status", "online")
    sub.wait_payload("camwatch/node1/front/objects/person", "2")
    sub.wait_payload("camwatch/node1/front/objects/all", "2")
    sub.wait_payload("camwatch/node1/front/zones/porch/objects/person", "1")
    sub.wait_payload("camwatch/node1/front/zones/porch/objects/all", "1")
    assert json.loads(sub.last("camwatch/node1/front/objects").payload) == {"person": 2}
    # Motion ON at once, OFF only after the off delay (0.5 s).
    assert sub.wait_payload("camwatch/node1/front/motion", "ON")
    sub.wait_payload("camwatch/node1/front/motion", "OFF", timeout=5)
    tamper = sub.wait_for(lambda: sub.last("camwatch/node1/front/tamper") if b"true" in sub.last(
        "camwatch/node1/front/tamper").payload else None, what="tamper active").json()
    assert tamper["active"] is True and tamper["states"] == ["covered"]
    stats = sub.wait_for(lambda: sub.last("camwatch/node1/front/stats"), what="camera stats").json()
    assert stats["fps"] == 4.9 and stats["detector_ms"] == 31.5
    # Once the broker acknowledged the three events the outbox is empty, and stats say so.
    sub.wait_for(lambda: len(sink.outbox) == 0, what="the outbox drained")
    sink.handle(TOPIC_STATS, {"uptime": 6.0, "cameras": {}})
    stats_mqtt = sub.wait_for(lambda: next((m.json()["mqtt"] for m in sub.on("camwatch/node1/stats")
                                            if m.json()["uptime"] == 6.0), None), what="second stats")
    assert stats_mqtt == {"outbox": 0, "dropped": 0, "rejected_commands": 0}

    alerts = sub.wait_for(lambda: sub.on("camwatch/node1/front/alerts") if len(sub.on("camwatch/node1/front/alerts")) >= 2
                          else None, what="alerts")  # fmt: skip
    kinds = [a.json()["event_type"] for a in alerts]
    assert kinds == ["person", "zone_entry"], kinds
    assert all(k in ALERT_TYPES for k in kinds)
    assert alerts[1].json()["zone"] == "porch" and alerts[0].json()["event_id"] == event.id

    sink.stop()
    sub.wait_payload("camwatch/node1/available", "stopped")
    assert len(sink.outbox) == 0
    sub.close()


def test_online_once_per_connect_and_a_clean_stop_leaves_no_stale_state(
    broker: MosquittoBroker, sink_parts
) -> None:
    _config, _state, _control, start = sink_parts
    sub = Subscriber(broker.port, ["camwatch/#"])
    sink = start()
    sub.wait_payload("camwatch/node1/available", "online")
    sink.handle(TOPIC_CAMERA_STATE, {"name": "front", "online": True, "state": "online"})
    sink.handle(TOPIC_COUNTS, {"camera": "front", "counts": {"person": 1}, "zones": {"porch": {"person": 1}}})
    sink.handle(TOPIC_MOTION, {"camera": "front", "active": True, "time": 1.0})
    sink.handle(TOPIC_TAMPER, {"camera": "front", "state": "covered", "active": True, "time": 3.0})
    sub.wait_payload("camwatch/node1/front/objects/person", "1")
    sub.wait_payload("camwatch/node1/front/status", "online")
    sub.wait_for(lambda: b"true" in sub.last("camwatch/node1/front/tamper").payload, what="tamper active")

    broker.restart()  # one reconnect: "online" once more, not twice
    def onlines() -> list:
        return [m for m in sub.on("camwatch/node1/available") if m.payload == b"online"]

    sub.wait_for(lambda: len(onlines()) >= 2, timeout=20, what="online after the reconnect")
    time.sleep(1.0)
    assert len(onlines()) == 2, [m.payload for m in sub.on("camwatch/node1/available")]

    sink.stop()
    sub.wait_payload("camwatch/node1/available", "stopped")
    sub.close()
    late = Subscriber(broker.port, ["camwatch/#"])  # what anyone sees while camwatch is stopped
    late.wait_payload("camwatch/node1/available", "stopped")
    late.wait_for(lambda: late.last("camwatch/node1/front/tamper"), what="retained tamper")
    assert late.last("camwatch/node1/front/objects/person").payload == b"0"
    assert late.last("camwatch/node1/front/objects/all").payload == b"0"
    assert late.last("camwatch/node1/front/zones/porch/objects/person").payload == b"0"
    assert json.loads(late.last("camwatch/node1/front/objects").payload) == {}
    assert late.last("camwatch/node1/front/tamper").json()["active"] is False
    assert late.last("camwatch/node1/front/motion").payload == b"OFF"
    assert late.last("camwatch/node1/front/status").payload == b"offline"
    late.close()


def test_disarmed_event_published_without_alert_and_face_alerts(broker: MosquittoBroker, sink_parts) -> None:
    _c, _s, _ctl, start = sink_parts
    sub = Subscriber(broker.port, ["camwatch/#"])
    sink = start()
    quiet = person_event(alerted=False)
    sink.handle(TOPIC_EVENT, message("new", quiet))
    face = person_event()
    sink.handle(TOPIC_EVENT, message("new", face))
    face.has_face, face.face_score = True, 0.9
    sink.handle(TOPIC_EVENT, message("update", face))
    face.sub_label = "alice"
    sink.handle(TOPIC_EVENT, message("update", face))
    anomaly = person_event(label="tamper", kind="anomaly", subtype="covered", severity="high",
                           description="The lens was covered")  # fmt: skip
    sink.handle(TOPIC_EVENT, message("new", anomaly))
    events = sub.wait_for(lambda: sub.on("camwatch/node1/events") if len(sub.on("camwatch/node1/events")) >= 5
                          else None, what="5 events")  # fmt: skip
    # Each once, in order: the sender must not take what it sent on this connection for leftovers.
    assert [(m.json()["type"], m.json()["event"]["id"]) for m in events] == [
        ("new", quiet.id), ("new", face.id), ("update", face.id), ("update", face.id), ("new", anomaly.id)
    ]
    alerts = sub.wait_for(lambda: sub.on("camwatch/node1/front/alerts") if len(sub.on("camwatch/node1/front/alerts")) >= 4
                          else None, what="4 alerts")  # fmt: skip
    got = [(a.json()["event_id"], a.json()["event_type"]) for a in alerts]
    assert got == [(face.id, "person"), (face.id, "face"), (face.id, "known_face"), (anomaly.id, "tamper")]
    assert alerts[2].json()["sub_label"] == "alice"
    assert alerts[3].json()["severity"] == "high"
    assert quiet.id not in {a.json()["event_id"] for a in sub.on("camwatch/node1/front/alerts")}
    assert quiet.id in {m.json()["event"]["id"] for m in sub.on("camwatch/node1/events")}
    sub.close()


def test_snapshot_only_when_opted_in_cropped_and_scaled(
    broker: MosquittoBroker, sink_parts, data_dir: Path, shared_media: Path
) -> None:
    config, _s, _ctl, start = sink_parts
    sub = Subscriber(broker.port, ["camwatch/#"])
    sink = start()
    event = person_event(has_snapshot=True, snapshot_time=1.0, box=[50.0, 40.0, 250.0, 400.0])
    target = snapshot_path(snapshots_dir(data_dir), event.id, "clean")
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(shared_media / "face.jpg", target)  # a real JPEG as the best snapshot
    sink.handle(TOPIC_EVENT, message("new", event))
    got = sub.wait_for(lambda: sub.last("camwatch/node1/front/person/snapshot"), what="snapshot")
    late = Subscriber(broker.port, ["camwatch/node1/front/person/snapshot"])
    assert late.wait_for(lambda: late.on("camwatch/node1/front/person/snapshot"))[0].retain  # kept by the broker
    late.close()
    image = cv2.imdecode(__import__("numpy").frombuffer(got.payload, "uint8"), cv2.IMREAD_COLOR)
    assert image is not None and image.shape[0] == config.cameras["front"].mqtt.snapshot_height
    assert sub.last("camwatch/node1/front/snapshot").payload == got.payload
    sink.stop()
    sub.close()

    # A camera that did not opt in publishes no image bytes at all.
    cfg2 = make_config(broker.port, client_id="no-snap", cameras={"yard": {"url": "/dev/null.mp4"}})
    sub2 = Subscriber(broker.port, ["camwatch/node1/yard/#", "homeassistant/image/#"])
    sink2 = start(cfg2)
    ev2 = person_event(camera="yard", has_snapshot=True, snapshot_time=1.0)
    target2 = snapshot_path(snapshots_dir(data_dir), ev2.id, "clean")
    shutil.copyfile(shared_media / "face.jpg", target2)
    sink2.handle(TOPIC_EVENT, message("new", ev2))
    sub2.wait_for(lambda: sub2.on("camwatch/node1/yard/alerts"), what="yard alert")
    assert not [m for m in sub2.messages if m.topic.endswith("snapshot")]
    assert not [m for m in sub2.messages if m.payload.startswith(b"\xff\xd8")]
    sink2.stop()
    sub2.close()


def test_discovery_payloads_have_required_fields(broker: MosquittoBroker, sink_parts) -> None:
    _c, _s, _ctl, start = sink_parts
    sub = Subscriber(broker.port, ["homeassistant/#", "camwatch/#"])
    start()
    configs = sub.wait_for(
        lambda: {m.topic: m.json() for m in sub.messages if m.topic.startswith("homeassistant/") and m.payload}
        if len({m.topic for m in sub.messages if m.topic.endswith("/config")}) >= 18 else None,
        what="discovery configs",
    )
    components = {topic.split("/")[1] for topic in configs}
    assert {"binary_sensor", "sensor", "switch", "event", "image"} <= components
    unique_ids = [c["unique_id"] for c in configs.values()]
    assert len(unique_ids) == len(set(unique_ids))
    for topic, cfg in configs.items():
        component = topic.split("/")[1]
        missing = REQUIRED[component] - set(cfg)
        assert not missing, f"{topic} lacks {missing}"
        assert cfg["device"]["identifiers"] and cfg["device"]["name"] and cfg["origin"]["name"] == "camwatch"
        assert cfg["availability"][0]["topic"] == "camwatch/node1/available"
    by_key = {t.split("/")[3]: c for t, c in configs.items() if "/switch/" not in t}
    switches = {t.split("/")[3]: c for t, c in configs.items() if "/switch/" in t}
    assert by_key["person_occupancy"]["device_class"] == "occupancy"
    assert by_key["zone_porch_occupancy"]["state_topic"] == "camwatch/node1/front/zones/porch/objects/all"
    assert by_key["motion"]["device_class"] == "motion" and by_key["tamper"]["device_class"] == "tamper"
    assert by_key["connectivity"]["state_topic"] == "camwatch/node1/front/status"
    assert set(by_key["alert"]["event_types"]) == set(ALERT_TYPES)
    assert switches["detect"]["command_topic"] == "camwatch/node1/front/detect/set"
    assert switches["detect"]["state_topic"] == "camwatch/node1/front/detect/state"
    assert by_key["snapshot"]["image_topic"] == "camwatch/node1/front/snapshot"
    assert {"topic": "camwatch/node1/front/status", "payload_available": "online",
            "payload_not_available": "offline"} in by_key["motion"]["availability"]  # fmt: skip
    # What must show a camera cut follows the node alone (a list + mode, as Home Assistant takes it).
    for key in ("alert", "tamper", "connectivity"):
        assert [a["topic"] for a in by_key[key]["availability"]] == ["camwatch/node1/available"], key
        assert by_key[key]["availability_mode"] in {"all", "any", "latest"}
    # Every state topic a config points at has a retained value already (stats come every N s).
    for cfg in configs.values():
        if "state_topic" in cfg and cfg["state_topic"].rsplit("/", 1)[1] not in ("alerts", "stats"):
            sub.wait_for(lambda cfg=cfg: sub.last(cfg["state_topic"]), what=cfg["state_topic"])
    sub.close()


def test_ha_online_republishes_and_removed_camera_is_cleared(broker: MosquittoBroker, sink_parts, data_dir) -> None:
    config, _s, _ctl, start = sink_parts
    sink = start()
    sub = Subscriber(broker.port, ["homeassistant/+/+/+/config"])
    sub.wait_for(lambda: len(sub.messages) >= 18, what="retained discovery")
    before = len(sub.messages)
    sub.publish("homeassistant/status", "online")
    sub.wait_for(lambda: len(sub.messages) >= 2 * before, what="republished discovery")
    sink.stop()

    # The camera "front" disappears from the config: its entities get empty retained configs.
    front_topics = {m.topic for m in sub.messages if "/camwatch_node1_front/" in m.topic}
    assert front_topics
    cfg2 = make_config(broker.port, cameras={"yard": {"url": "/dev/null.mp4"}})
    start(cfg2)
    sub.wait_for(lambda: all(sub.last(t).payload == b"" for t in front_topics), what="front configs cleared")
    sub.close()
    late = Subscriber(broker.port, ["homeassistant/+/+/+/config"])
    late.wait_for(lambda: any("/camwatch_node1_yard/" in m.topic for m in late.messages), what="yard retained")
    assert not any("/camwatch_node1_front/" in m.topic for m in late.messages), "removed camera still retained"
    late.close()


@pytest.mark.parametrize(
    ("topic", "payload", "error"),
    [
        ("camwatch/node1/front/detect/set", b'{"state": ', "bad_json"),
        ("camwatch/node1/front/detect/set", b"42", "wrong_type"),
        ("camwatch/node1/front/detect/set", b'"maybe"', "wrong_type"),
        ("camwatch/node1/front/detect/set", b"ON" + b" " * 400, "oversized"),
        ("camwatch/node1/front/detect/set", b"\xff\xfe", "bad_encoding"),
        ("camwatch/node1/front/laser/set", b"ON", "unknown_feature"),
        ("camwatch/node1/front/zones/garden/set", b"OFF", "unknown_feature"),
        ("camwatch/node1/nocam/detect/set", b"OFF", "unknown_camera"),
        ("camwatch/node1/armed/set", b"[true]", "wrong_type"),
    ],
)
def test_malformed_commands_change_nothing(broker, sink_parts, data_dir, topic, payload, error, caplog) -> None:
    _c, _s, control, start = sink_parts
    start()
    sub = Subscriber(broker.port, ["camwatch/#"])
    sub.wait_payload("camwatch/node1/available", "online")  # the sink has subscribed to commands by then
    before = control.snapshot()
    sub.publish(topic, payload)
    answer = sub.wait_for(lambda: sub.last("camwatch/node1/errors"), what="error answer").json()
    assert answer["error"] == error and answer["topic"] == topic and answer["message"]
    assert control.snapshot() == before
    assert json.loads((data_dir / "control.json").read_text()) == before if (data_dir / "control.json").exists() else True
    # The sink still works after the bad command.
    sub.publish("camwatch/node1/front/detect/set", "OFF")
    sub.wait_payload("camwatch/node1/front/detect/state", "OFF")
    assert control.get("front", "detect") is False
    assert sum("rejected MQTT command" in r.getMessage() for r in caplog.records) == 1
    sub.close()


def test_valid_commands_are_applied_echoed_and_persisted(broker, sink_parts, data_dir) -> None:
    config, state, control, start = sink_parts
    sink = start()
    sub = Subscriber(broker.port, ["camwatch/#"])
    sub.wait_payload("camwatch/node1/front/snapshots/state", "ON")
    sub.publish("camwatch/node1/front/snapshots/set", "off")
    sub.publish("camwatch/node1/front/zones/porch/set", '{"state": "OFF"}')
    sub.publish("camwatch/node1/armed/set", "false")
    sub.wait_payload("camwatch/node1/front/snapshots/state", "OFF")
    sub.wait_payload("camwatch/node1/front/zones/porch/state", "OFF")
    sub.wait_payload("camwatch/node1/armed/state", "OFF")
    assert not control.get("front", "snapshots") and not control.zone_enabled("front", "porch")
    assert not control.armed and not sub.on("camwatch/node1/errors")
    sink.stop()
    # A new sink (restart) with the persisted control state publishes the same retained state.
    sub.messages.clear()
    sink2 = MqttSink(config, state, make_control(config, data_dir), data_dir)
    sink2.start()
    sub.wait_payload("camwatch/node1/available", "online")
    sub.wait_payload("camwatch/node1/front/snapshots/state", "OFF")
    sub.wait_payload("camwatch/node1/armed/state", "OFF")
    sink2.stop()
    sub.close()
