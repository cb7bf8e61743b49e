"""`camwatch fleet status`: every node the broker knows, from its retained messages.

A short-lived client (no last will) subscribes to ``<prefix>/+/status``, ``<prefix>/+/available``
and ``<prefix>/+/model/state``, takes what the broker holds (retained messages arrive right
after the broker acknowledged the subscription), and stops when nothing new came for a
moment after that. A node that died shows ``offline``
(its last will) with the status it last published; so does one whose status stopped
coming (:mod:`camwatch.fleet.view`). Any broker client can write those topics: a message
that is not a node's is flagged, never trusted (see the view).
"""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

from camwatch.comms.client import MqttConfigError, MqttConnection
from camwatch.comms.inbound import MAX_STATUS_BYTES, BadPayload, parse_json
from camwatch.comms.topics import Topics
from camwatch.config.mqtt import MqttConfig
from camwatch.fleet.view import NodeView, render_table
from camwatch.node import NODE_NAME, RESERVED_NODE_NAMES

QUIET = 0.7  # seconds without a new message: the broker sent what it holds
MAX_NODES = 10_000  # a broker full of fake node names cannot make the reader grow without end

__all__ = ["NodeView", "FleetView", "read_fleet", "render_table"]


class FleetView(dict[str, NodeView]):
    """The nodes by name, and how many messages came under a level that is no node name."""

    ignored: int = 0


def _json_object(view: NodeView, what: str, payload: bytes) -> dict[str, Any]:
    try:
        data = parse_json(payload, MAX_STATUS_BYTES)
    except BadPayload as exc:
        view.problem(f"{what} ignored ({exc})")
        return {}
    if not isinstance(data, dict):
        view.problem(f"{what} ignored (not a JSON object)")
        return {}
    return data


def read_fleet(config: MqttConfig, timeout: float = 5.0) -> FleetView:
    """Every node with a retained status, availability or model state under ``config.topic_prefix``."""
    topics = Topics(config.topic_prefix, config.discovery_prefix, "fleet-reader")
    nodes = FleetView()
    lock = threading.Lock()
    last = [time.monotonic()]

    def on_message(topic: str, payload: bytes, _retained: bool) -> None:
        node = topics.node_of(topic)
        if node is None or not payload:
            return
        rest = topic[len(topics.prefix) + len(node) + 2 :]
        with lock:
            last[0] = time.monotonic()
            if not NODE_NAME.matches(node) or node in RESERVED_NODE_NAMES:
                nodes.ignored += 1
                return
            if node not in nodes and len(nodes) >= MAX_NODES:
                nodes.ignored += 1
                return
            view = nodes.setdefault(node, NodeView(node))
            if rest == "available":
                view.available = payload.decode("utf-8", "replace")[:20]
            elif rest == "status":
                view.status = _json_object(view, "status", payload)
            elif rest == "model/state":
                view.model_state = _json_object(view, "model state", payload)

    try:
        connection = MqttConnection(config, f"camwatch-fleet-status-{uuid.uuid4().hex[:8]}", None, quiet=True)
    except MqttConfigError as exc:
        raise ConnectionError(str(exc)) from None
    connection.on_message = on_message
    connection.on_connected = lambda: connection.subscribe(
        [topics.every_node_status, topics.every_node_available, topics.every_model_state]
    )
    # The broker sends what it holds right after its SUBACK: the quiet moment counts from
    # there, not from the connection, which a loaded machine can reach long before.
    subscribed = threading.Event()
    granted = [True]

    def on_subscribed(all_granted: bool) -> None:
        granted[0] = all_granted
        subscribed.set()

    connection.on_subscribed = on_subscribed
    connection.start()
    try:
        if not connection.connected.wait(timeout):
            raise ConnectionError(f"cannot reach the MQTT broker {connection.where}: {connection.last_error or 'timed out'}")
        if not subscribed.wait(timeout):
            raise ConnectionError(f"the MQTT broker {connection.where} did not answer the subscription in {timeout:g} s")
        if not granted[0]:
            raise ConnectionError(
                f"the MQTT broker {connection.where} refused to let this user read {topics.prefix}/#: "
                "give it read access in the broker's ACL"
            )
        with lock:
            last[0] = time.monotonic()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and time.monotonic() - last[0] < QUIET:
            time.sleep(0.05)
    finally:
        connection.stop()
    with lock:
        found = FleetView({name: view for name, view in sorted(nodes.items())
                           if view.status or view.available or view.problems})  # fmt: skip
        found.ignored = nodes.ignored
        return found
