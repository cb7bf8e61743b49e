"""MqttSink: the EventBus sink that publishes camwatch's results over MQTT.

* Events and alerts go through the persistent :class:`Outbox` (QoS 1) and leave it only on
  PUBACK; a sender thread drains it in order whenever the broker is connected.
* Retained state (availability, camera status, counts, motion, tamper, stats, switch
  states, opted-in snapshots; the cameras' own in :mod:`camwatch.comms.camera_states`) is
  cached and republished on every (re)connect and when Home Assistant announces
  ``online``. Nothing stale outlives camwatch: a clean stop publishes empty counts, no
  tamper, no motion and every camera offline before ``stopped``; after a crash the broker
  publishes the last wills (``offline`` for the node and each camera).
* Commands arrive on ``…/set`` topics and are applied to ControlState; errors are answered
  on ``<prefix>/<node>/errors``. Other parts of camwatch (the fleet agent) subscribe through
  :meth:`MqttSink.add_handler` and publish retained state through :meth:`MqttSink.set_retained`.
* Every topic is under the node's own ``<prefix>/<node>/``; the first start after the
  single-node layout clears that layout's retained messages (:mod:`camwatch.comms.migrate`).

``handle()`` never blocks on the network: it writes SQLite and returns.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Any

from camwatch.comms.alerts import AlertTracker, alert_payload
from camwatch.comms.camera_states import CameraStates
from camwatch.comms.client import MqttConnection
from camwatch.comms.commands import CommandHandler
from camwatch.comms.discovery import DiscoveryBuilder, DiscoveryRecord, publish_discovery
from camwatch.comms.ha_status import ResyncLimiter
from camwatch.comms.handlers import Handler, TopicHandlers
from camwatch.comms.migrate import clear_legacy_topics, mark_migrated, migration_needed
from camwatch.comms.outbox import Outbox
from camwatch.comms.retained import RetainedStore
from camwatch.comms.sender import OutboxSender
from camwatch.comms.state_payloads import camera_stats_messages, json_bytes
from camwatch.comms.topics import OFF, OFFLINE, ON, ONLINE, STOPPED, Topics
from camwatch.comms.wills import CameraWills
from camwatch.config.root import CamwatchConfig
from camwatch.const import (
    TOPIC_CAMERA_STATE,
    TOPIC_COUNTS,
    TOPIC_EVENT,
    TOPIC_MOTION,
    TOPIC_STATS,
    TOPIC_TAMPER,
)
from camwatch.control import ControlState
from camwatch.events.model import EventMessage
from camwatch.node import resolve_node_name
from camwatch.state import RuntimeState

_LOGGER = logging.getLogger(__name__)

OUTBOX_FILE = "mqtt_outbox.db"
DISCOVERY_FILE = "mqtt_discovery.json"
_TICK = 0.25

def default_client_id(prefix: str, node: str) -> str:
    return f"camwatch-{prefix.replace('/', '_')}-{node}"[:64]


class MqttSink:
    def __init__(self, config: CamwatchConfig, state: RuntimeState, control: ControlState, data_dir: Path) -> None:
        self.config = config
        self.mqtt = config.mqtt
        self.state = state
        self.control = control
        self.data_dir = Path(data_dir)
        self.node = resolve_node_name(config.node.name)
        self.topics = Topics(self.mqtt.topic_prefix, self.mqtt.discovery_prefix, self.node)
        self.cameras = {name: cam for name, cam in config.cameras.items() if cam.enabled}
        self._migrate = migration_needed(self.data_dir)
        self.outbox = Outbox(self.data_dir / OUTBOX_FILE, self.mqtt.outbox_max_messages)
        self.commands = CommandHandler(self.topics, control, self.mqtt.max_command_bytes)
        self.alerts = AlertTracker()
        self._ha_online = ResyncLimiter()
        self.discovery = DiscoveryBuilder(config, self.topics)
        self.discovery_record = DiscoveryRecord(self.data_dir / DISCOVERY_FILE)
        self.client_id = self.mqtt.client_id or default_client_id(self.mqtt.topic_prefix, self.node)
        self.connection = MqttConnection(self.mqtt, self.client_id, self.topics.available, OFFLINE, state)
        self.sender = OutboxSender(self.outbox, self.connection)
        self.wills = CameraWills(self.mqtt, self.client_id, self.topics, list(self.cameras), self._republish_status)
        self.connection.on_connected = self._on_connected
        self.connection.on_message = self._on_message
        self.connection.on_published = self._acks_put
        self.retained = RetainedStore(self.connection)
        self.camera_states = CameraStates(self.topics, self.retained, self.cameras, self.data_dir,
                                          self.mqtt.motion_off_delay)
        self._handlers = TopicHandlers()  # the fleet agent's topics (subscribed at each connect)
        self._discovery_sent: dict[str, bytes] = {}  # config topic → payload published on this connection
        self._wake = threading.Event()
        self._resync = threading.Event()
        self._rediscover = threading.Event()  # the discovery configs only (no new "online")
        self._reconnected = threading.Event()  # set by a (re)connect: unacked rows are sent again
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        control.add_listener(self._on_control)
        self._seed_states()

    @property
    def published_events(self) -> int:
        return self.sender.published_events

    # ------------------------------------------------------------ lifecycle
    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="mqtt-sender", daemon=True)
        self._thread.start()
        self.connection.start()
        self.wills.start()
        if self._migrate:
            threading.Thread(target=self._clear_legacy_layout, name="mqtt-migrate", daemon=True).start()

    def _clear_legacy_layout(self) -> None:
        try:
            cleared = clear_legacy_topics(self.mqtt, self.client_id, self.topics, list(self.cameras))
        except Exception as exc:  # tried again at the next start
            _LOGGER.warning("could not clear the retained topics of the single-node MQTT layout: %s", exc)
            return
        mark_migrated(self.data_dir)
        _LOGGER.info("MQTT topics moved under %s/ (%d retained message(s) of the old layout cleared)",
                     self.topics.base, len(cleared))

    def stop(self, timeout: float = 5.0) -> None:
        """Drain what the broker takes within ``timeout``, leave clean retained state, publish
        ``stopped``, disconnect."""
        deadline = time.monotonic() + timeout
        while self.connection.connected.is_set() and len(self.outbox) and time.monotonic() < deadline:
            self._wake.set()
            time.sleep(0.05)
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self.camera_states.motion_timers(flush=True)  # a delayed OFF must not leave a retained ON behind
        self.camera_states.stopped()
        self.wills.stop()  # after the cameras' offline: a graceful close sends no will
        self.retained.remember(self.topics.available, STOPPED.encode())
        if not self.connection.publish_wait(self.topics.available, STOPPED, max(0.5, deadline - time.monotonic())):
            _LOGGER.debug("could not publish %s before shutdown", STOPPED)
        self.connection.stop()
        left = len(self.outbox)
        if left:
            _LOGGER.info("MQTT outbox keeps %d unsent message(s) for the next start", left)
        self.outbox.close()

    # ----------------------------------------------------------- bus input
    def handle(self, topic: str, payload: Any) -> None:
        """EventBus handler; never raises, never waits for the broker."""
        try:
            if topic == TOPIC_EVENT and isinstance(payload, EventMessage):
                self._event(payload)
            elif topic == TOPIC_CAMERA_STATE and isinstance(payload, dict):
                self.camera_states.status(payload)
            elif topic == TOPIC_MOTION and isinstance(payload, dict):
                self.camera_states.motion(str(payload.get("camera")), bool(payload.get("active")))
            elif topic == TOPIC_COUNTS and isinstance(payload, dict):
                self.camera_states.counts(payload)
            elif topic == TOPIC_STATS and isinstance(payload, dict):
                self._stats(payload)
            elif topic == TOPIC_TAMPER and isinstance(payload, dict):
                self.camera_states.tamper(payload)
        except Exception:
            _LOGGER.exception("MQTT sink failed on a %s message", topic)

    def _event(self, message: EventMessage) -> None:
        event = message.event
        self._enqueue(self.topics.events, json_bytes(message.to_dict()))
        for kind in self.alerts.alerts_for(message):
            self._enqueue(self.topics.camera_alerts(event.camera), json_bytes(alert_payload(kind, event)))
        self.camera_states.event(message)
        self._wake.set()

    def _enqueue(self, topic: str, payload: bytes) -> None:
        self.sender.enqueue(topic, payload)

    def _stats(self, stats: dict[str, Any]) -> None:
        stats = dict(stats)
        stats["mqtt"] = {"outbox": len(self.outbox), "dropped": self.outbox.dropped,
                         "rejected_commands": self.commands.rejected}  # fmt: skip
        self.state.mqtt.update(outbox=stats["mqtt"]["outbox"], dropped=stats["mqtt"]["dropped"])
        self._set_retained(self.topics.stats, json_bytes(stats))
        for topic, message in camera_stats_messages(self.topics, set(self.cameras), stats):
            self._set_retained(topic, message)

    # ---------------------------------------------------------- config change
    def apply_config(self, config: CamwatchConfig) -> None:
        """Follow a config change at run time: added cameras and zones get their entities and
        retained states, a removed camera's retained topics are cleared, and discovery is
        published again (Home Assistant drops the entities no longer in the config)."""
        self.config = config
        self.cameras = {name: cam for name, cam in config.cameras.items() if cam.enabled}
        self.discovery = DiscoveryBuilder(config, self.topics, fleet=self.discovery.fleet)
        self.camera_states.set_cameras(self.cameras)
        self.wills.sync(list(self.cameras))
        self._seed_states(keep=True)
        self._resync.set()
        self._wake.set()

    # --------------------------------------------------------- retained state
    def _republish_status(self, camera: str) -> None:
        """Publish a camera's status again (its will connection came back)."""
        self.retained.republish(self.topics.camera_status(camera))

    def _seed_states(self, keep: bool = False) -> None:
        """Retained states before the first real ones; ``keep``: only where none is known yet."""
        self.retained.remember(self.topics.armed_state, (ON if self.control.armed else OFF).encode(), keep)
        switches = self.control.snapshot()["cameras"]
        self.camera_states.seed(self.state.cameras(), switches, keep)

    def set_retained(self, topic: str, payload: bytes) -> None:
        """Publish a retained state of this node (kept and republished at each reconnect)."""
        self._set_retained(topic, payload)

    def enable_fleet_entities(self) -> None:
        """The node status and model state are published from now on: announce their entities."""
        self.discovery = DiscoveryBuilder(self.config, self.topics, fleet=True)
        self._rediscover.set()
        self._wake.set()

    def add_handler(self, topic: str, handler: Handler) -> None:
        """Subscribe to ``topic`` (``+`` wildcards allowed) at each connect; ``handler`` gets its
        messages in paho's thread and must not block."""
        self._handlers.add(topic, handler)
        if self.connection.connected.is_set():
            self.connection.subscribe([topic])

    def remove_handler(self, topic: str) -> None:
        if self._handlers.remove(topic) and self.connection.connected.is_set():
            self.connection.unsubscribe([topic])

    def _set_retained(self, topic: str, payload: bytes) -> None:
        self.retained.set(topic, payload)

    def _on_control(self, camera: str | None, feature: str, value: Any) -> None:
        self._set_retained(self.topics.feature_state(camera, feature), (ON if value else OFF).encode())

    def retained_state(self) -> dict[str, bytes]:
        return self.retained.snapshot()

    # ------------------------------------------------------- broker callbacks
    def _on_connected(self) -> None:
        self.connection.subscribe([*self.topics.command_subscriptions(), self.topics.ha_status, *self._handlers.topics()])
        self._reconnected.set()
        self._resync.set()
        self._wake.set()

    def _on_message(self, topic: str, payload: bytes, retained: bool = False) -> None:
        if topic == self.topics.ha_status:
            if payload.strip().lower() == b"online" and self._ha_online.announce(time.monotonic()):
                _LOGGER.info("Home Assistant is online: republishing discovery and states")
                self._resync.set()
                self._wake.set()
            return
        handler = self._handlers.find(topic)
        if handler is not None:
            handler(topic, payload, retained)
            return
        answer = self.commands.handle(topic, payload, retained=retained)
        if answer is not None:
            if answer["error"] == "retained":  # clear it, where the broker's ACL lets camwatch
                self.connection.publish(topic, b"", qos=1, retain=True)
            self.connection.publish(self.topics.errors, json_bytes(answer), qos=1)

    def _acks_put(self, mid: int) -> None:
        self.sender.acked(mid)
        self._wake.set()

    # --------------------------------------------------------- sender thread
    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(_TICK)
            self._wake.clear()
            try:
                self.sender.process_acks()
                self.camera_states.motion_timers()
                if self._ha_online.due(time.monotonic()):  # announcements coalesced meanwhile
                    self._resync.set()
                if not self.connection.connected.is_set():
                    continue
                if self._reconnected.is_set():
                    self._reconnected.clear()
                    self.sender.rewind()
                if self._resync.is_set():
                    self._resync.clear()
                    self._rediscover.clear()
                    self._publish_all_state()
                if self._rediscover.is_set():
                    self._rediscover.clear()
                    self._publish_discovery()
                self.sender.drain()
            except Exception:
                _LOGGER.exception("MQTT sender failed; retrying")
                self._stop.wait(1.0)
        self.sender.process_acks()

    def _publish_all_state(self) -> None:
        """``online`` once, then the discovery configs, then every retained state."""
        self.connection.publish(self.topics.available, ONLINE, qos=1, retain=True)
        self._discovery_sent.clear()  # a new connection or Home Assistant restarted: all of them
        self._publish_discovery()
        self.retained.publish_all(self.topics.available, ONLINE.encode())

    def _publish_discovery(self) -> None:
        configs = self.discovery.build() if self.mqtt.discovery else {}
        publish_discovery(self.connection, configs, self.discovery_record, self._discovery_sent)
