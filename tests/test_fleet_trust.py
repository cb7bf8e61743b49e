"""What a broker client, or a man in the middle of a model download, can no longer do to a node.

* Wrong bytes from the server (more than the signed size, the right size with flipped bytes)
  are a failed download, tried again with a growing wait — the signed version is not used
  up, and installs once the real file comes (real HTTP server, real models).
* A flood of differently broken manifests on the fleet and the node topic gives a few log
  lines and publishes per topic, and the node's model state keeps its real last result
  (real Mosquitto, real camwatch).
* An older signed manifest put back on the fleet topic is not what a new node installs: it
  takes the newest signed version it can see, other nodes' copies included; with the copies
  gone, ``updates.min_version`` keeps it from installing the old one.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

from camwatch.app import Camwatch
from camwatch.config import parse_config
from camwatch.detectors.base import ModelInfo
from camwatch.detectors.factory import ModelSpec, build_detector
from camwatch.detectors.labels import load_labels
from camwatch.detectors.plugins.ssd import SsdDetector
from camwatch.fleet.manifest import parse_manifest
from camwatch.fleet.record import UpdateStore
from camwatch.fleet.samples import FrameRecorder
from camwatch.fleet.signing import KeyPair, generate_key, sign_manifest
from camwatch.fleet.updater import FLEET, Updater
from camwatch.models import sha256_of
from camwatch.pipeline.shared_detector import SharedDetector
from tests.conftest import COCO_LABELS, MODELS, ROOT, SSD_MODEL, require
from tests.mqtt_support import Subscriber, require_mosquitto
from tests.support.http_server import ModelHttpServer
from tests.support.mosquitto import MosquittoBroker

Y320 = MODELS / "yolox_nano_ti_lite_320_full_integer_quant.tflite"
Y416 = MODELS / "yolox_nano_ti_lite_416_full_integer_quant.tflite"
COCO80 = ROOT / "models" / "coco80_labels.txt"
SERVED = "/update.tflite"  # where the signed manifests say the model is


@pytest.fixture
def served(tmp_path: Path) -> Iterator[ModelHttpServer]:
    require(all(p.is_file() for p in (Y320, Y416, SSD_MODEL)), "YOLOX 320/416 and SSD models")
    root = tmp_path / "served"
    root.mkdir()
    shutil.copy(Y416, root / SERVED.lstrip("/"))
    with ModelHttpServer(root) as server:
        yield server


def _envelope(pair: KeyPair, server: ModelHttpServer, version: int, **changes: Any) -> bytes:
    data = {"name": "yolox_416", "version": version, "url": server.url(SERVED), "sha256": sha256_of(Y416),
            "size": Y416.stat().st_size, "layout": "yolox", "labels": load_labels(COCO80), "target": "*",
            **changes}  # fmt: skip
    key = serialization.load_pem_private_key(pair.private_pem, None)
    return json.dumps(sign_manifest(parse_manifest(data), key)).encode()


# ---------------------------------------------------------------- wrong bytes on the way
def test_wrong_bytes_from_the_server_are_retried_with_backoff_and_do_not_use_up_the_version(
    tmp_path: Path, served: ModelHttpServer
) -> None:
    pair = generate_key()
    config = parse_config({
        "data_dir": str(tmp_path / "data"), "detector": {"model_path": str(Y320)},
        "cameras": {"door": {"url": "x.mp4", "objects": {"track": ["person"]}}},
        "updates": {"keys": [pair.public], "watch_period": 0, "retry_interval": 1, "recent_frames": 0},
    })  # fmt: skip
    spec = ModelSpec(Y320.name, Y320, "yolox", COCO80)
    detector = SharedDetector(build_detector(spec, num_threads=1), ModelInfo(Y320.name, sha256_of(Y320), "yolox", "config"))
    store = UpdateStore(tmp_path / "data")
    states: list[dict[str, Any]] = []
    updater = Updater(config, "gate-a", detector, store, FrameRecorder(0, 1.0, lambda: {"person"}), states.append)
    served_file = served.directory / SERVED.lstrip("/")
    shutil.copy(SSD_MODEL, served_file)  # a man in the middle sends something else, and more of it
    updater.start()
    try:
        updater.offer(FLEET, _envelope(pair, served, 1))

        def failed(n: int) -> dict[str, Any]:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                found = [s for s in states if s["state"] == "failed"]
                if len(found) >= n:
                    return found[n - 1]
                time.sleep(0.02)
            raise AssertionError(f"no failure {n}: {[(s['state'], s.get('reason')) for s in states]}")

        first = failed(1)
        shutil.copy(Y416, served_file)
        served.corrupt(SERVED)  # then the right size, with some bytes changed
        second = failed(2)
        served.clear()  # the transport behaves again
        deadline = time.monotonic() + 60
        while not any(s["state"] in {"active", "rejected"} for s in states) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        updater.stop()
        detector.close()
    assert "more than the" in first["reason"] and "trying again in 1 s" in first["reason"], first
    assert "SHA-256 mismatch" in second["reason"] and "trying again in 2 s" in second["reason"], second
    assert states[-1]["state"] == "active" and states[-1]["version"] == 1, states[-1]
    assert not [s for s in states if s["state"] == "rejected"]
    assert [h["result"] for h in store.record.history] == ["active"] and store.record.decided == 1
    assert json.loads(store.load_envelope() or b"{}")["signature"]  # kept as this node's copy


# ---------------------------------------------------------------- over MQTT
@pytest.fixture
def broker() -> Iterator[MosquittoBroker]:
    require_mosquitto()
    with MosquittoBroker() as running:
        yield running


@pytest.fixture
def node(broker: MosquittoBroker, tmp_path: Path) -> Iterator[Callable[..., Camwatch]]:
    apps: list[Camwatch] = []

    def start(name: str, public: str, **updates: Any) -> Camwatch:
        config = parse_config({
            "data_dir": str(tmp_path / f"data-{name}"), "detector": {"model_path": str(SSD_MODEL)},
            "faces": {"enabled": False}, "web": {"enabled": False}, "node": {"name": name},
            "mqtt": {"enabled": True, "host": "127.0.0.1", "port": broker.port, "stats_interval": 600,
                     "reconnect_min": 1, "reconnect_max": 2},
            "updates": {"keys": [public], "watch_period": 0, "recent_frames": 0, **updates},
            "cameras": {"door": {"url": str(tmp_path / "missing.mp4"), "objects": {"track": ["person"]}}},
        })  # fmt: skip
        app = Camwatch(config, detector=SsdDetector(SSD_MODEL, load_labels(COCO_LABELS), num_threads=1), with_web=False)
        apps.append(app)
        app.start()
        return app

    yield start
    for app in apps:
        app.stop()


def _states(sub: Subscriber, name: str) -> list[dict[str, Any]]:
    return [m.json() for m in sub.on(f"camwatch/{name}/model/state") if m.payload]


def _wait_state(sub: Subscriber, name: str, check: Callable[[dict[str, Any]], bool], what: str) -> dict[str, Any]:
    return sub.wait_for(lambda: next((s for s in _states(sub, name) if check(s)), None), 90, f"{name}: {what}")


def test_a_flood_of_forged_manifests_is_counted_per_topic_and_never_the_result(
    broker: MosquittoBroker, node: Callable[..., Camwatch], served: ModelHttpServer,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    caplog.set_level(logging.INFO, logger="camwatch.fleet")
    owner = generate_key()
    sub = Subscriber(broker.port, ["camwatch/#"])
    node("gate-a", owner.public)
    sub.publish("camwatch/fleet/model/desired", _envelope(owner, served, 1), retain=True)
    _wait_state(sub, "gate-a", lambda s: s["state"] == "active" and s["version"] == 1, "v1 active")
    time.sleep(0.5)
    states_before, status_before = len(_states(sub, "gate-a")), len(sub.on("camwatch/gate-a/status"))
    lines_before = len(caplog.records)
    for i in range(200):  # each one a different size, so a different reason text
        sub.client.publish("camwatch/fleet/model/desired", b"x" * (262_145 + i), qos=1)
    for i in range(50):
        sub.client.publish("camwatch/gate-a/model/desired", b'{"manifest": "{}", "signature": "%d"}' % i, qos=1)
    sub.publish("camwatch/gate-a/flood-end", b"")  # the broker has taken all of them
    time.sleep(4.0)  # every refusal handled by now
    states = _states(sub, "gate-a")[states_before:]
    statuses = len(sub.on("camwatch/gate-a/status")) - status_before
    lines = [r.getMessage() for r in caplog.records[lines_before:] if "refused a manifest" in r.getMessage()]
    print(f"flood of 250: {len(lines)} log lines, {len(states)} model states, {statuses} statuses")
    assert 1 <= len(lines) <= 2 and {"the fleet topic" in x for x in lines} <= {True, False}, lines
    assert len(states) <= 2 and statuses <= 2, (len(states), statuses)
    last = _states(sub, "gate-a")[-1]
    assert last["state"] == "active" and last["version"] == 1 and last["reason"] is None, last  # the real result
    assert last["refused"]["count"] >= 2 and last["refused"]["source"] in {"the fleet topic", "this node's topic"}
    shown = sub.last("camwatch/gate-a/model/update").json()
    assert shown["installed_version"] == "yolox_416 v1" and not shown["in_progress"]


def test_a_new_node_takes_the_newest_signed_version_not_an_old_one_put_back(
    broker: MosquittoBroker, node: Callable[..., Camwatch], served: ModelHttpServer,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    caplog.set_level(logging.INFO, logger="camwatch.fleet")
    owner = generate_key()
    old, new = _envelope(owner, served, 1), _envelope(owner, served, 2)
    sub = Subscriber(broker.port, ["camwatch/#"])
    node("gate-a", owner.public)
    sub.publish("camwatch/fleet/model/desired", new, retain=True)  # the owner's rollout: v2
    _wait_state(sub, "gate-a", lambda s: s["state"] == "active" and s["version"] == 2, "v2 active")
    copy = sub.wait_for(lambda: sub.last("camwatch/gate-a/model/manifest"), what="gate-a's copy")
    assert copy.payload == new  # retained: the next check sees it arrive at a new node

    sub.publish("camwatch/fleet/model/desired", old, retain=True)  # a broker client puts signed v1 back
    node("gate-b", owner.public)  # a new board, nothing decided yet
    _wait_state(sub, "gate-b", lambda s: s["state"] == "active" and s["version"] == 2, "v2 active")
    assert not [s for s in _states(sub, "gate-b") if s["version"] == 1], _states(sub, "gate-b")
    assert sub.wait_for(lambda: sub.last("camwatch/gate-b/model/manifest")).payload == new

    # The copies deleted too (an anonymous broker lets anyone): the floor from the config holds.
    for name in ("gate-a", "gate-b"):
        sub.publish(f"camwatch/{name}/model/manifest", b"", retain=True)
    floor = node("gate-c", owner.public, min_version=2)
    time.sleep(6.0)  # settled and looked at what it can see
    assert not [s for s in _states(sub, "gate-c") if s["version"] == 1], _states(sub, "gate-c")
    assert floor.fleet is not None and floor.fleet.store.record.decided == 0
    assert any("gate-c" not in r.getMessage() and "below updates.min_version 2" in r.getMessage()
               for r in caplog.records), [r.getMessage() for r in caplog.records if "min_version" in r.getMessage()]  # fmt: skip
