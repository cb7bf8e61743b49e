"""A fleet across sites: each site's Mosquitto bridged to a central one, as docs/fleet.md configures it.

Three real Mosquitto brokers (central, site A, site B) configured with the blocks docs/fleet.md
gives an integrator to copy — each site's bridge, the ACL of every broker (users for the
boards, Home Assistant, the fleet owner and each site's bridge) — site B's link through a
relay the test can cut, one real camwatch node per site logging in as itself. Checked:

* Home Assistant at the centre gets every node's discovery configs, each exactly once, the
  same ones the node's own site broker got, and once more when it announces ``online``; no
  message loops or doubles through the bridges (numbered messages counted at all three);
* the ACLs: a board cannot write the fleet topic nor another node's, Home Assistant's
  command at the centre reaches the node behind its site;
* site B cut off: `camwatch fleet status` at the centre shows its node offline (its status
  stopped coming) while site A's stays online;
* a signed model update published at the centre reaches site A's node at once and site B's
  when its link returns — delivered once, not twice — and both run it;
* afterwards both are online again at the centre.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

from camwatch.app import Camwatch
from camwatch.config import parse_config
from camwatch.detectors.labels import load_labels
from camwatch.detectors.plugins.ssd import SsdDetector
from camwatch.fleet.manifest import parse_manifest
from camwatch.fleet.reader import read_fleet, render_table
from camwatch.fleet.signing import generate_key, sign_manifest
from camwatch.models import sha256_of
from tests.conftest import COCO_LABELS, MODELS, ROOT, SSD_MODEL, require
from tests.mqtt_support import Subscriber, make_config, require_mosquitto
from tests.support.http_server import ModelHttpServer
from tests.support.mosquitto import Bridge, MosquittoBroker
from tests.support.tcp_relay import TcpRelay

Y320 = MODELS / "yolox_nano_ti_lite_320_full_integer_quant.tflite"
COCO80 = ROOT / "models" / "coco80_labels.txt"
FLEET_DOC = ROOT / "docs" / "fleet.md"
PASSWORD = "a-long-random-test-password"
HA, OWNER = ("homeassistant", PASSWORD), ("fleet-owner", PASSWORD)


def _doc_block(name: str) -> list[str]:
    """The lines of the docs/fleet.md code block that starts with ``# <name>:`` (comments left out)."""
    text = FLEET_DOC.read_text(encoding="utf-8")
    start = text.index(f"```\n# {name}:") + 4
    block = text[start : text.index("```", start)]
    return [line for line in block.splitlines() if line.strip() and not line.startswith("#")]


def _site_bridge(site: str, port: int) -> Bridge:
    """docs/fleet.md's site bridge, for ``site``, to the central broker on loopback ``port`` (no TLS here)."""
    lines = []
    for line in _doc_block("camwatch-bridge"):
        key = line.split()[0]
        if key == "bridge_cafile":
            continue
        line = line.replace("site-north", site)
        if key == "address":
            line = f"address 127.0.0.1:{port}"
        elif key == "remote_password":
            line = f"remote_password {PASSWORD}"
        elif key == "restart_timeout":
            line = "restart_timeout 1"  # a test does not wait the 5 s a site would
        lines.append(line)
    return Bridge(site, port, config=tuple(lines))


def _central_acl(sites: list[str]) -> str:
    bridge = "\n".join(_doc_block("camwatch-central-acl"))
    return "\n".join(["\n".join(_doc_block("camwatch-acl")), *(bridge.replace("site-north", s) for s in sites)]) + "\n"


class Sites:
    def __init__(self, central: MosquittoBroker, a: MosquittoBroker, b: MosquittoBroker, link_b: TcpRelay) -> None:
        self.central, self.a, self.b, self.link_b = central, a, b, link_b
        topics = ["camwatch/#", "homeassistant/#"]
        self.at_centre, self.at_a, self.at_b = (Subscriber(x.port, topics, auth=HA) for x in (central, a, b))

    def close(self) -> None:
        for sub in (self.at_centre, self.at_a, self.at_b):
            sub.close()


