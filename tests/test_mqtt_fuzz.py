"""Any client of the broker, any payload, every topic camwatch listens on (real Mosquitto, real camwatch).

* Every topic the broker saw camwatch subscribe to (its own log of SUBSCRIBE packets, so a
  topic added later is fuzzed too) gets nested JSON 5 000 levels deep, a megabyte of random
  bytes, text that is not UTF-8, an empty payload, odd JSON, terminal escapes — retained and
  not. Afterwards camwatch still obeys ``armed/set`` and ``detect/set``, still publishes,
  never lost its connection, and logged no traceback. A second camwatch started while the
  retained junk sits on the broker connects and obeys too.
* If paho's network thread ends all the same (a handler raising what no callback catches),
  camwatch says so in the log, in ``/api/stats`` and on the System page, and reconnects:
  commands work again.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from camwatch.app import Camwatch
from camwatch.comms.inbound import MAX_STATUS_BYTES, BadPayload, parse_json
from camwatch.config import parse_config
from camwatch.detectors.plugins.ssd import SsdDetector, load_labels
from camwatch.fleet.signing import generate_key
from tests.conftest import COCO_LABELS, SSD_MODEL
from tests.mqtt_support import Subscriber, require_mosquitto
from tests.support.mosquitto import MosquittoBroker

NODE = "fuzzed"
CLIENT_ID = "camwatch-fuzz-node"


def _payloads() -> list[tuple[str, bytes]]:
    deep = 5000
    return [
        ("nested arrays", b"[" * deep),
        ("nested objects", b'{"a":' * deep + b"1" + b"}" * deep),
        ("nested run", b'{"run":' * deep),
        ("nested manifest", b'{"manifest":"' + b"[" * deep + b'","signature":"AAAA"}'),
        ("nested state", b'{"state":' * deep),
        ("random megabyte", os.urandom(1024 * 1024)),
        ("string of 300 kB", b'"' + b"A" * 300_000 + b'"'),
        ("binary", os.urandom(4096)),
        ("not UTF-8", b"\xff\xfe\xfd\xc3\x28"),
        ("empty", b""),
        ("array", b"[1,2,3]"),
        ("null", b"null"),
        ("infinity", b"1e999"),
        ("NaN", b"NaN"),
        ("run list", b'{"run": ["0123456789ab"]}'),
        ("run object", b'{"run": {"a": 1}}'),
        ("live run", b'{"run": "x\x1b]0;owned\x07"}'),
        ("state object", b'{"state": {"state": "ON"}}'),
        ("NUL", b"ON\x00"),
        ("escapes", b"\x1b[2J\x1b]0;title\x07"),
        ("manifest junk", b'{"manifest": 5, "signature": []}'),
        ("online", b"online"),
    ]


def _concrete(pattern: str) -> list[str]:
    """Topics a wildcard subscription receives: each ``+`` as a known and an unknown level."""
    if "+" not in pattern:
        return [pattern]
    return [pattern.replace("+", "door"), pattern.replace("+", "nowhere"),
            pattern.replace("+", "door", 1).replace("+", "porch")]  # fmt: skip


@pytest.fixture
def broker() -> Iterator[MosquittoBroker]:
    require_mosquitto()
    with MosquittoBroker(log_subscriptions=True) as running:
        yield running


@pytest.fixture
def node(broker: MosquittoBroker, tmp_path: Path, ssd_model: Path) -> Iterator[Callable[..., Camwatch]]:
    apps: list[Camwatch] = []
    key = generate_key().public  # remote updates on: the desired-model topics are listened to

    def start() -> Camwatch:
        config = parse_config({
            "data_dir": str(tmp_path / "data"), "detector": {"model_path": str(SSD_MODEL)},
            "faces": {"enabled": False}, "web": {"enabled": False}, "node": {"name": NODE},
            "mqtt": {"enabled": True, "host": "127.0.0.1", "port": broker.port, "reconnect_min": 1,
                     "reconnect_max": 2, "stats_interval": 1, "client_id": CLIENT_ID, "max_command_bytes": 65536},
            "updates": {"keys": [key]},
            "cameras": {"door": {"url": str(tmp_path / "missing.mp4"), "objects": {"track": ["person"]},
                                 "zones": {"porch": {"coordinates": [[0, 0], [1, 0], [1, 1]]}}}},
        })  # fmt: skip
        app = Camwatch(config, detector=SsdDetector(SSD_MODEL, load_labels(COCO_LABELS), num_threads=1), with_web=False)
        apps.append(app)
        app.start()
        return app

    yield start
    for app in apps:
        app.stop()


def _obeys(app: Camwatch, sub: Subscriber, value: str) -> None:
    """``armed/set`` and ``door/detect/set`` are applied and echoed on their state topics."""
    states = (f"camwatch/{NODE}/armed/state", f"camwatch/{NODE}/door/detect/state")
    seen = {topic: len(sub.on(topic)) for topic in states}
    sub.publish(f"camwatch/{NODE}/armed/set", value)
    sub.publish(f"camwatch/{NODE}/door/detect/set", value)
    for topic in states:
        sub.wait_for(lambda t=topic: any(m.payload == value.encode() for m in sub.on(t)[seen[t]:]), 15,
                     f"{value} on {topic} after the command")  # fmt: skip
    assert app.control.armed is (value == "ON") and app.control.get("door", "detect") is (value == "ON")


def _publishes_after(sub: Subscriber, since: float) -> None:
    """A node status published after ``since`` arrives (the node still publishes)."""
    topic = f"camwatch/{NODE}/status"

    def fresh() -> bool:
        for message in sub.on(topic):
            try:
                status = parse_json(message.payload, MAX_STATUS_BYTES)
            except BadPayload:
                continue  # the fuzz, not camwatch
            if isinstance(status, dict) and status.get("node") == NODE and status.get("time", 0) > since:
                return True
        return False

    sub.wait_for(fresh, 15, "a fresh node status")


def test_every_subscribed_topic_survives_any_payload(
    broker: MosquittoBroker, node: Callable[..., Camwatch], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    sub = Subscriber(broker.port, [f"camwatch/{NODE}/#"])
    app = node()
    sub.wait_payload(f"camwatch/{NODE}/available", "online", timeout=20)
    sub.wait_for(lambda: sub.last(f"camwatch/{NODE}/model/state"), what="the update state (fleet topics listened to)")
    time.sleep(0.5)
    mine = sorted({topic for client, topic in broker.subscriptions() if client == CLIENT_ID})
    assert f"camwatch/{NODE}/status" in mine and "homeassistant/status" in mine and f"camwatch/{NODE}/armed/set" in mine
    assert "camwatch/fleet/model/desired" in mine and f"camwatch/{NODE}/model/desired" in mine, mine
    _obeys(app, sub, "OFF")

    topics = sorted({t for pattern in mine for t in _concrete(pattern)})
    sent = 0
    for retain in (False, True):
        for topic in topics:
            for _what, payload in _payloads():
                if retain and len(payload) > 100_000:
                    continue  # the broker keeps one retained message per topic: the small ones do
                sub.client.publish(topic, payload, qos=1, retain=retain)
                sent += 1
        sub.publish(f"camwatch/{NODE}/fuzz-end", b"x")  # waits for the broker: every message above is in
    fuzzed_at = time.time()
    print(f"{sent} messages on {len(topics)} topics: {topics}")

    _obeys(app, sub, "ON")
    _publishes_after(sub, fuzzed_at)
    assert app.state.mqtt["connected"] is True and not app.state.mqtt.get("network_restarts"), app.state.mqtt
    # The retained junk is there at the next connect: a new camwatch on the same node takes it too.
    app.stop()
    seen = len(sub.messages)
    second = node()
    restarted_at = time.time()
    sub.wait_for(lambda: any(m.payload == b"online" and m.topic == f"camwatch/{NODE}/available"
                             for m in sub.messages[seen:]), 20, "the second camwatch online")  # fmt: skip
    _obeys(second, sub, "OFF")
    _publishes_after(sub, restarted_at)
    assert second.state.mqtt["connected"] is True and not second.state.mqtt.get("network_restarts")
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "Traceback" not in caplog.text and "Traceback" not in text
    ignored = [r for r in caplog.records if "ignored" in r.getMessage() and r.name.startswith("camwatch.comms")]
    assert len(ignored) <= 2 * len(topics), len(ignored)  # once a minute per topic and kind, not per message
    sub.close()


class _Crash(BaseException):
    """What no callback guard catches (not an Exception): it ends paho's network thread."""


