"""Three camwatch nodes, one Mosquitto, one HTTP server with model files: the fleet as an integrator runs it.

Real `camwatch run` processes, each with a file camera looping people walking by and the
real YOLOX 320 detector; each has its own host name (a UTS namespace, `unshare --uts`) and
default settings, so the node names come from the host names. Checked:

* all three appear in `camwatch fleet status` and in Home Assistant discovery, without collision;
* refused while the old model keeps detecting: a manifest signed by another key and one
  without a signature (counted beside the node's result, not the result), a wrong SHA-256
  (a failed download, tried again later), a model of the wrong layout (rejected);
* a signed update to the whole fleet (YOLOX 416) is applied by every running node without a
  restart (same process, same run), people keep being found through the swap;
* a node started after the rollout catches up from the retained desired model;
* a model that finds nothing (the real SSD file with the real but off-by-one label map
  "with background": every person comes out as "???") is rejected by the shadow test on a
  node with recent frames, and rolled back by the watch period on a node that keeps none;
* YOLOX → SSD for the whole fleet; a killed node shows `offline` (its last will).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography.hazmat.primitives import serialization

from camwatch.cli import main
from camwatch.detectors.labels import load_labels
from camwatch.fleet.manifest import parse_manifest
from camwatch.fleet.signing import generate_key, sign_manifest
from camwatch.models import sha256_of
from camwatch.node import node_name_from_host
from tests.conftest import MEDIA, MODELS, ROOT, require
from tests.mqtt_support import Subscriber, require_mosquitto
from tests.support.http_server import ModelHttpServer
from tests.support.mosquitto import MosquittoBroker

Y320 = MODELS / "yolox_nano_ti_lite_320_full_integer_quant.tflite"
Y416 = MODELS / "yolox_nano_ti_lite_416_full_integer_quant.tflite"
SSD = MODELS / "coco_ssd_mobilenet_v1_1.0_quant_2018_06_29_detect.tflite"
SSD_LABELS = MODELS / "coco_labels.txt"
OFF_BY_ONE = MODELS / "coco_labelmap_with_background.txt"  # index = class + 1: the classic wrong label map
COCO80 = ROOT / "models" / "coco80_labels.txt"
CLIP = MEDIA / "one-by-one-person-detection.mp4"  # six visitors, one after the other, most of the time
HOSTS = {"a": "Gate-North", "b": "Gate-South.site.lan", "c": "GATE-EAST"}
DONE = {"active", "rejected", "rolled back"}


def _own_hostnames() -> bool:
    """Each process can get its own host name (root, or CAP_SYS_ADMIN, with util-linux unshare)."""
    try:
        return subprocess.run(["unshare", "--uts", "true"], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


class Node:
    def __init__(self, root: Path, key: str, host: str, port: int, public: str, own_host: bool, **updates: Any):
        self.name = node_name_from_host(host)
        self.dir = root / key
        self.dir.mkdir()
        config = {
            "detector": {"model_path": str(Y320)}, "faces": {"enabled": False}, "web": {"enabled": False},
            "mqtt": {"enabled": True, "host": "127.0.0.1", "port": port, "stats_interval": 1, "reconnect_min": 1,
                     "reconnect_max": 2},
            "updates": {"keys": [public], "sample_interval": 0.5, "min_objects": 3, "allowed_loss": 0.3,
                        "watch_period": 6, "retry_interval": 60, **updates},
            "cameras": {"door": {"url": str(CLIP), "source": {"realtime": True, "loop": True},
                                 "detect": {"fps": 3}, "objects": {"track": ["person"]}}},
        }  # fmt: skip
        if not own_host:  # no namespace for a host name of its own: the name it would get from it
            config["node"] = {"name": self.name}
        self.config = self.dir / "config.yml"
        self.config.write_text(yaml.safe_dump(config))
        self.log = self.dir / "camwatch.log"
        env = {**os.environ, "CAMWATCH_CONFIG": str(self.config), "CAMWATCH_DATA": str(self.dir / "data")}
        command = [sys.executable, "-m", "camwatch", "run", "--config", str(self.config)]
        if own_host:
            command = ["unshare", "--uts", "sh", "-c", 'hostname "$0" && exec "$@"', host, *command]
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)

    def close(self) -> None:
        self.stop()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)


class Fleet:
    def __init__(self, root: Path, broker: MosquittoBroker, http: ModelHttpServer) -> None:
        self.root, self.broker, self.http = root, broker, http
        self.owner, self.stranger = generate_key(), generate_key()
        self.own_host = _own_hostnames()
        self.nodes: dict[str, Node] = {}
        self.sub = Subscriber(broker.port, ["camwatch/#", "homeassistant/#"])

    def start(self, key: str, **updates: Any) -> Node:
        node = Node(self.root, key, HOSTS[key], self.broker.port, self.owner.public, self.own_host, **updates)
        self.nodes[key] = node
        return node

    # -------------------------------------------------------------- reading
    def last(self, node: Node, rest: str) -> Any:
        message = self.sub.last(f"camwatch/{node.name}/{rest}")
        return message.json() if message and message.payload else None

    def states(self, node: Node, since: float = 0.0) -> list[dict[str, Any]]:
        found = [m.json() for m in self.sub.on(f"camwatch/{node.name}/model/state") if m.payload]
        return [s for s in found if s["time"] >= since]

    def wait_state(self, node: Node, since: float, check: Any, what: str, timeout: float = 90.0) -> dict[str, Any]:
        def found() -> dict[str, Any] | None:
            return next((s for s in self.states(node, since) if check(s)), None)

        try:
            return self.sub.wait_for(found, timeout, f"{node.name}: {what}")
        except AssertionError:
            seen = [(s["state"], s["version"], s["reason"]) for s in self.states(node, since)]
            raise AssertionError(f"{node.name}: no {what}; states {seen}\n{node.text()[-3000:]}") from None

    def done(self, node: Node, since: float, version: int) -> dict[str, Any]:
        return self.wait_state(node, since, lambda s: s["version"] == version and s["state"] in DONE, f"v{version}")

    def refused(self, node: Node, since: float, words: str) -> dict[str, Any]:
        """A forged manifest: counted beside the node's real result, never the result itself."""
        def found() -> dict[str, Any] | None:
            for state in self.states(node):
                refused = state.get("refused") or {}
                if refused.get("time", 0) >= since and words in refused.get("reason", ""):
                    return state
            return None

        return self.sub.wait_for(found, 60, f"{node.name}: refused …{words}…")

    def calls(self, node: Node) -> int:
        stats = self.last(node, "stats")
        return int(stats["detector"]["calls"]) if stats else 0

    def still_detecting(self, node: Node, sha256: str) -> None:
        """The node runs ``sha256`` and its detector keeps being called."""
        before = self.calls(node)
        self.sub.wait_for(lambda: self.calls(node) > before, 30, f"{node.name} detecting")
        assert self.last(node, "status")["model"]["sha256"] == sha256

    def fleet_status(self, node: Node) -> str:
        """`camwatch fleet status` with ``node``'s config, in this process: the nodes already load
        the machine, a fresh interpreter would only add its start-up (the command run as its own
        process is tested in test_fleet_status_input.py)."""
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(["fleet", "status", "--config", str(node.config)])
        assert code == 0, err.getvalue()
        return out.getvalue()

    # -------------------------------------------------------------- writing
    def manifest(self, model: Path, version: int, labels: Path, layout: str, target: str = "*", **changes: Any):
        data = {"name": model.stem.split("_full")[0][:60], "version": version, "url": self.http.url("/" + model.name),
                "sha256": sha256_of(model), "size": model.stat().st_size, "layout": layout,
                "labels": load_labels(labels), "target": target, "issued": int(time.time()), **changes}  # fmt: skip
        return parse_manifest(data)

    def publish(self, manifest: Any, topic: str | None = None, key: Any = None, unsigned: bool = False) -> float:
        pair = key or self.owner
        envelope = sign_manifest(manifest, serialization.load_pem_private_key(pair.private_pem, None))
        if unsigned:
            del envelope["signature"]
        topic = topic or ("camwatch/fleet/model/desired" if manifest.for_fleet
                          else f"camwatch/{manifest.target}/model/desired")  # fmt: skip
        now = time.time()
        self.sub.publish(topic, json.dumps(envelope), retain=True)
        return now

    def close(self) -> None:
        for node in self.nodes.values():  # all stop at once
            node.stop()
        for node in self.nodes.values():
            node.close()
        self.sub.close()