@pytest.fixture
def sites() -> Iterator[Sites]:
    require_mosquitto()
    users = {"homeassistant": PASSWORD, "fleet-owner": PASSWORD}
    site_acl = "\n".join(_doc_block("camwatch-acl")) + "\n"
    with (
        MosquittoBroker(users={**users, "bridge-site-a": PASSWORD, "bridge-site-b": PASSWORD},
                        acl=_central_acl(["site-a", "site-b"])) as central,
        TcpRelay(central.port) as link_a,
        TcpRelay(central.port) as link_b,
        MosquittoBroker(users={**users, "gate-a": PASSWORD}, acl=site_acl,
                        bridges=[_site_bridge("site-a", link_a.port)]) as a,
        MosquittoBroker(users={**users, "gate-b": PASSWORD}, acl=site_acl,
                        bridges=[_site_bridge("site-b", link_b.port)]) as b,
    ):
        running = Sites(central, a, b, link_b)
        try:
            for name, broker in (("gate-a", a), ("gate-b", b)):  # each bridge is up: a message gets through
                probe = f"camwatch/{name}/probe"
                sender = Subscriber(broker.port, ["unused/#"], auth=(name, PASSWORD))
                deadline = time.monotonic() + 30
                while not running.at_centre.on(probe) and time.monotonic() < deadline:
                    sender.publish(probe, b"1")
                    time.sleep(0.3)
                sender.close()
                assert running.at_centre.on(probe), broker.log_text()[-2000:]
            yield running
        finally:
            running.close()


