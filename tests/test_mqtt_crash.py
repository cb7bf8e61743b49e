"""camwatch killed (SIGKILL) and started again, as an MQTT subscriber sees it.

A real `camwatch run` process with two file cameras played in real time (people walking
by; a dark cellar whose view_dark anomaly lasts), a real detector and Mosquitto. Checked:
while camwatch is dead nothing retained says it is online; after the restart every event
the crash left open gets its `end` (with the next `seq`, once, without a second alert), an
anomaly keeps its real duration; a clean stop leaves empty counts, no tamper, cameras
offline and one end reason.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from camwatch.anomaly.events import UPDATE_INTERVAL
from camwatch.const import END_REASON_STOPPED
from tests.conftest import MEDIA, SSD_MODEL, require
from tests.mqtt_support import Subscriber, require_mosquitto
from tests.support.mosquitto import MosquittoBroker

PEOPLE = MEDIA / "one-by-one-person-detection.mp4"  # visitors at 5-20 s, 23-44 s, 50-70 s, ...
RESTARTED = "camwatch restarted (previous run did not end cleanly)"


@pytest.fixture
def broker() -> Iterator[MosquittoBroker]:
    """Keeps the subscriber's session (and its queued messages) while camwatch is away."""
    require_mosquitto()
    running = MosquittoBroker()
    conf = running.conf_path.read_text().replace(
        "persistence false", f"persistence true\npersistence_location {running.workdir}/"
    )
    running.conf_path.write_text(conf)
    running.start()
    yield running
    running.close()


def _dark_clip(target: Path) -> Path:
    cmd = ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "color=c=black:s=320x240:r=10", "-t", "20",
           "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(target)]  # fmt: skip
    try:
        subprocess.run(cmd, check=True, capture_output=True, timeout=120)
    except FileNotFoundError:
        require(False, "ffmpeg (apt-get install ffmpeg)")
    return target


def _config(path: Path, port: int, dark: Path) -> Path:
    live = {"realtime": True, "loop": True}
    raw = {
        "detector": {"model_path": str(SSD_MODEL)},
        "faces": {"enabled": False},
        "web": {"enabled": False},
        "mqtt": {"enabled": True, "host": "127.0.0.1", "port": port, "reconnect_min": 1, "reconnect_max": 2},
        "node": {"name": "node1"},
        "cameras": {
            # 2 detections a second are plenty to follow a visitor; what is tested is the events' life
            "door": {"url": str(PEOPLE), "source": live, "detect": {"fps": 2}, "objects": {"track": ["person"]}},
            # dark from its first second on (not after the default 10 s): the test waits for its updates
            "cellar": {"url": str(dark), "source": live, "objects": {"track": ["person"]},
                       "tamper": {"persistence": {"view_dark": 1}}},
        },
    }
    path.write_text(yaml.safe_dump(raw))
    return path


class Run:
    """One `camwatch run` process, its output in a log file."""

    def __init__(self, config: Path, data: Path, log: Path) -> None:
        self.log = log
        env = {**os.environ, "CAMWATCH_DATA": str(data)}
        with log.open("ab") as out:
            self.proc = subprocess.Popen([sys.executable, "-m", "camwatch", "run", "--config", str(config)],
                                         stdout=out, stderr=subprocess.STDOUT, env=env)  # fmt: skip

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


def _messages(sub: Subscriber) -> list[dict[str, Any]]:
    """Event messages, each once (QoS 1 may repeat one): deduplicated by (id, type, seq)."""
    seen: dict[tuple[str, str, int], dict[str, Any]] = {}
    for message in sub.on("camwatch/node1/events"):
        data = message.json()
        seen.setdefault((data["event"]["id"], data["type"], data["event"]["seq"]), data)
    return list(seen.values())