@pytest.fixture
def fleet(tmp_path: Path) -> Iterator[Fleet]:
    require_mosquitto()
    require(all(p.is_file() for p in (Y320, Y416, SSD, SSD_LABELS, OFF_BY_ONE, CLIP)), "models, label maps and clip")
    served = tmp_path / "served"
    served.mkdir()
    for model in (Y320, Y416, SSD):
        shutil.copy(model, served / model.name)
    with MosquittoBroker() as broker, ModelHttpServer(served) as http:
        running = Fleet(tmp_path, broker, http)
        try:
            yield running
        finally:
            running.close()


@pytest.mark.slow
def test_three_nodes_signed_updates_refusals_catch_up_and_rollbacks(fleet: Fleet) -> None:
    # b keeps no frames: its watch period is the guard, long enough to see people whatever the
    # clip's phase (the longest gap between visitors is 7.4 s)
    a, b = fleet.start("a"), fleet.start("b", recent_frames=0, watch_period=15, sample_interval=0.3)
    if not fleet.own_host:
        print("no UTS namespace here: node names set in the config to what the host names would give")
    y320, y416, ssd = sha256_of(Y320), sha256_of(Y416), sha256_of(SSD)
    for node in (a, b):
        fleet.sub.wait_payload(f"camwatch/{node.name}/available", "online", timeout=60)
    runs = {n.name: fleet.sub.wait_for(lambda n=n: fleet.last(n, "status"), 30, f"{n.name}'s status")["run"]
            for n in (a, b)}  # fmt: skip
    assert (a.name, b.name) == ("gate-north", "gate-south")

    # ---- refused, each with its reason, the running model untouched (while the first visitor
    # ---- walks in: the clip's first person comes after 5 s)
    y416_v1 = fleet.manifest(Y416, 1, COCO80, "yolox")
    since = fleet.publish(y416_v1, key=fleet.stranger)
    for node in (a, b):
        result = fleet.refused(node, since, "does not verify against any key")
        assert result["state"] == "idle", result  # the node's own result stays what it was
    fleet.publish(y416_v1, unsigned=True)  # counted; the next publish of the state says so
    time.sleep(1.0)  # taken before the next one replaces it on the topic
    since = fleet.publish(fleet.manifest(Y416, 1, COCO80, "yolox", sha256=y320))
    for node in (a, b):  # wrong bytes may be the transport's fault: tried again later, v1 not used up
        failed = fleet.wait_state(node, since, lambda s: s["state"] == "failed" and "SHA-256 mismatch" in s["reason"],
                                  "failed: SHA-256 mismatch")  # fmt: skip
        assert failed["refused"]["count"] == 2 and "not signed (no signature)" in failed["refused"]["reason"]
    since = fleet.publish(fleet.manifest(SSD, 2, COCO80, "yolox"))
    person_seen = {}
    for node in (a, b):
        assert "wrong layout" in fleet.done(node, since, 2)["reason"]
        fleet.sub.wait_for(lambda n=node: any(m.json()["event"]["label"] == "person"
                                              for m in fleet.sub.on(f"camwatch/{n.name}/events")), 60,
                           f"{node.name}: a person")  # fmt: skip
        person_seen[node.name] = time.monotonic()
        fleet.still_detecting(node, y320)

    # ---- the fleet gets YOLOX 416: applied by both, no restart, people found through the swap
    # (judged on a's recent frames with people: one kept each 0.5 s, a few seconds of them first)
    time.sleep(max(0.0, 4.0 - (time.monotonic() - person_seen[a.name])))
    since = fleet.publish(fleet.manifest(Y416, 3, COCO80, "yolox"))
    # a node started after the rollout (its retained desired model) starts while the others install it
    c = fleet.start("c")
    for node in (a, b):
        result = fleet.done(node, since, 3)
        assert result["state"] == "active", result
        steps = [s["state"] for s in fleet.states(node, since) if s["version"] == 3]
        assert steps[0] == "downloading" and steps[-1] == "active"
        assert {"verifying", "testing", "watching"} <= set(steps), steps
        seen = len(fleet.sub.on(f"camwatch/{node.name}/events"))
        fleet.sub.wait_for(lambda n=node, k=seen: any(m.json()["event"]["label"] == "person"
                                                      for m in fleet.sub.on(f"camwatch/{n.name}/events")[k:]),
                           60, f"{node.name}: people found by the new model")  # fmt: skip
        assert result["swap_ms"] < 1000
        fleet.still_detecting(node, y416)
        assert node.proc.poll() is None and fleet.last(node, "status")["run"] == runs[node.name]
        assert node.text().count("v3: downloading") == 1 and node.text().count("v3: active") == 1  # logged once
        print(f"{node.name} v3: swap {result['swap_ms']} ms, shadow {result['shadow']}, watch {result['watch']}")
    assert fleet.states(a, since)[-1]["shadow"]["found"] >= 3  # judged on a's recent frames

    # ---- the node started after the rollout catches up from the retained desired model
    assert fleet.done(c, 0, 3)["state"] == "active"
    fleet.still_detecting(c, y416)
    table = fleet.fleet_status(a)
    for node in (a, b, c):
        line = next(x for x in table.splitlines() if x.startswith(node.name))
        assert " online " in line and "yolox_nano_ti_lite_416 v3" in line and y416[:12] in line, table

    # ---- a model that finds nothing: rejected by the shadow test, or rolled back by the watch
    time.sleep(2)
    since = fleet.publish(fleet.manifest(SSD, 4, OFF_BY_ONE, "ssd", target=a.name))
    fleet.publish(fleet.manifest(SSD, 5, OFF_BY_ONE, "ssd", target=b.name))
    result = fleet.done(a, since, 4)
    assert result["state"] == "rejected" and result["reason"].startswith("shadow test: found 0 of the"), result
    result = fleet.done(b, since, 5)
    assert result["state"] == "rolled back" and result["reason"].startswith("watch period: found 0 of the"), result
    for node in (a, b):
        fleet.still_detecting(node, y416)
    print(fleet.fleet_status(a))

    # ---- YOLOX → SSD for the whole fleet (b's longer watch ends while the rest goes on)
    ssd_since = fleet.publish(fleet.manifest(SSD, 6, SSD_LABELS, "ssd"))
    for node in (a, c):
        assert fleet.done(node, ssd_since, 6)["state"] == "active"
        fleet.still_detecting(node, ssd)

    # ---- discovery: three node devices, their cameras under them, nothing shared
    configs = {m.topic: m.json() for m in fleet.sub.messages if m.topic.startswith("homeassistant/") and m.payload}
    unique_ids = [cfg["unique_id"] for cfg in configs.values()]
    assert len(unique_ids) == len(set(unique_ids))
    devices = {cfg["device"]["identifiers"][0]: cfg["device"].get("via_device") for cfg in configs.values()}
    for node in (a, b, c):
        assert devices[f"camwatch_{node.name}"] is None
        assert devices[f"camwatch_{node.name}_door"] == f"camwatch_{node.name}"

    # ---- a killed node: its last will says offline, the others stay online
    c.proc.send_signal(signal.SIGKILL)
    c.proc.wait(10)
    fleet.sub.wait_payload(f"camwatch/{c.name}/available", "offline", timeout=120)
    table = fleet.fleet_status(a)
    assert " offline " in next(x for x in table.splitlines() if x.startswith(c.name)), table
    assert table.splitlines()[-1] == "3 node(s): 2 online, 1 not online", table
    assert fleet.done(b, ssd_since, 6)["state"] == "active"
    fleet.still_detecting(b, ssd)
    for node in (a, b):
        assert node.proc.poll() is None and fleet.last(node, "status")["run"] == runs[node.name]
    print(table)