def test_a_dead_network_thread_is_reported_and_restarted(
    broker: MosquittoBroker, node: Callable[..., Camwatch], caplog: pytest.LogCaptureFixture
) -> None:
    from camwatch.web import WebContext, create_app
    from tests.support.web import setup_and_login

    caplog.set_level(logging.INFO)
    sub = Subscriber(broker.port, [f"camwatch/{NODE}/#"])
    app = node()
    sub.wait_payload(f"camwatch/{NODE}/available", "online", timeout=20)
    assert app.mqtt is not None

    def crash(_topic: str, _payload: bytes, _retained: bool) -> None:
        raise _Crash("a handler raised past every guard")

    app.mqtt.add_handler(f"camwatch/{NODE}/crash", crash)
    time.sleep(0.3)
    sub.publish(f"camwatch/{NODE}/crash", b"boom")
    deadline = time.monotonic() + 10
    while not app.state.mqtt.get("network_restarts") and time.monotonic() < deadline:
        time.sleep(0.05)
    stats_during = dict(app.state.mqtt)
    assert stats_during.get("network_restarts") == 1, stats_during
    assert "network thread" in stats_during["network_failure"] and "_Crash" in stats_during["network_failure"]
    lines = [r for r in caplog.records if "network thread" in r.getMessage()]
    assert len(lines) == 1 and lines[0].levelno == logging.ERROR and "reconnecting" in lines[0].getMessage()
    assert not caplog.text.count("Traceback")

    app.mqtt.remove_handler(f"camwatch/{NODE}/crash")  # the cause is gone: the restart sticks
    deadline = time.monotonic() + 20
    while not app.state.mqtt.get("connected") and time.monotonic() < deadline:
        time.sleep(0.1)
    _obeys(app, sub, "OFF")
    _publishes_after(sub, time.time())

    ctx = WebContext(config=app.config, config_path=None, store=app.store, state=app.state, control=app.control,
                     data_dir=app.data_dir, apply_config=lambda c: None, version="test")  # fmt: skip
    web = create_app(ctx)
    client = web.test_client()
    setup_and_login(client)
    stats = client.get("/api/stats").get_json()["mqtt"]
    page = client.get("/system").get_data(as_text=True)
    web.extensions["camwatch.accounts"].close()
    assert stats["connected"] is True and stats["network_restarts"] == 1, stats
    assert "network thread" in stats["network_failure"]
    assert "network thread" in page and "_Crash" in page
    sub.close()


@pytest.mark.parametrize(
    ("payload", "why"),
    [
        (b"[" * 33 + b"]" * 33, "nested deeper than 32"),
        (b'{"a":' * 40 + b"1" + b"}" * 40, "nested deeper than 32"),
        (b"\xff\xfe", "not UTF-8"),
        (b"NaN", "not a number"),
        (b"1e999", "not a number"),
        (b"", "not JSON"),
        (b"x" * 65, "65 bytes, more than 64"),
    ],
)
def test_received_json_is_refused_with_a_reason(payload: bytes, why: str) -> None:
    with pytest.raises(BadPayload, match=why):
        parse_json(payload, 64 if payload.startswith(b"x") else 1000)


def test_brackets_inside_strings_do_not_count_and_printing_is_safe() -> None:
    from camwatch.comms.inbound import printable

    assert parse_json(b'{"a": "' + b"[" * 100 + b'\\"[", "b": [[1]]}', 1000) == {"a": "[" * 100 + '"[', "b": [[1]]}
    assert printable("v1\x1b[2J\r\u202eevil\x07", 80) == "v1?[2J??evil?"
    assert printable("x" * 100, 10) == "x" * 9 + "…"