def _open(messages: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    ended = {m["event"]["id"] for m in messages if m["type"] == "end"}
    return {m["event"]["id"]: m["event"] for m in messages if m["type"] == "new" and m["event"]["id"] not in ended}


def _retained(port: int, topics: list[str]) -> dict[str, bytes]:
    """What a client connecting now is told (the retained values)."""
    late = Subscriber(port, topics)
    try:
        late.wait_for(lambda: all(late.last(t) for t in topics), 10, f"retained {topics}")
        return {t: late.last(t).payload for t in topics}
    finally:
        late.close()


@pytest.mark.slow
def test_sigkill_and_restart_close_every_event_and_leave_no_stale_state(
    broker: MosquittoBroker, tmp_path: Path, ssd_model: Path, shared_media: Path
) -> None:
    config = _config(tmp_path / "config.yml", broker.port, _dark_clip(tmp_path / "dark.mp4"))
    data = tmp_path / "data"
    sub = Subscriber(broker.port, ["camwatch/#"], persistent=True)
    first = Run(config, data, tmp_path / "first.log")
    dark_since: list[float] = []
    try:
        def ready() -> bool:
            messages = _messages(sub)
            still_open = _open(messages).values()
            dark = [e for e in still_open if e["subtype"] == "view_dark"]
            if dark and not dark_since:
                dark_since.append(time.monotonic())
            people = [e for e in still_open if e["label"] == "person"]
            return bool(people and dark and time.monotonic() - dark_since[0] >= 2.5 * UPDATE_INTERVAL)

        sub.wait_for(ready, 150, "a person and a dark view open together for a while")
        first.proc.send_signal(signal.SIGKILL)
        first.proc.wait(10)
    finally:
        first.close()
    first_run = _messages(sub)
    left_open = _open(first_run)
    assert any(e["label"] == "person" for e in left_open.values()), left_open

    # camwatch is dead: the node and every camera read offline (last wills), nothing online
    status = ["camwatch/node1/available", "camwatch/node1/door/status", "camwatch/node1/cellar/status"]
    sub.wait_for(lambda: all(sub.last(t) and sub.last(t).payload == b"offline" for t in status), 15, "wills")
    assert set(_retained(broker.port, status).values()) == {b"offline"}

    second = Run(config, data, tmp_path / "second.log")
    try:
        sub.wait_for(lambda: not (set(left_open) & set(_open(_messages(sub)))), 60, "an end for every open event")
        messages = _messages(sub)
        for event_id, started in left_open.items():
            mine = [m for m in messages if m["event"]["id"] == event_id]
            ends = [m for m in mine if m["type"] == "end"]
            assert len(ends) == 1, mine
            end = ends[0]["event"]
            assert end["end_reason"] == RESTARTED
            before = [m["event"]["seq"] for m in mine if m["type"] != "end"]
            assert sorted(before) == list(range(len(before))) and end["seq"] == len(before), (before, end["seq"])
            assert end["end_time"] == max(m["event"]["last_seen"] or 0 for m in mine)
            if started["subtype"] == "view_dark":
                # as long as the dark view lasted (to its last update before the kill), not zero
                assert end["end_time"] - end["start_time"] >= 2 * UPDATE_INTERVAL, end
        alerted = [a.json()["event_id"] for cam in ("door", "cellar") for a in sub.on(f"camwatch/node1/{cam}/alerts")]
        assert len(alerted) == len(set(alerted)), "an event alerted twice"

        # a clean stop while a dark view is open again
        sub.wait_for(lambda: any(e["subtype"] == "view_dark" for e in _open(_messages(sub)).values()), 60,
                     "the dark view in the second run")  # fmt: skip
        second.proc.send_signal(signal.SIGTERM)
        assert second.proc.wait(60) == 0, second.text()[-3000:]
    finally:
        second.close()
    assert "Traceback" not in second.text() and "terminate called" not in second.text()
    sub.wait_payload("camwatch/node1/available", "stopped", timeout=10)
    final = _messages(sub)
    assert not _open(final), _open(final)
    stop_reasons = {m["event"]["end_reason"] for m in final
                    if m["type"] == "end" and m["event"]["end_reason"] not in (RESTARTED, "gone", "recovered")}
    assert stop_reasons == {END_REASON_STOPPED}, stop_reasons
    onlines = [m for m in sub.on("camwatch/node1/available") if m.payload == b"online"]
    assert len(onlines) == 2, "online once per run"
    retained = _retained(broker.port, [*status, "camwatch/node1/door/objects/person", "camwatch/node1/cellar/tamper"])
    assert retained["camwatch/node1/available"] == b"stopped"
    assert retained["camwatch/node1/door/status"] == retained["camwatch/node1/cellar/status"] == b"offline"
    assert retained["camwatch/node1/door/objects/person"] == b"0"
    assert b'"active":false' in retained["camwatch/node1/cellar/tamper"]
    sub.close()
