"""`camwatch fleet status` reads retained messages any broker client can write (real Mosquitto, real CLI).

Next to a real node, a stranger leaves malformed statuses (a list, wrong types, 5 000 levels
of nesting, bytes that are not UTF-8), terminal escape sequences and text-reordering
characters in every field, and topic levels that are no node name. The command still lists
the real node correctly, flags each bad one with what was ignored, exits 0 with no
traceback, and prints no control character, in the table and in ``--json``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from camwatch.app import Camwatch
from camwatch.config import parse_config
from camwatch.detectors.plugins.ssd import SsdDetector, load_labels
from tests.conftest import COCO_LABELS, SSD_MODEL
from tests.mqtt_support import Subscriber, require_mosquitto
from tests.support.mosquitto import MosquittoBroker

ESCAPES = "\x1b[2K\r\x1b[1A\x1b]0;owned\x07\u202e"
CONTROL = [chr(c) for c in (*range(0x00, 0x09), *range(0x0B, 0x20), 0x7F)] + ["\u202e", "\x9b"]


@pytest.fixture
def broker() -> Iterator[MosquittoBroker]:
    require_mosquitto()
    with MosquittoBroker() as running:
        yield running


def _fleet_status(config: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CAMWATCH_CONFIG": str(config)}
    return subprocess.run([sys.executable, "-m", "camwatch", "fleet", "status", "--config", str(config), *extra],
                          capture_output=True, text=True, timeout=60, env=env)  # fmt: skip


def test_fleet_status_survives_and_sanitises_what_strangers_retain(broker: MosquittoBroker, tmp_path: Path) -> None:
    config = parse_config({
        "data_dir": str(tmp_path / "data"), "detector": {"model_path": str(SSD_MODEL)}, "faces": {"enabled": False},
        "web": {"enabled": False}, "node": {"name": "gate-real"},
        "mqtt": {"enabled": True, "host": "127.0.0.1", "port": broker.port, "stats_interval": 1},
        "cameras": {"door": {"url": str(tmp_path / "missing.mp4")}},
    })  # fmt: skip
    app = Camwatch(config, detector=SsdDetector(SSD_MODEL, load_labels(COCO_LABELS), num_threads=1), with_web=False)
    app.start()
    stranger = Subscriber(broker.port, ["unused/#"])
    now = time.time()
    junk: dict[str, bytes] = {
        "camwatch/evil1/status": b"[1,2,3]",
        "camwatch/evil2/status": json.dumps({"detector_ms": "abc", "time": 1, "cameras": [1], "disk": "full"}).encode(),
        "camwatch/evil3/status": json.dumps({
            "version": ESCAPES + "1.0", "time": now, "detector_ms": 12.0,
            "model": {"name": "yolo" + ESCAPES, "sha256": ESCAPES, "version": "7"},
            "cameras": {"online": -1, "offline": 2}, "disk": {"free_bytes": float("1e300")},
        }).encode(),
        "camwatch/evil3/available": ("online" + ESCAPES).encode(),
        "camwatch/evil4/status": b"[" * 5000,
        "camwatch/evil4/available": b"\xff\xfe\x1b[2J",
        "camwatch/evil5/status": json.dumps({"time": now, "update": {"state": ESCAPES, "reason": ESCAPES * 20}}).encode(),
        "camwatch/evil5/model/state": json.dumps({"state": {"x": 1}, "progress": "99", "version": "abc"}).encode(),
        "camwatch/evil6/status": b"\xff" * 100,
        "camwatch/Not_A-Node/status": json.dumps({"time": now}).encode(),  # Mosquitto refuses control characters there
        "camwatch/x\u202ey/available": b"online",
        # a node that says online but whose status stopped coming a long time ago
        "camwatch/gate-gone/status": json.dumps({"node": "gate-gone", "time": now - 600, "interval": 1}).encode(),
        "camwatch/gate-gone/available": b"online",
    }
    for topic, payload in junk.items():
        stranger.publish(topic, payload, retain=True)
    stranger.close()
    path = tmp_path / "config.yml"
    path.write_text(yaml.safe_dump({"mqtt": {"enabled": True, "host": "127.0.0.1", "port": broker.port}}))
    try:
        deadline = time.monotonic() + 20
        # each call reads what is retained until the broker goes quiet: on a loaded machine a
        # call can end before every node's messages arrived (seen at load 16), so ask again
        while not {"gate-real", "gate-gone"} <= set((result := _fleet_status(path)).stdout.split()):
            if time.monotonic() > deadline:
                break
            time.sleep(0.5)
        while '"gate-gone"' not in (as_json := _fleet_status(path, "--json")).stdout:
            if time.monotonic() > deadline:
                break
            time.sleep(0.5)
    finally:
        app.stop()
    print(result.stdout)
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr[-2000:]
    out = result.stdout
    assert not [c for c in CONTROL if c in out], [hex(ord(c)) for c in CONTROL if c in out]
    lines = out.splitlines()
    summary = next(i for i, line in enumerate(lines) if " node(s): " in line)
    row = {line.split()[0]: line for line in lines[1:summary]}
    assert " online " in row["gate-real"] and "0 on / 1 off" in row["gate-real"]
    assert {"evil1", "evil2", "evil3", "evil4", "evil5", "evil6", "gate-gone"} <= set(row), sorted(row)
    assert " offline " in row["gate-gone"]
    assert " unknown " in row["evil3"] and " - " in row["evil3"]  # availability and sha256 ignored
    notes = "\n".join(line for line in lines if line.startswith("  "))
    assert "evil1: status ignored (not a JSON object)" in notes
    assert "evil2: status detector_ms ignored (not a valid value)" in notes and "evil2: status cameras ignored" in notes
    assert "evil4: status ignored (nested deeper than" in notes and "evil4: availability ignored" in notes
    assert "evil6: status ignored (not UTF-8 text)" in notes
    assert "evil5: model state state ignored" in notes and "evil5: model state progress ignored" in notes
    assert re.search(r"gate-gone: no status for 6\d\d s: shown offline", notes), notes
    assert "ignored 2 message(s) under a topic level that is no node name" in notes
    assert lines[summary].startswith(f"{len(row)} node(s): 1 online")

    assert as_json.returncode == 0 and "Traceback" not in as_json.stderr
    assert not [c for c in CONTROL if c in as_json.stdout]
    data = json.loads(as_json.stdout)
    assert data["gate-gone"]["state"] == "offline" and data["gate-real"]["state"] == "online"
    assert data["evil3"]["status"]["version"].startswith(ESCAPES)  # kept as received, escaped by JSON