@pytest.fixture
def node(tmp_path: Path) -> Iterator[Callable[..., Camwatch]]:
    apps: list[Camwatch] = []

    def start(name: str, port: int, public: str) -> Camwatch:
        config = parse_config({
            "data_dir": str(tmp_path / f"data-{name}"), "detector": {"model_path": str(SSD_MODEL)},
            "faces": {"enabled": False}, "web": {"enabled": False}, "node": {"name": name},
            "mqtt": {"enabled": True, "host": "127.0.0.1", "port": port, "stats_interval": 1,
                     "reconnect_min": 1, "reconnect_max": 2, "username": name, "password": PASSWORD},
            "updates": {"keys": [public], "watch_period": 0, "recent_frames": 0},
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


def _configs(sub: Subscriber, node: str) -> Counter[str]:
    return Counter(m.topic for m in sub.messages if m.topic.startswith("homeassistant/") and f"_{node}" in m.topic
                   and m.payload)  # fmt: skip


def _active(sub: Subscriber, node: str, version: int) -> list[Any]:
    return [m for m in sub.on(f"camwatch/{node}/model/state")
            if m.payload and m.json()["state"] == "active" and m.json()["version"] == version]  # fmt: skip


@pytest.mark.slow
def test_a_fleet_across_bridged_sites(sites: Sites, node: Callable[..., Camwatch], tmp_path: Path) -> None:
    require(Y320.is_file() and SSD_MODEL.is_file(), "YOLOX 320 and SSD models")
    owner = generate_key()
    node("gate-a", sites.a.port, owner.public)
    node("gate-b", sites.b.port, owner.public)
    centre = sites.at_centre
    for name in ("gate-a", "gate-b"):
        centre.wait_payload(f"camwatch/{name}/available", "online", timeout=30)
        centre.wait_for(lambda n=name: centre.last(f"camwatch/{n}/model/update"), 30, f"{name}'s update entity")
    for name, site in (("gate-a", sites.at_a), ("gate-b", sites.at_b)):  # through the bridges: all there
        centre.wait_for(lambda n=name, s=site: len(_configs(s, n)) >= 15 and set(_configs(centre, n)) == set(_configs(s, n)),
                        15, f"{name}'s configs at the centre")  # fmt: skip
    time.sleep(0.5)  # a double or a loop would follow within moments

    # ---- Home Assistant at the centre: every entity of every node, each config once
    for name, site in (("gate-a", sites.at_a), ("gate-b", sites.at_b)):
        at_centre, at_site = _configs(centre, name), _configs(site, name)
        assert len(at_centre) >= 15 and set(at_centre.values()) == {1}, at_centre.most_common(3)
        assert at_centre == at_site
    configs = [json.loads(m.payload) for m in centre.messages if m.topic.startswith("homeassistant/") and m.payload]
    unique_ids = [c["unique_id"] for c in configs]
    assert len(unique_ids) == len(set(unique_ids))

    # ---- nothing loops or doubles: numbered messages from one site, counted everywhere;
    # ---- the ACLs: a board writes its own subtree only; Home Assistant's commands go through
    board = Subscriber(sites.a.port, ["unused/#"], auth=("gate-a", PASSWORD))
    for i in range(20):
        board.publish("camwatch/gate-a/loop-check", str(i).encode())
    for topic in ("camwatch/fleet/model/desired", "camwatch/gate-b/armed/set", "camwatch/gate-b/model/desired"):
        board.client.publish(topic, b"OFF", qos=1)  # Mosquitto drops what the ACL refuses
    board.publish("camwatch/gate-a/acl-check", b"done")
    # the last message is everywhere: what came before it on this path is too (kept in order), a
    # double or a loop would follow within moments
    for sub in (sites.at_a, centre, sites.at_b):
        sub.wait_for(lambda s=sub: s.on("camwatch/gate-a/acl-check"), 15, "the ACL check message")
    time.sleep(1.0)
    counts = [sorted(int(m.payload) for m in sub.on("camwatch/gate-a/loop-check"))
              for sub in (sites.at_a, centre, sites.at_b)]  # fmt: skip
    assert counts == [list(range(20))] * 3, counts
    for sub in (sites.at_a, centre, sites.at_b):
        assert sub.on("camwatch/gate-a/acl-check") and not sub.on("camwatch/fleet/model/desired")
        assert not sub.on("camwatch/gate-b/armed/set") and not sub.on("camwatch/gate-b/model/desired")
    board.close()
    home_assistant = Subscriber(sites.central.port, ["unused/#"], auth=HA)
    home_assistant.publish("camwatch/gate-b/armed/set", b"OFF")
    centre.wait_payload("camwatch/gate-b/armed/state", "OFF", timeout=15)
    before = {name: _configs(centre, name) for name in ("gate-a", "gate-b")}
    home_assistant.publish("homeassistant/status", b"online")  # Home Assistant restarted at the centre
    for name in ("gate-a", "gate-b"):
        centre.wait_for(lambda n=name: set(_configs(centre, n).values()) == {2}, 20, f"{name} configs again")
        assert set(_configs(centre, name)) == set(before[name])
    home_assistant.close()

    # ---- site B cut off: the centre's fleet status shows its node offline (once its status
    # ---- is old: meanwhile a signed update published at the centre reaches site A's node now,
    # ---- site B's when its link returns)
    central_config = make_config(sites.central.port, username=OWNER[0], password=OWNER[1]).mqtt
    sites.link_b.cut()
    cut_at = time.monotonic()
    with ModelHttpServer(Y320.parent) as http:
        manifest = parse_manifest({
            "name": "yolox_320", "version": 1, "url": http.url("/" + Y320.name), "sha256": sha256_of(Y320),
            "size": Y320.stat().st_size, "layout": "yolox", "labels": load_labels(COCO80), "target": "*",
        })  # fmt: skip
        key = serialization.load_pem_private_key(owner.private_pem, None)
        envelope = json.dumps(sign_manifest(manifest, key)).encode()
        publisher = Subscriber(sites.central.port, ["unused/#"], auth=OWNER)
        publisher.publish("camwatch/fleet/model/desired", envelope, retain=True)
        publisher.close()
        sites.at_a.wait_for(lambda: _active(sites.at_a, "gate-a", 1), 90, "gate-a runs v1")

        deadline = cut_at + 60
        while time.monotonic() < deadline:
            nodes = read_fleet(central_config)
            if nodes["gate-b"].state(time.time()) == "offline":
                break
            time.sleep(0.2)
        offline_after = time.monotonic() - cut_at
        table = render_table(nodes)
        print(f"site B shown offline {offline_after:.0f} s after the cut\n{table}")
        rows = {line.split()[0]: line for line in table.splitlines()}
        assert " offline " in rows["gate-b"] and " online " in rows["gate-a"], table
        assert not sites.at_b.on("camwatch/fleet/model/desired")  # cut off: nothing arrived
        sites.link_b.restore()
        sites.at_b.wait_for(lambda: _active(sites.at_b, "gate-b", 1), 120, "gate-b runs v1 after the link returns")
        centre.wait_for(lambda: _active(centre, "gate-b", 1), 30, "the centre sees gate-b on v1")
    time.sleep(2.0)
    delivered = [m for m in sites.at_b.on("camwatch/fleet/model/desired") if m.payload == envelope]
    assert len(delivered) == 1, len(delivered)  # once, not once per retained replay and queued copy
    assert len(_active(centre, "gate-b", 1)) == len(_active(sites.at_b, "gate-b", 1)) == 1

    # ---- both online at the centre again, both on the new model
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        nodes = read_fleet(central_config)
        if all(nodes[n].state(time.time()) == "online" for n in ("gate-a", "gate-b")):
            break
        time.sleep(0.2)
    table = render_table(nodes)
    for name in ("gate-a", "gate-b"):
        row = next(line for line in table.splitlines() if line.startswith(name))
        assert " online " in row and "yolox_320 v1" in row, table
