"""Several nodes on one real Mosquitto: no collision, Home Assistant's rules, the layout move.

* Two nodes with a camera of the same name: their topics, discovery topics, unique ids and
  devices are disjoint; each camera device hangs under its node's device (``via_device``
  names a device that exists); ids and discovery levels use only Home Assistant's
  characters; every entity's availability is its own node's.
* Two boards left with the same node name are told so (one error line each side).
* A node upgraded from the single-node layout clears that layout's retained messages and
  old Home Assistant configs once — and not what another node or the fleet owns.
* ``camwatch fleet status`` lists every node, a stopped one too.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from camwatch.app import Camwatch
from camwatch.comms.migrate import LAYOUT_FILE
from camwatch.comms.publisher import MqttSink
from camwatch.config import parse_config
from camwatch.detectors.plugins.ssd import SsdDetector, load_labels
from camwatch.fleet.reader import read_fleet, render_table
from tests.conftest import COCO_LABELS, SSD_MODEL
from tests.mqtt_support import Subscriber, make_config, make_control, make_state, require_mosquitto
from tests.support.mosquitto import MosquittoBroker

HA_ID = re.compile(r"^[a-zA-Z0-9_-]+$")  # Home Assistant: node_id and object_id of a discovery topic


@pytest.fixture
def broker() -> Iterator[MosquittoBroker]:
    require_mosquitto()
    with MosquittoBroker() as running:
        yield running


@pytest.fixture
def node(broker: MosquittoBroker, tmp_path: Path, ssd_model: Path) -> Iterator[Callable[..., Camwatch]]:
    apps: list[Camwatch] = []

    def start(name: str | None, **extra: Any) -> Camwatch:
        config = parse_config({
            "data_dir": str(tmp_path / f"data-{name}-{len(apps)}"), "detector": {"model_path": str(SSD_MODEL)},
            "faces": {"enabled": False}, "web": {"enabled": False}, "node": {"name": name},
            "mqtt": {"enabled": True, "host": "127.0.0.1", "port": broker.port, "reconnect_min": 1,
                     "reconnect_max": 2, "stats_interval": 1},
            "cameras": {"door": {"url": str(tmp_path / "missing.mp4"), "objects": {"track": ["person", "car"]},
                                 "zones": {"porch": {"coordinates": [[0, 0], [1, 0], [1, 1]]}}}},
            **extra,
        })  # fmt: skip
        detector = SsdDetector(SSD_MODEL, load_labels(COCO_LABELS), num_threads=1)
        app = Camwatch(config, detector=detector, with_web=False)
        apps.append(app)
        app.start()
        return app

    yield start
    for app in apps:
        app.stop()


def _configs(sub: Subscriber) -> dict[str, dict[str, Any]]:
    return {m.topic: m.json() for m in sub.messages if m.topic.endswith("/config") and m.payload}


def test_two_nodes_with_a_camera_of_the_same_name_do_not_collide(broker: MosquittoBroker, node) -> None:
    sub = Subscriber(broker.port, ["homeassistant/#", "camwatch/#"])
    node("gate-a")
    node("gate-b")
    for name in ("gate-a", "gate-b"):
        sub.wait_payload(f"camwatch/{name}/available", "online")
        sub.wait_for(lambda name=name: sub.last(f"camwatch/{name}/status"), what=f"{name} status")
    def both() -> dict[str, dict[str, Any]] | None:
        found = _configs(sub)
        a, b = (sum(f"_{name}" in t for t in found) for name in ("gate-a", "gate-b"))
        return found if a == b >= 20 and sum("/update/" in t for t in found) == 2 else None

    configs = sub.wait_for(both, what="both nodes' discovery")
    by_node: dict[str, dict[str, dict[str, Any]]] = {"gate-a": {}, "gate-b": {}}
    for topic, cfg in configs.items():
        _, component, node_id, object_id, _ = topic.split("/")
        assert HA_ID.match(node_id) and HA_ID.match(object_id), topic
        owner = "gate-a" if "_gate-a" in node_id else "gate-b"
        assert ("_gate-b" in node_id) != (owner == "gate-a"), topic
        by_node[owner][topic] = cfg
        # every topic the entity reads or writes is its own node's, availability first of all
        used = [cfg.get(k) for k in ("state_topic", "command_topic", "image_topic", "json_attributes_topic")]
        used += [a["topic"] for a in cfg["availability"]]
        assert all(t.startswith(f"camwatch/{owner}/") for t in used if t), (topic, used)
    assert len(by_node["gate-a"]) == len(by_node["gate-b"]) >= 20
    unique_ids = [cfg["unique_id"] for cfg in configs.values()]
    assert len(unique_ids) == len(set(unique_ids))
    assert all(HA_ID.match(u) for u in unique_ids)
    devices = {cfg["device"]["identifiers"][0]: cfg["device"] for cfg in configs.values()}
    assert set(devices) == {"camwatch_gate-a", "camwatch_gate-b", "camwatch_gate-a_door", "camwatch_gate-b_door"}
    for ident, device in devices.items():
        if ident.endswith("_door"):
            assert device["via_device"] == ident.removesuffix("_door") and device["via_device"] in devices
        else:
            assert "via_device" not in device and device["model"] == "camwatch node"
    update = next(c for t, c in by_node["gate-a"].items() if "/update/" in t)
    assert update["state_topic"] == "camwatch/gate-a/model/update"
    shown = sub.wait_for(lambda: sub.last("camwatch/gate-a/model/update"), what="update entity state").json()
    assert shown["installed_version"] == "coco_ssd_mobilenet_v1_1.0_quant_2018_06_29_detect.tflite (configured)"
    assert shown["in_progress"] is False and "state" not in shown  # Home Assistant's keys only
    state = sub.wait_for(lambda: sub.last("camwatch/gate-a/model/state"), what="model state").json()
    assert state["state"] == "off"  # no key: remote updates are off, and nothing subscribes to the desired model
    status = sub.last("camwatch/gate-b/status").json()
    assert status["node"] == "gate-b" and status["model"]["source"] == "config" and status["updates"] == "off"
    assert status["cameras"] == {"online": 0, "offline": 1, "names_offline": ["door"]}
    sub.close()


def test_two_boards_with_one_node_name_are_told(broker: MosquittoBroker, node) -> None:
    first = node("twin")
    second = node("twin", mqtt={"enabled": True, "host": "127.0.0.1", "port": broker.port, "stats_interval": 1,
                                "client_id": "second-board"})  # fmt: skip
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        errors = [e["message"] for app in (first, second) for e in app.state.errors if e["source"] == "fleet"]
        if errors:
            break
        time.sleep(0.2)
    assert errors and "another camwatch publishes as node 'twin'" in errors[0], errors


def test_fleet_status_lists_every_node_and_a_stopped_one(broker: MosquittoBroker, node) -> None:
    node("gate-a")
    stopping = node("gate-b")
    config = make_config(broker.port).mqtt
    deadline = time.monotonic() + 20
    while len(nodes := read_fleet(config)) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert set(nodes) == {"gate-a", "gate-b"} and all(v.available == "online" for v in nodes.values())
    stopping.stop()
    nodes = read_fleet(config)
    assert nodes["gate-b"].available == "stopped" and nodes["gate-a"].available == "online"
    table = render_table(nodes)
    lines = table.splitlines()
    assert lines[0].split()[:3] == ["NODE", "STATE", "VERSION"]
    assert lines[1].startswith("gate-a") and " online " in lines[1] and "0 on / 1 off" in lines[1]
    assert lines[2].startswith("gate-b") and " stopped " in lines[2]
    assert lines[-1] == "2 node(s): 1 online, 1 not online"


def test_the_single_node_layout_is_cleared_once_and_nothing_else(
    broker: MosquittoBroker, data_dir: Path
) -> None:
    old_discovery = "homeassistant/binary_sensor/camwatch_door/motion/config"
    before = {
        "camwatch/available": b"online", "camwatch/stats": b"{}", "camwatch/armed/state": b"ON",
        "camwatch/door/status": b"online", "camwatch/door/objects/person": b"1",
        "camwatch/door/zones/porch/objects/all": b"1", "camwatch/door/detect/state": b"ON",
        old_discovery: json.dumps({"unique_id": "camwatch_door_binary_sensor_motion"}).encode(),
        # another node, already in the node layout, happens to be called like one of our cameras
        "camwatch/garage/available": b"online", "camwatch/garage/stats": b"{}",
        "camwatch/fleet/model/desired": b'{"manifest": "{}"}',
    }
    pub = Subscriber(broker.port, ["unused/#"])
    for topic, payload in before.items():
        pub.publish(topic, payload, retain=True)
    pub.close()
    (data_dir / "mqtt_discovery.json").write_text(json.dumps({"topics": [old_discovery]}))
    config = make_config(broker.port, cameras={"door": {"url": "x.mp4"}, "garage": {"url": "y.mp4"}})
    sink = MqttSink(config, make_state(config), make_control(config, data_dir), data_dir)
    sink.start()
    try:
        deadline = time.monotonic() + 15
        while not (data_dir / LAYOUT_FILE).exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert (data_dir / LAYOUT_FILE).exists()
        late = Subscriber(broker.port, ["camwatch/#", "homeassistant/#"])
        late.wait_for(lambda: late.last("camwatch/node1/available"), what="the new layout")
        time.sleep(0.5)
        retained = {m.topic for m in late.messages if m.retain and m.payload}
        late.close()
    finally:
        sink.stop(timeout=2)
    gone = {t for t in before if not t.startswith(("camwatch/garage/", "camwatch/fleet/"))}
    assert not gone & retained, gone & retained
    assert {"camwatch/garage/available", "camwatch/garage/stats", "camwatch/fleet/model/desired"} <= retained
    assert "camwatch/node1/door/status" in retained and "homeassistant/binary_sensor/camwatch_node1_door/motion/config" in retained
    # a second start finds the mark and touches nothing (another node may publish old topics by then)
    assert not MqttSink(config, make_state(config), make_control(config, data_dir), data_dir)._migrate


def test_system_page_shows_the_model_and_the_update_history(
    broker: MosquittoBroker, node, tmp_path: Path
) -> None:
    from camwatch.fleet.record import UpdateStore
    from camwatch.web import WebContext, create_app
    from tests.support.web import setup_and_login

    data = tmp_path / "data-gate-a-0"  # where the node fixture puts the first node's data
    store = UpdateStore(data)
    store.add_history(4, "ssd_mobilenet_v1", "rejected", "shadow test: found 0 of the 9 objects")
    store.add_history(5, "yolox_416", "active", None)
    app = node("gate-a", updates={"keys": ["ed25519:" + "A" * 43 + "="]})
    ctx = WebContext(config=app.config, config_path=None, store=app.store, state=app.state, control=app.control,
                     data_dir=app.data_dir, apply_config=lambda c: None, version="test")  # fmt: skip
    web = create_app(ctx)
    client = web.test_client()
    setup_and_login(client)
    page = client.get("/system").get_data(as_text=True)
    web.extensions["camwatch.accounts"].close()
    assert 'id="model-updates"' in page and "gate-a" in page
    assert "coco_ssd_mobilenet_v1_1.0_quant_2018_06_29_detect.tflite (configured)" in page
    assert "on (signed manifests over MQTT)" in page
    rows = page[page.index("<tbody>", page.index('id="model-updates"')):]
    assert rows.index("yolox_416 v5") < rows.index("ssd_mobilenet_v1 v4")  # newest first
    assert "shadow test: found 0 of the 9 objects" in rows


def test_fleet_commands_publish_clear_and_say_when_the_broker_is_away(
    broker: MosquittoBroker, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import yaml
    from cryptography.hazmat.primitives import serialization

    from camwatch.cli import main
    from camwatch.fleet.manifest import parse_manifest
    from camwatch.fleet.signing import generate_key, sign_manifest
    from tests.support.netutil import free_port

    def config(port: int) -> str:
        path = tmp_path / f"config-{port}.yml"
        path.write_text(yaml.safe_dump({"cameras": {"door": {"url": "x.mp4"}},
                                        "mqtt": {"enabled": True, "host": "127.0.0.1", "port": port}}))  # fmt: skip
        return str(path)

    pair = generate_key()
    key = serialization.load_pem_private_key(pair.private_pem, None)
    manifest = parse_manifest({"name": "y416", "version": 9, "url": "https://m.lan/y.tflite", "sha256": "cd" * 32,
                               "size": 10, "layout": "yolox", "labels": ["person"], "target": "gate-a"})  # fmt: skip
    signed = tmp_path / "desired.json"
    signed.write_text(json.dumps(sign_manifest(manifest, key)))
    assert main(["fleet", "publish", "--config", config(broker.port), str(signed)]) == 0
    assert "camwatch/gate-a/model/desired (retained)" in capsys.readouterr().out
    late = Subscriber(broker.port, ["camwatch/+/model/desired"])
    got = late.wait_for(lambda: late.last("camwatch/gate-a/model/desired"), what="retained desired model")
    assert got.retain and json.loads(got.payload)["signature"]
    late.close()
    assert main(["fleet", "clear", "--config", config(broker.port), "--node", "gate-a"]) == 0
    late = Subscriber(broker.port, ["camwatch/+/model/desired"])
    time.sleep(0.5)
    assert not late.messages  # nothing retained any more
    late.close()
    capsys.readouterr()
    assert main(["fleet", "status", "--config", config(free_port()), "--timeout", "2"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: cannot reach the MQTT broker mqtt://127.0.0.1:") and "Traceback" not in err
    assert main(["fleet", "publish", "--config", config(broker.port), config(broker.port)]) == 1  # not a manifest
    assert "is not a signed manifest" in capsys.readouterr().err
