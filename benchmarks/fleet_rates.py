"""What one camwatch node sends to the broker, by kind, and what a fleet of N nodes would send.

    python benchmarks/fleet_rates.py [--minutes 5] [--cameras 2] [--fps 5] [--fleet 500] [--json out.json]

Starts a Mosquitto on a free loopback port and a real `camwatch run` with file cameras that
loop real clips of people walking (in real time, the default detector, default MQTT
settings: stats every 30 s, motion OFF after 10 s, no snapshots), and counts every message
on ``camwatch/#`` and ``homeassistant/#`` with its payload size over ``--minutes`` after a warm-up; then a
fresh client reads what the broker keeps retained for the node — exactly what the node
publishes again at every (re)connect (availability, discovery, every retained state). It prints the per-node rates by kind and multiplies them by ``--fleet``,
with the broker connections (one per node plus one per camera for the last wills) and the
retained messages the broker keeps. Numbers for docs/fleet.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import yaml
from paho.mqtt.enums import CallbackAPIVersion

SHARED = Path(os.environ.get("CAMWATCH_SHARED", Path(__file__).resolve().parent.parent.parent / "shared"))
CLIPS = ("one-by-one-person-detection.mp4", "walking-by.h264", "lightout-after-movement.h264", "light-dark.h264")
MODEL = "yolox_nano_ti_lite_320_full_integer_quant.tflite"
MOSQUITTO = "/usr/sbin/mosquitto"
WARMUP_S = 30.0
RETAINED_QUIET = 2.0  # seconds without a new retained message: the broker sent them all


def kind_of(topic: str, node: str) -> str:
    if topic.startswith("homeassistant/"):
        return "discovery"
    rest = topic.split("/", 2)[2] if topic.count("/") >= 2 else ""
    if rest == "events":
        return "events"
    if rest.endswith("/alerts"):
        return "alerts"
    if rest in ("stats", "status") or rest.endswith("/stats"):
        return "stats + node status"
    if rest.startswith("model/"):
        return "model state"
    if rest == "available" or rest.endswith("/status"):
        return "availability"
    return "states (motion, counts, tamper, switches)"


class Counter:
    def __init__(self, port: int, name: str = "bench") -> None:
        self.lock = threading.Lock()
        self.messages: list[tuple[float, str, int, bool]] = []
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"{name}-{os.getpid()}")
        self.client.on_connect = lambda c, *_: c.subscribe([("camwatch/#", 1), ("homeassistant/#", 1)])
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def _on_message(self, _c: Any, _u: Any, msg: mqtt.MQTTMessage) -> None:
        with self.lock:
            self.messages.append((time.monotonic(), msg.topic, len(msg.payload), bool(msg.retain)))

    def between(self, start: float, end: float) -> list[tuple[float, str, int, bool]]:
        with self.lock:
            return [m for m in self.messages if start <= m[0] < end]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def retained(port: int) -> list[tuple[float, str, int, bool]]:
    """What a client connecting now is given: every retained message."""
    late = Counter(port, "late")
    last = time.monotonic()
    seen = 0
    while time.monotonic() - last < RETAINED_QUIET:
        time.sleep(0.1)
        now = len(late.between(0, float("inf")))
        if now != seen:
            seen, last = now, time.monotonic()
    late.close()
    return [m for m in late.between(0, float("inf")) if m[3]]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def summarise(messages: list[tuple[float, str, int, bool]], seconds: float, node: str) -> dict[str, dict[str, float]]:
    by_kind: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for _, topic, size, _ in messages:
        counts = by_kind[kind_of(topic, node)]
        counts[0] += 1
        counts[1] += size
    return {k: {"messages": v[0], "per_s": v[0] / seconds, "bytes_per_s": v[1] / seconds}
            for k, v in sorted(by_kind.items())}  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--cameras", type=int, default=2)
    parser.add_argument("--fps", type=float, default=5.0)
    parser.add_argument("--fleet", type=int, default=500)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="camwatch-fleet-rates-"))
    port = free_port()
    (work / "mosquitto.conf").write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n")
    work.chmod(0o755)
    broker = subprocess.Popen([MOSQUITTO, "-c", str(work / "mosquitto.conf")], stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    node = "bench-node"
    cameras = {f"cam{i}": {"url": str(SHARED / "media" / CLIPS[i % len(CLIPS)]),
                           "source": {"realtime": True, "loop": True}, "detect": {"fps": args.fps}}
               for i in range(args.cameras)}  # fmt: skip
    config = {"detector": {"model_path": str(SHARED / "models" / MODEL)}, "faces": {"enabled": False},
              "web": {"enabled": False}, "node": {"name": node}, "cameras": cameras,
              "mqtt": {"enabled": True, "host": "127.0.0.1", "port": port}}  # fmt: skip
    (work / "config.yml").write_text(yaml.safe_dump(config))
    counter = Counter(port)
    env = {**os.environ, "CAMWATCH_CONFIG": str(work / "config.yml"), "CAMWATCH_DATA": str(work / "data")}
    proc = subprocess.Popen([sys.executable, "-m", "camwatch", "run", "--config", str(work / "config.yml")],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)  # fmt: skip
    try:
        time.sleep(WARMUP_S)
        steady_start = time.monotonic()
        time.sleep(args.minutes * 60)
        steady_end = time.monotonic()
        steady = counter.between(steady_start, steady_end)
        burst = retained(port)
    finally:
        proc.terminate()
        proc.wait(30)
        broker.terminate()
        broker.wait(10)
        shutil.rmtree(work, ignore_errors=True)
    seconds = steady_end - steady_start
    rates = summarise(steady, seconds, node)
    total_per_s = sum(v["per_s"] for v in rates.values())
    total_bytes = sum(v["bytes_per_s"] for v in rates.values())
    retained_topics = {topic for _, topic, _, _ in burst}
    burst_messages, burst_bytes = len(burst), sum(m[2] for m in burst)
    discovery = sum(1 for _, topic, _, _ in burst if topic.startswith("homeassistant/"))
    connections = 1 + args.cameras
    print(f"one node, {args.cameras} camera(s) at {args.fps:g} fps, {seconds / 60:.1f} min steady state")
    print(f"  {'kind':42s} {'msg/s':>8s} {'bytes/s':>9s}")
    for kind, v in rates.items():
        print(f"  {kind:42s} {v['per_s']:8.3f} {v['bytes_per_s']:9.0f}")
    print(f"  {'total':42s} {total_per_s:8.3f} {total_bytes:9.0f}")
    print(f"  retained (= the (re)connect burst): {burst_messages} messages ({discovery} discovery), "
          f"{burst_bytes / 1e3:.1f} kB; {connections} broker connections")  # fmt: skip
    n = args.fleet
    print(f"{n} nodes like it on one broker:")
    print(f"  steady: {total_per_s * n:.0f} msg/s in, {total_bytes * n / 1e3:.0f} kB/s in "
          f"(each delivered once per subscriber: x2 with Home Assistant and one fleet monitor)")  # fmt: skip
    print(f"  connections: {connections * n} ({n} nodes + {args.cameras * n} will connections)")
    print(f"  retained messages kept by the broker: {len(retained_topics) * n}")
    print(f"  everyone reconnecting (broker restart): {burst_messages * n} messages, {burst_bytes * n / 1e6:.1f} MB")
    if args.json:
        args.json.write_text(json.dumps({
            "cameras": args.cameras, "fps": args.fps, "seconds": seconds, "rates": rates,
            "total_per_s": total_per_s, "total_bytes_per_s": total_bytes, "burst_messages": burst_messages,
            "burst_bytes": burst_bytes, "retained_topics": len(retained_topics), "discovery": discovery,
            "connections": connections,
        }, indent=1))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
