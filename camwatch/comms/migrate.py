"""Move a node from the single-node topic layout (``<prefix>/…``) to its own subtree.

Before node names camwatch published under ``<prefix>/available``, ``<prefix>/<camera>/…``.
Those retained messages would outlive the move (a stale ``online``, old counts), so the first
start with the node layout reads them back from the broker and deletes them (an empty
retained message each). The old Home Assistant configs go by the discovery record as any
removed entity does. Only this node's own old topics are touched: the node-level ones and
the subtrees of its configured cameras. The move is recorded in the data directory
(``mqtt_layout.json``) and done once.

It runs only when the data directory shows an earlier MQTT run (an outbox or a discovery
record without the layout mark): a fresh node must not delete what another, not yet
upgraded node still publishes under a camera of the same name. A camera subtree that is
another node's (it has a retained ``<prefix>/<name>/available``) or the fleet's is left alone.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from pathlib import Path

from camwatch.atomic import write_atomic
from camwatch.comms.client import MqttConnection
from camwatch.comms.topics import FLEET, LegacyTopics, Topics
from camwatch.config.mqtt import MqttConfig

_LOGGER = logging.getLogger(__name__)

LAYOUT_FILE = "mqtt_layout.json"
LAYOUT_VERSION = 2  # 1: <prefix>/…, 2: <prefix>/<node>/…
EARLIER_RUN_FILES = ("mqtt_outbox.db", "mqtt_discovery.json")
_QUIET = 0.5  # seconds without a new retained message: the broker has sent them all


def migration_needed(data_dir: Path) -> bool:
    marker = data_dir / LAYOUT_FILE
    if marker.exists():
        return False
    if any((data_dir / name).exists() for name in EARLIER_RUN_FILES):
        return True
    mark_migrated(data_dir)  # a fresh node starts in the node layout
    return False


def mark_migrated(data_dir: Path) -> None:
    try:
        write_atomic(data_dir / LAYOUT_FILE, json.dumps({"layout": LAYOUT_VERSION}))
    except OSError as exc:
        _LOGGER.error("cannot record the MQTT topic layout in %s: %s", data_dir, exc)


def clear_legacy_topics(
    config: MqttConfig, client_id: str, topics: Topics, cameras: list[str], timeout: float = 5.0
) -> list[str]:
    """Delete the retained messages of the single-node layout; returns the topics cleared."""
    legacy = LegacyTopics(topics.prefix)
    subscriptions = list(legacy.node_level())
    for camera in cameras:
        if camera == topics.node:  # <prefix>/<camera>/… is now this node's own subtree
            _LOGGER.warning("camera %s has the node's name: its old retained topics are left as they are", camera)
            continue
        subscriptions.append(legacy.camera_tree(camera))
    subscriptions.append(topics.every_node_available)
    found: set[str] = set()
    nodes: set[str] = {topics.node, FLEET}
    lock = threading.Lock()
    last = [time.monotonic()]

    def on_message(topic: str, payload: bytes, retained: bool) -> None:
        if not (retained and payload):
            return
        with lock:
            last[0] = time.monotonic()
            level = topic[len(topics.prefix) + 1 :].split("/")
            if len(level) == 2 and level[1] == "available":
                nodes.add(level[0])  # a node of the new layout lives there
            else:
                found.add(topic)

    connection = MqttConnection(config, f"{client_id}-migrate"[:64], None, quiet=True)
    connection.on_message = on_message
    connection.on_connected = lambda: connection.subscribe(subscriptions)
    connection.start()
    try:
        deadline = time.monotonic() + timeout
        if not connection.connected.wait(timeout):
            raise TimeoutError("broker not reachable")
        last[0] = time.monotonic()
        while time.monotonic() < deadline and time.monotonic() - last[0] < _QUIET:
            time.sleep(0.05)
        with lock:
            stale = sorted(t for t in found if t[len(topics.prefix) + 1 :].split("/")[0] not in nodes)
        for topic in stale:
            connection.publish_wait(topic, b"", timeout=max(0.5, deadline - time.monotonic()), retain=True)
    finally:
        connection.stop()
    return stale
