"""MqttSink: the EventBus sink that publishes camwatch's results over MQTT.

* Events and alerts go through the persistent :class:`Outbox` (QoS 1) and leave it only on
  PUBACK; a sender thread drains it in order whenever the broker is connected.
* Retained state (availability, camera status, counts, motion, tamper, stats, switch
  states, opted-in snapshots) is cached and republished on every (re)connect and when Home
  Assistant announces ``online``. Nothing stale outlives camwatch: a clean stop publishes
  empty counts, no tamper, no motion and every camera offline before ``stopped``; after a
  crash the broker publishes the last wills (``offline`` for the node and each camera).
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
from camwatch.comms.client import MqttConnection
from camwatch.comms.commands import CommandHandler
from camwatch.comms.discovery import (
    ALL_LABELS,
    DiscoveryBuilder,
    DiscoveryRecord,
    publish_discovery,
)
from camwatch.comms.ha_status import ResyncLimiter
from camwatch.comms.handlers import Handler, TopicHandlers
from camwatch.comms.migrate import clear_legacy_topics, mark_migrated, migration_needed
from camwatch.comms.motion_off import MotionOffDelay
from camwatch.comms.outbox import Outbox
from camwatch.comms.retained import RetainedStore
from camwatch.comms.sender import OutboxSender
from camwatch.comms.snapshot import cropped_snapshot
from camwatch.comms.state_payloads import (
    camera_stats_messages,
    count_messages,
    json_bytes,
    seed_messages,
)
from camwatch.comms.topics import OFF, OFFLINE, ON, ONLINE, STOPPED, Topics
from camwatch.comms.wills import CameraWills
from camwatch.config.root import CamwatchConfig
from camwatch.const import (
    EVENT_END,
    TOPIC_CAMERA_STATE,
    TOPIC_COUNTS,
    TOPIC_EVENT,
    TOPIC_MOTION,
    TOPIC_STATS,
    TOPIC_TAMPER,
)
from camwatch.control import ControlState
from camwatch.events.model import EventMessage
from camwatch.events.snapshots import snapshot_path
from camwatch.node import resolve_node_name
from camwatch.paths import snapshots_dir
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
        self._handlers = TopicHandlers()  # the fleet agent's topics (subscribed at each connect)
        self._discovery_sent: dict[str, bytes] = {}  # config topic → payload published on this connection
        self._wake = threading.Event()
        self._resync = threading.Event()
        self._rediscover = threading.Event()  # the discovery configs only (no new "online")
        self._reconnected = threading.Event()  # set by a (re)connect: unacked rows are sent again
        self._stop = threading.Event()
        self._motion_off = MotionOffDelay(self.mqtt.motion_off_delay)
        self._tamper: dict[str, set[str]] = {c: set() for c in self.cameras}
        self._snapshot_times: dict[str, float | None] = {}
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
        self._motion_timers(flush=True)  # a delayed OFF must not leave a retained ON behind
        self._publish_stopped_state()
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
                self._camera_state(payload)
            elif topic == TOPIC_MOTION and isinstance(payload, dict):
                self._motion(str(payload.get("camera")), bool(payload.get("active")))
            elif topic == TOPIC_COUNTS and isinstance(payload, dict):
                self._counts(payload)
            elif topic == TOPIC_STATS and isinstance(payload, dict):
                self._stats(payload)
            elif topic == TOPIC_TAMPER and isinstance(payload, dict):
                self._tamper_change(payload)
        except Exception:
            _LOGGER.exception("MQTT sink failed on a %s message", topic)

    def _event(self, message: EventMessage) -> None:
        event = message.event
        self._enqueue(self.topics.events, json_bytes(message.to_dict()))
        for kind in self.alerts.alerts_for(message):
            self._enqueue(self.topics.camera_alerts(event.camera), json_bytes(alert_payload(kind, event)))
        cam = self.cameras.get(event.camera)
        if cam is not None and cam.mqtt.snapshot:
            self._snapshot(message, cam.mqtt.snapshot_height)
        if message.type == EVENT_END:
            self._snapshot_times.pop(event.id, None)
        self._wake.set()

    def _enqueue(self, topic: str, payload: bytes) -> None:
        self.sender.enqueue(topic, payload)

    def _snapshot(self, message: EventMessage, height: int) -> None:
        event = message.event
        if not event.has_snapshot or self._snapshot_times.get(event.id, -1.0) == event.snapshot_time:
            return
        path = snapshot_path(snapshots_dir(self.data_dir), event.id, "clean")
        jpeg = cropped_snapshot(path, event.box, height)
        if jpeg is None:
            return  # not written yet: the next update or the end tries again
        self._snapshot_times[event.id] = event.snapshot_time
        self._set_retained(self.topics.snapshot(event.camera, event.label), jpeg)
        self._set_retained(self.topics.snapshot(event.camera), jpeg)

    def _camera_state(self, status: dict[str, Any]) -> None:
        name = status.get("name")
        if name in self.cameras:
            self._set_retained(self.topics.camera_status(name), (ONLINE if status.get("online") else OFFLINE).encode())

    def _motion(self, camera: str, active: bool) -> None:
        if camera in self.cameras and self._motion_off.change(camera, active):
            self._set_retained(self.topics.motion(camera), (ON if active else OFF).encode())

    def _motion_timers(self, flush: bool = False) -> None:
        """Publish the delayed OFFs that are due (``flush``: all of them, on shutdown)."""
        for camera in self._motion_off.flush() if flush else self._motion_off.due():
            self._set_retained(self.topics.motion(camera), OFF.encode())

    def _counts(self, payload: dict[str, Any]) -> None:
        camera = str(payload.get("camera"))
        cam = self.cameras.get(camera)
        if cam is None:
            return
        counts, zones = payload.get("counts") or {}, payload.get("zones") or {}
        for topic, message in count_messages(
            self.topics, camera, cam, counts, zones, lambda zone: self._zone_labels(camera, zone)
        ):
            self._set_retained(topic, message)

    def _zone_labels(self, camera: str, zone: str) -> set[str]:
        cam = self.cameras[camera]
        zcfg = cam.zones.get(zone)
        labels = set(zcfg.objects) if zcfg is not None and zcfg.objects else set(cam.objects.track)
        labels |= self.retained.suffixes(self.topics.zone_count(camera, zone, ""))  # seen earlier: back to 0
        labels.discard(ALL_LABELS)
        return labels

    def _stats(self, stats: dict[str, Any]) -> None:
        stats = dict(stats)
        stats["mqtt"] = {"outbox": len(self.outbox), "dropped": self.outbox.dropped,
                         "rejected_commands": self.commands.rejected}  # fmt: skip
        self.state.mqtt.update(outbox=stats["mqtt"]["outbox"], dropped=stats["mqtt"]["dropped"])
        self._set_retained(self.topics.stats, json_bytes(stats))
        for topic, message in camera_stats_messages(self.topics, set(self.cameras), stats):
            self._set_retained(topic, message)

    def _tamper_change(self, change: dict[str, Any]) -> None:
        camera = str(change.get("camera"))
        if camera not in self.cameras:
            return
        active = self._tamper.setdefault(camera, set())
        state = str(change.get("state"))
        if change.get("active"):
            active.add(state)
        else:
            active.discard(state)
        payload = {"active": bool(active), "states": sorted(active), "last": state, "time": change.get("time")}
        self._set_retained(self.topics.tamper(camera), json_bytes(payload))

    # ---------------------------------------------------------- config change
    def apply_config(self, config: CamwatchConfig) -> None:
        """Follow a config change at run time: added cameras and zones get their entities and
        retained states, a removed camera's retained topics are cleared, and discovery is
        published again (Home Assistant drops the entities no longer in the config)."""
        before = set(self.cameras)
        self.config = config
        self.cameras = {name: cam for name, cam in config.cameras.items() if cam.enabled}
        self.discovery = DiscoveryBuilder(config, self.topics, fleet=self.discovery.fleet)
        for camera in before - set(self.cameras):
            self._forget_camera(camera)
        self.wills.sync(list(self.cameras))
        self._seed_states(keep=True)
        self._resync.set()
        self._wake.set()

    def _forget_camera(self, camera: str) -> None:
        self.retained.forget_under(f"{self.topics.base}/{camera}/")
        self._tamper.pop(camera, None)

    # --------------------------------------------------------- retained state
    def _publish_stopped_state(self) -> None:
        """What a stopped camwatch sees: no objects, no motion, no tamper, cameras offline."""
        for name in self.cameras:
            self._counts({"camera": name, "counts": {}, "zones": {}})
            self._set_retained(self.topics.motion(name), OFF.encode())
            self._tamper[name] = set()
            self._set_retained(self.topics.tamper(name), json_bytes({"active": False, "states": []}))
            self._set_retained(self.topics.camera_status(name), OFFLINE.encode())

    def _republish_status(self, camera: str) -> None:
        """Publish a camera's status again (its will connection came back)."""
        self.retained.republish(self.topics.camera_status(camera))

    def _seed_states(self, keep: bool = False) -> None:
        """Retained states before the first real ones; ``keep``: only where none is known yet."""
        self.retained.remember(self.topics.armed_state, (ON if self.control.armed else OFF).encode(), keep)
        switches = self.control.snapshot()["cameras"]
        cameras = self.state.cameras()
        for name in self.cameras:
            online = bool(cameras.get(name, {}).get("online"))
            seeds = seed_messages(self.topics, name, online, switches.get(name) or {})
            stored = [self.retained.remember(topic, payload, keep) for topic, payload in seeds]
            if stored[0]:  # the camera's status (first) was not known: nor were its counts
                self._counts({"camera": name, "counts": {}, "zones": {}})

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
                self._motion_timers()
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
