"""Home Assistant's own code judges every discovery config and every state camwatch publishes.

A real camwatch (a clip with people, zones, an opted-in snapshot, remote updates on) publishes
to a real Mosquitto while a signed model update runs to ``active`` and a forged one is
refused; a subscriber records everything. Then ``tests/support/ha_schema_check.py`` runs in
a venv with Home Assistant 2025.4.4 (``scripts/_ha_venv.sh``, which ``scripts/test`` runs)
and reads it all as Home Assistant would: each config through its platform's schemas, each
message on a topic a config points at the way that platform parses it (the update entity's
``MQTT_JSON_UPDATE_SCHEMA`` among them: a real Home Assistant refused every model state with
``extra keys not allowed @ data['state']``).
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

from camwatch.app import Camwatch
from camwatch.config import parse_config
from camwatch.detectors.labels import load_labels
from camwatch.detectors.plugins.ssd import SsdDetector
from camwatch.fleet.manifest import parse_manifest
from camwatch.fleet.signing import generate_key, sign_manifest
from camwatch.models import sha256_of
from tests.conftest import COCO_LABELS, MEDIA, MODELS, ROOT, SSD_MODEL, require
from tests.mqtt_support import Subscriber, require_mosquitto
from tests.support.http_server import ModelHttpServer
from tests.support.mosquitto import MosquittoBroker

CHECKER = ROOT / "tests" / "support" / "ha_schema_check.py"
REQUIREMENTS = ROOT / "tests" / "support" / "ha-requirements.txt"
HA_PYTHON = Path(os.environ.get("CAMWATCH_HA_PYTHON")
                 or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "camwatch/ha-venv/bin/python")  # fmt: skip
Y320 = MODELS / "yolox_nano_ti_lite_320_full_integer_quant.tflite"
COCO80 = ROOT / "models" / "coco80_labels.txt"
PEOPLE = MEDIA / "one-by-one-person-detection.mp4"  # a person from about 6 s on
NODE = "ha-check"
WEB_URL = "http://camwatch.test:5080"


def _ha_version() -> str:
    line = next(x for x in REQUIREMENTS.read_text().splitlines() if x.startswith("homeassistant=="))
    return line.split("==", 1)[1]


def _ha_ready() -> bool:
    if not HA_PYTHON.is_file():
        return False
    probe = subprocess.run([str(HA_PYTHON), "-c", "import homeassistant.const as c; print(c.__version__)"],
                           capture_output=True, text=True, timeout=120)  # fmt: skip
    return probe.returncode == 0 and probe.stdout.strip() == _ha_version()


@pytest.fixture
def clip(tmp_path: Path) -> Path:
    require(PEOPLE.is_file() and SSD_MODEL.is_file() and Y320.is_file(), "people clip, SSD and YOLOX 320 models")
    target = tmp_path / "people.mp4"
    command = ["ffmpeg", "-v", "error", "-y", "-ss", "6", "-i", str(PEOPLE), "-t", "8", "-an", "-c:v", "libx264",
               "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(target)]  # fmt: skip
    try:
        subprocess.run(command, check=True, capture_output=True, timeout=120)
    except FileNotFoundError:
        require(False, "ffmpeg (apt-get install ffmpeg)")
    return target


@pytest.fixture
def served(tmp_path: Path) -> Iterator[ModelHttpServer]:
    root = tmp_path / "served"
    root.mkdir()
    shutil.copy(Y320, root / Y320.name)
    with ModelHttpServer(root) as server:
        yield server


def _signed(served: ModelHttpServer, key: Any, version: int) -> bytes:
    manifest = parse_manifest({
        "name": "yolox_nano_320", "version": version, "url": served.url("/" + Y320.name), "sha256": sha256_of(Y320),
        "size": Y320.stat().st_size, "layout": "yolox", "labels": load_labels(COCO80), "target": "*",
    })  # fmt: skip
    return json.dumps(sign_manifest(manifest, key)).encode()


def _capture(sub: Subscriber) -> dict[str, Any]:
    messages = [{"topic": m.topic, "payload": base64.b64encode(m.payload).decode(), "retain": m.retain}
                for m in sub.messages]  # fmt: skip
    return {"discovery_prefix": "homeassistant", "messages": messages}


def test_home_assistant_takes_every_config_and_state_camwatch_publishes(
    tmp_path: Path, clip: Path, served: ModelHttpServer
) -> None:
    require_mosquitto()
    require(_ha_ready(), f"Home Assistant {_ha_version()} venv at {HA_PYTHON} (scripts/test builds it)")
    pair = generate_key()
    key = serialization.load_pem_private_key(pair.private_pem, None)
    with MosquittoBroker() as broker:
        sub = Subscriber(broker.port, ["camwatch/#", "homeassistant/#"])
        config = parse_config({
            "data_dir": str(tmp_path / "data"), "detector": {"model_path": str(SSD_MODEL)},
            "faces": {"enabled": False}, "web": {"enabled": False}, "node": {"name": NODE},
            "mqtt": {"enabled": True, "host": "127.0.0.1", "port": broker.port, "stats_interval": 1,
                     "motion_off_delay": 0.5, "web_url": WEB_URL},
            "updates": {"keys": [pair.public], "watch_period": 0, "retry_interval": 1},
            "cameras": {"door": {"url": str(clip), "source": {"realtime": True}, "detect": {"fps": 5},
                                 "objects": {"track": ["person", "car"]}, "mqtt": {"snapshot": True},
                                 "zones": {"path": {"coordinates": [[0, 0], [1, 0], [1, 1], [0, 1]]}}}},
        })  # fmt: skip
        app = Camwatch(config, detector=SsdDetector(SSD_MODEL, load_labels(COCO_LABELS), num_threads=1), with_web=False)
        app.start()
        try:
            sub.wait_payload(f"camwatch/{NODE}/available", "online", timeout=30)
            sub.publish("camwatch/fleet/model/desired", b'{"manifest": "{}", "signature": "AAAA"}', retain=True)
            sub.wait_for(lambda: any(m.payload and m.json().get("event", {}).get("label") == "person"
                                     for m in sub.on(f"camwatch/{NODE}/events")), 60, "a person event")  # fmt: skip
            sub.publish("camwatch/fleet/model/desired", _signed(served, key, 1), retain=True)
            sub.wait_for(lambda: any(m.payload and m.json().get("state") == "active"
                                     for m in sub.on(f"camwatch/{NODE}/model/state")), 90, "the update active")  # fmt: skip
            sub.wait_for(lambda: sub.on(f"camwatch/{NODE}/door/alerts"), 30, "an alert")
            sub.wait_for(lambda: sub.on(f"camwatch/{NODE}/door/snapshot"), 30, "a snapshot")
            time.sleep(1.5)  # a stats round after the update
        finally:
            app.stop()
        time.sleep(0.5)
        sub.close()
    capture = _capture(sub)
    update_states = [json.loads(base64.b64decode(m["payload"])) for m in capture["messages"]
                     if m["topic"] == f"camwatch/{NODE}/model/update"]  # fmt: skip
    assert any(s["in_progress"] for s in update_states) and update_states[-1]["in_progress"] is False
    assert "v1" in update_states[-1]["installed_version"] and update_states[-1]["release_url"] == f"{WEB_URL}/system"
    started = time.monotonic()
    verdict = subprocess.run([str(HA_PYTHON), str(CHECKER)], input=json.dumps(capture), capture_output=True,
                             text=True, timeout=300)  # fmt: skip
    assert verdict.returncode == 0, verdict.stderr[-3000:]
    result = json.loads(verdict.stdout)
    print(f"Home Assistant checked in {time.monotonic() - started:.1f} s: {result['checked']}")
    assert result["problems"] == [], "\n".join(result["problems"])
    checked = result["checked"]
    for component in ("binary_sensor", "sensor", "switch", "event", "image", "update"):
        assert checked.get(f"configs {component}"), (component, checked)
    # the states behind them were judged, not only the configs
    assert checked["states on update"] >= 4 and checked["states on alerts"] >= 1, checked
    assert checked["states on available"] >= 10 and checked["states on snapshot"] >= 1, checked
    assert checked["states on status"] >= 2 and checked["states on stats"] >= 2, checked
