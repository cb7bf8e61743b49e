"""A rogue client of the broker: retained commands, ``homeassistant/status`` storms (real Mosquitto)."""

from __future__ import annotations

import json
import logging
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from camwatch.comms.ha_status import HA_RESYNC_INTERVAL, ResyncLimiter
from camwatch.comms.publisher import MqttSink
from tests.mqtt_support import Subscriber, make_config, make_control, make_state, require_mosquitto
from tests.support.mosquitto import MosquittoBroker


@pytest.fixture
def broker() -> Iterator[MosquittoBroker]:
    require_mosquitto()
    with MosquittoBroker() as running:
        yield running


def _mosquitto_pub(broker: MosquittoBroker, topic: str, payload: str, *extra: str) -> None:
    subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(broker.port), "-q", "1", "-t", topic,
                    "-m", payload, *extra], check=True, timeout=10)


def _retained(broker: MosquittoBroker, topic: str, wait: float = 1.0) -> list[bytes]:
    """What a new subscriber gets at once on ``topic``: the retained message, if any."""
    probe = Subscriber(broker.port, [topic])
    time.sleep(wait)
    found = [m.payload for m in probe.on(topic) if m.retain]
    probe.close()
    return found


@pytest.mark.parametrize("protocol", ["3.1.1", "5"])
def test_a_retained_command_does_not_replay_and_saved_state_wins(broker, data_dir: Path, protocol: str) -> None:
    config = make_config(broker.port, protocol=protocol)
    state = make_state(config)
    control = make_control(config, data_dir)
    control.set(None, "armed", True)  # the owner armed camwatch: saved in control.json
    control.set("front", "snapshots", True)
    _mosquitto_pub(broker, "camwatch/node1/armed/set", "OFF", "-r")  # any broker client, retained
    _mosquitto_pub(broker, "camwatch/node1/front/snapshots/set", "OFF", "-r")
    assert _retained(broker, "camwatch/node1/armed/set") == [b"OFF"]

    sub = Subscriber(broker.port, ["camwatch/#"])
    sink = MqttSink(config, state, control, data_dir)
    sink.start()
    try:
        sub.wait_for(lambda: len(sub.on("camwatch/node1/errors")) >= 2, what="two error answers")
        answers = {m.json()["topic"]: m.json() for m in sub.on("camwatch/node1/errors")}
        assert answers["camwatch/node1/armed/set"]["error"] == "retained"
        assert "retain" in answers["camwatch/node1/front/snapshots/set"]["message"]
        assert control.armed is True and control.get("front", "snapshots") is True
        saved = json.loads((data_dir / "control.json").read_text())
        assert saved["armed"] is True and saved["cameras"]["front"]["snapshots"] is True
        sub.wait_payload("camwatch/node1/armed/state", "ON")
        # camwatch cleared the retained commands: nothing is replayed at the next connect
        sub.wait_for(lambda: _retained(broker, "camwatch/node1/armed/set", 0.5) == [], what="retained command cleared")
        assert _retained(broker, "camwatch/node1/front/snapshots/set") == []
        # An ordinary command still works, and the clear's echo was no error.
        sub.publish("camwatch/node1/armed/set", "OFF")
        sub.wait_payload("camwatch/node1/armed/state", "OFF")
        assert control.armed is False and len(sub.on("camwatch/node1/errors")) == 2
    finally:
        sink.stop(timeout=2)
        sub.close()

    # Restart: the saved state comes back, no replayed command overrides it.
    control2 = make_control(config, data_dir)
    assert control2.armed is False
    sink2 = MqttSink(config, state, control2, data_dir)
    sink2.start()
    try:
        late = Subscriber(broker.port, ["camwatch/node1/armed/state"])
        late.wait_payload("camwatch/node1/armed/state", "OFF")
        time.sleep(1.0)
        assert control2.armed is False
        late.close()
    finally:
        sink2.stop(timeout=2)


def test_mqtt5_live_retained_command_is_refused_at_once(broker, data_dir: Path) -> None:
    config = make_config(broker.port, protocol="5")
    control = make_control(config, data_dir)
    sink = MqttSink(config, make_state(config), control, data_dir)
    sink.start()
    sub = Subscriber(broker.port, ["camwatch/#"])
    try:
        sub.wait_payload("camwatch/node1/available", "online")
        _mosquitto_pub(broker, "camwatch/node1/armed/set", "OFF", "-r")
        answer = sub.wait_for(lambda: sub.last("camwatch/node1/errors"), what="error answer").json()
        assert answer["error"] == "retained" and control.armed is True
    finally:
        sink.stop(timeout=2)
        sub.close()


def test_online_storm_is_coalesced(broker, data_dir: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="camwatch.comms.publisher")
    config = make_config(broker.port)
    sink = MqttSink(config, make_state(config), make_control(config, data_dir), data_dir)
    sink.start()
    watched = "homeassistant/binary_sensor/camwatch_node1_front/motion/config"
    sub = Subscriber(broker.port, [watched])
    rogue = Subscriber(broker.port, ["unused/topic"])
    try:
        sub.wait_for(lambda: sub.on(watched), what="discovery config")
        time.sleep(0.5)
        baseline = len(sub.on(watched))
        started = time.monotonic()
        for _ in range(200):
            rogue.client.publish("homeassistant/status", "online", qos=1)
        rogue.publish("homeassistant/status", "online")  # waits for the broker's PUBACK
        sub.wait_for(lambda: len(sub.on(watched)) > baseline, what="one republish")
        time.sleep(2.0)  # anything more that the storm triggers arrives by now
        elapsed = time.monotonic() - started
        republished = len(sub.on(watched)) - baseline
        allowed = 1 + int(elapsed // HA_RESYNC_INTERVAL)  # one now, then one per interval at most
        assert 1 <= republished <= allowed, (republished, elapsed)
        lines = [r for r in caplog.records if "Home Assistant is online" in r.getMessage()]
        assert len(lines) == 1
    finally:
        sink.stop(timeout=2)
        sub.close()
        rogue.close()


def test_resync_limiter_coalesces_into_one_more() -> None:
    limiter = ResyncLimiter(interval=10)
    assert limiter.announce(0.0) is True
    assert [limiter.announce(t / 10) for t in range(1, 200)] == [False] * 199
    assert limiter.due(5.0) == 0
    assert limiter.due(10.0) == 199  # one republish for all of them
    assert limiter.due(30.0) == 0
    assert limiter.announce(30.0) is True
