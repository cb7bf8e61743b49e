"""`camwatch fleet status`: every node the broker knows, from its retained messages.

A short-lived client (no last will) subscribes to ``<prefix>/+/status``, ``<prefix>/+/available``
and ``<prefix>/+/model/state``, takes what the broker holds (retained messages arrive at
once), and stops when nothing new came for a moment. A node that died shows ``offline``
(its last will) with the status it last published.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from camwatch.comms.client import MqttConfigError, MqttConnection
from camwatch.comms.topics import Topics
from camwatch.config.mqtt import MqttConfig

QUIET = 0.7  # seconds without a new message: the broker sent what it holds


@dataclass
class NodeView:
    name: str
    available: str | None = None
    status: dict[str, Any] = field(default_factory=dict)
    model_state: dict[str, Any] = field(default_factory=dict)

    def row(self, now: float) -> dict[str, str]:
        s, update = self.status, self.model_state or self.status.get("update") or {}
        model = s.get("model") or {}
        cameras = s.get("cameras") or {}
        disk = (s.get("disk") or {}).get("free_bytes")
        seen = s.get("time")
        name = model.get("name") or "-"
        if model.get("version") is not None:
            name += f" v{model['version']}"
        result = update.get("state") or "-"
        if update.get("state") == "downloading" and update.get("progress") is not None:
            result += f" {update['progress']} %"
        if update.get("version") is not None:
            result += f" (v{update['version']})"
        if update.get("reason"):
            result += f": {update['reason']}"
        return {
            "node": self.name,
            "state": self.available or "unknown",
            "version": str(s.get("version") or "-"),
            "model": name,
            "sha256": (model.get("sha256") or "-")[:12],
            "cameras": f"{cameras.get('online', '-')} on / {cameras.get('offline', '-')} off" if cameras else "-",
            "detector": f"{s['detector_ms']:.0f} ms" if s.get("detector_ms") is not None else "-",
            "disk free": f"{disk / 1e9:.1f} GB" if disk is not None else "-",
            "last update": result if len(result) <= 80 else result[:79] + "…",
            "seen": f"{max(0, now - seen):.0f} s ago" if seen else "-",
        }


def read_fleet(config: MqttConfig, timeout: float = 5.0) -> dict[str, NodeView]:
    """Every node with a retained status, availability or model state under ``config.topic_prefix``."""
    topics = Topics(config.topic_prefix, config.discovery_prefix, "fleet-reader")
    nodes: dict[str, NodeView] = {}
    lock = threading.Lock()
    last = [time.monotonic()]

    def on_message(topic: str, payload: bytes, _retained: bool) -> None:
        node = topics.node_of(topic)
        if node is None or not payload:
            return
        rest = topic[len(topics.prefix) + len(node) + 2 :]
        with lock:
            last[0] = time.monotonic()
            view = nodes.setdefault(node, NodeView(node))
            try:
                if rest == "available":
                    view.available = payload.decode("utf-8", "replace")[:20]
                elif rest == "status":
                    view.status = json.loads(payload)
                elif rest == "model/state":
                    view.model_state = json.loads(payload)
            except ValueError:
                pass  # not ours; shown as far as known

    try:
        connection = MqttConnection(config, f"camwatch-fleet-status-{uuid.uuid4().hex[:8]}", None, quiet=True)
    except MqttConfigError as exc:
        raise ConnectionError(str(exc)) from None
    connection.on_message = on_message
    connection.on_connected = lambda: connection.subscribe(
        [topics.every_node_status, topics.every_node_available, topics.every_model_state]
    )
    connection.start()
    try:
        if not connection.connected.wait(timeout):
            raise ConnectionError(f"cannot reach the MQTT broker {connection.where}: {connection.last_error or 'timed out'}")
        last[0] = time.monotonic()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and time.monotonic() - last[0] < QUIET:
            time.sleep(0.05)
    finally:
        connection.stop()
    with lock:
        return {name: view for name, view in sorted(nodes.items()) if view.status or view.available}


def render_table(nodes: dict[str, NodeView], now: float | None = None) -> str:
    now = time.time() if now is None else now
    rows = [view.row(now) for view in nodes.values()]
    if not rows:
        return "no camwatch node on this broker\n"
    keys = list(rows[0])
    widths = {k: max(len(k), *(len(r[k]) for r in rows)) for k in keys}
    lines = ["  ".join(k.upper().ljust(widths[k]) for k in keys).rstrip()]
    lines += ["  ".join(r[k].ljust(widths[k]) for k in keys).rstrip() for r in rows]
    online = sum(1 for v in nodes.values() if v.available == "online")
    lines.append(f"{len(rows)} node(s): {online} online, {len(rows) - online} not online")
    return "\n".join(lines) + "\n"
