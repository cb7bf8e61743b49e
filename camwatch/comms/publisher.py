"""MqttSink: the EventBus sink that publishes camwatch's results over MQTT.

* Events and alerts go through the persistent :class:`Outbox` (QoS 1) and leave it only on
  PUBACK; a sender thread drains it in order whenever the broker is connected.
* Retained state (availability, camera status, counts, motion, tamper, stats, switch
  states, opted-in snapshots) is cached and republished on every (re)connect and when Home
  Assistant announces ``online``. Nothing stale outlives camwatch: a clean stop publishes
  empty counts, no tamper, no motion and every camera offline before ``stopped``; after a
  crash the broker publishes the last wills (``offline`` for the node and each camera).
* Commands arrive on ``…/set`` topics and are applied to ControlState; errors are answered
  on ``<prefix>/errors``.

``handle()`` never blocks on the network: it writes SQLite and returns.
"""

from __future__ import annotations

import logging
import queue
import socket
import threading
import time
from pathlib import Path
from typing import Any

from camwatch.comms.alerts import AlertTracker, alert_payload
from camwatch.comms.client import MqttConnection
from camwatch.comms.commands import CommandHandler
from camwatch.comms.discovery import ALL_LABELS, DiscoveryBuilder, DiscoveryRecord
from camwatch.comms.ha_status import ResyncLimiter
from camwatch.comms.outbox import Outbox
from camwatch.comms.snapshot import cropped_snapshot
from camwatch.comms.state_payloads import camera_stats_messages, count_messages, json_bytes
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
from camwatch.paths import snapshots_dir
from camwatch.state import RuntimeState

_LOGGER = logging.getLogger(__name__)

OUTBOX_FILE = "mqtt_outbox.db"
DISCOVERY_FILE = "mqtt_discovery.json"
INFLIGHT_WINDOW = 100  # outbox messages handed to paho and not yet acknowledged
_TICK = 0.25


def default_client_id(prefix: str) -> str:
    host = socket.gethostname().split(".")[0] or "host"
    return f"camwatch-{prefix.replace('/', '_')}-{host}"[:64]


class MqttSink:
    def __init__(self, config: CamwatchConfig, state: RuntimeState, control: ControlState, data_dir: Path) -> None:
        self.config = config
        self.mqtt = config.mqtt
        self.state = state
        self.control = control
        self.data_dir = Path(data_dir)
        self.topics = Topics(self.mqtt.topic_prefix, self.mqtt.discovery_prefix)
        self.cameras = {name: cam for name, cam in config.cameras.items() if cam.enabled}
        self.outbox = Outbox(self.data_dir / OUTBOX_FILE, self.mqtt.outbox_max_messages)
        self.commands = CommandHandler(self.topics, control, self.mqtt.max_command_bytes)
        self.alerts = AlertTracker()
        self._ha_online = ResyncLimiter()
        self.discovery = DiscoveryBuilder(config, self.topics)
        self.discovery_record = DiscoveryRecord(self.data_dir / DISCOVERY_FILE)
        client_id = self.mqtt.client_id or default_client_id(self.mqtt.topic_prefix)
        self.connection = MqttConnection(self.mqtt, client_id, self.topics.available, OFFLINE, state)
        self.wills = CameraWills(self.mqtt, client_id, self.topics, list(self.cameras), self._republish_status)
        self.connection.on_connected = self._on_connected
        self.connection.on_message = self._on_message
        self.connection.on_published = self._acks_put
        self._retained: dict[str, bytes] = {}
        self._retained_lock = threading.Lock()
        self._acks: queue.SimpleQueue[int] = queue.SimpleQueue()
        self._inflight: dict[int, int] = {}  # paho mid → outbox row id (sender thread only)
        self._cursor = 0  # highest outbox id handed to paho
        self._wake = threading.Event()
        self._resync = threading.Event()
        self._reconnected = threading.Event()  # set by a (re)connect: unacked rows are sent again
        self._stop = threading.Event()
        self._motion_off: dict[str, float] = {}  # camera → monotonic deadline of a delayed OFF
        self._motion_lock = threading.Lock()
        self._tamper: dict[str, set[str]] = {c: set() for c in self.cameras}
        self._snapshot_times: dict[str, float | None] = {}
        self._outbox_failing = False
        self._thread: threading.Thread | None = None
        self.published_events = 0
        control.add_listener(self._on_control)
        self._seed_states()

    # ------------------------------------------------------------ lifecycle
    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="mqtt-sender", daemon=True)
        self._thread.start()
        self.connection.start()
        self.wills.start()

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
        self._flush_motion_off()  # a delayed OFF must not leave a retained ON behind
        self._publish_stopped_state()
        self.wills.stop()  # after the cameras' offline: a graceful close sends no will
        self._set_retained_cache(self.topics.available, STOPPED.encode())
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
        try:
            self.outbox.add(topic, payload)
            self._outbox_failing = False
        except Exception as exc:  # a broken disk must not lose the message while connected
            if not self._outbox_failing:
                self._outbox_failing = True
                _LOGGER.error("MQTT outbox cannot store messages (%s); publishing without persistence", exc)
            self.connection.publish(topic, payload, qos=1)

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
        if camera not in self.cameras:
            return
        with self._motion_lock:
            if active:
                self._motion_off.pop(camera, None)
            elif self.mqtt.motion_off_delay > 0:
                self._motion_off[camera] = time.monotonic() + self.mqtt.motion_off_delay
                return
        self._set_retained(self.topics.motion(camera), (ON if active else OFF).encode())

    def _motion_timers(self) -> None:
        now = time.monotonic()
        with self._motion_lock:
            due = [cam for cam, deadline in self._motion_off.items() if deadline <= now]
            for cam in due:
                del self._motion_off[cam]
        for cam in due:
            self._set_retained(self.topics.motion(cam), OFF.encode())

    def _flush_motion_off(self) -> None:
        """Publish every pending delayed OFF now (on shutdown)."""
        with self._motion_lock:
            pending = list(self._motion_off)
            self._motion_off.clear()
        for cam in pending:
            self._set_retained(self.topics.motion(cam), OFF.encode())

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
        with self._retained_lock:  # labels seen earlier must drop back to 0
            head = self.topics.zone_count(camera, zone, "")
            labels |= {t[len(head) :] for t in self._retained if t.startswith(head)}
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
        self.discovery = DiscoveryBuilder(config, self.topics)
        for camera in before - set(self.cameras):
            self._forget_camera(camera)
        self.wills.sync(list(self.cameras))
        self._seed_states(keep=True)
        self._resync.set()
        self._wake.set()

    def _forget_camera(self, camera: str) -> None:
        head = f"{self.topics.prefix}/{camera}/"
        with self._retained_lock:
            gone = [topic for topic in self._retained if topic.startswith(head)]
            for topic in gone:
                del self._retained[topic]
        for topic in gone:  # an empty retained message deletes the broker's copy
            self.connection.publish(topic, b"", qos=1, retain=True)
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
        with self._retained_lock:
            payload = self._retained.get(self.topics.camera_status(camera))
        if payload is not None and self.connection.connected.is_set():
            self.connection.publish(self.topics.camera_status(camera), payload, qos=1, retain=True)

    def _seed_states(self, keep: bool = False) -> None:
        """Retained states before the first real ones; ``keep``: only where none is known yet."""
        self._set_retained_cache(self.topics.armed_state, (ON if self.control.armed else OFF).encode(), keep)
        snapshot = self.control.snapshot()["cameras"]
        cameras = self.state.cameras()
        for name in self.cameras:
            new = self._set_retained_cache(self.topics.camera_status(name),
                                           (ONLINE if cameras.get(name, {}).get("online") else OFFLINE).encode(), keep)
            self._set_retained_cache(self.topics.motion(name), OFF.encode(), keep)
            self._set_retained_cache(self.topics.tamper(name), json_bytes({"active": False, "states": []}), keep)
            for feature, value in (snapshot.get(name) or {}).items():
                if feature == "zones":
                    for zone, on in value.items():
                        topic = self.topics.feature_state(name, f"zone:{zone}")
                        self._set_retained_cache(topic, (ON if on else OFF).encode(), keep)
                else:
                    self._set_retained_cache(self.topics.feature_state(name, feature), (ON if value else OFF).encode(), keep)
            if new:
                self._counts({"camera": name, "counts": {}, "zones": {}})

    def _set_retained_cache(self, topic: str, payload: bytes, keep: bool = False) -> bool:
        """Remember ``payload`` for ``topic`` (with ``keep``, only when none is known); True when stored."""
        with self._retained_lock:
            if keep and topic in self._retained:
                return False
            self._retained[topic] = payload
            return True

    def _set_retained(self, topic: str, payload: bytes) -> None:
        """Remember the latest value; publish it now when connected and changed."""
        with self._retained_lock:
            if self._retained.get(topic) == payload:
                return
            self._retained[topic] = payload
            if self.connection.connected.is_set():
                self.connection.publish(topic, payload, qos=1, retain=True)

    def _on_control(self, camera: str | None, feature: str, value: Any) -> None:
        self._set_retained(self.topics.feature_state(camera, feature), (ON if value else OFF).encode())

    def retained_state(self) -> dict[str, bytes]:
        with self._retained_lock:
            return dict(self._retained)

    # ------------------------------------------------------- broker callbacks
    def _on_connected(self) -> None:
        self.connection.subscribe([*self.topics.command_subscriptions(), self.topics.ha_status])
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
        answer = self.commands.handle(topic, payload, retained=retained)
        if answer is not None:
            if answer["error"] == "retained":  # clear it, where the broker's ACL lets camwatch
                self.connection.publish(topic, b"", qos=1, retain=True)
            self.connection.publish(self.topics.errors, json_bytes(answer), qos=1)

    def _acks_put(self, mid: int) -> None:
        self._acks.put(mid)
        self._wake.set()

    # --------------------------------------------------------- sender thread
    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(_TICK)
            self._wake.clear()
            try:
                self._process_acks()
                self._motion_timers()
                if self._ha_online.due(time.monotonic()):  # announcements coalesced meanwhile
                    self._resync.set()
                if not self.connection.connected.is_set():
                    continue
                if self._reconnected.is_set():
                    self._reconnected.clear()
                    self._rewind()
                if self._resync.is_set():
                    self._resync.clear()
                    self._publish_all_state()
                self._drain()
            except Exception:
                _LOGGER.exception("MQTT sender failed; retrying")
                self._stop.wait(1.0)
        self._process_acks()

    def _process_acks(self) -> None:
        done: list[int] = []
        while True:
            try:
                mid = self._acks.get_nowait()
            except queue.Empty:
                break
            row = self._inflight.pop(mid, None)
            if row is not None:
                done.append(row)
        if done:
            self.outbox.delete(done)
            self.published_events += len(done)

    def _rewind(self) -> None:
        """After a reconnect, send the unacknowledged rows again, oldest first, before newer
        ones. paho re-sends its own copies only after its connect callback, which would let
        a newer row overtake them; the copies that arrive twice are QoS 1 duplicates that
        subscribers drop by event id and type."""
        if self._inflight:
            self._cursor = min(self._inflight.values()) - 1
            self._inflight.clear()

    def _drain(self) -> None:
        while len(self._inflight) < INFLIGHT_WINDOW and self.connection.connected.is_set():
            rows = self.outbox.after(self._cursor, INFLIGHT_WINDOW - len(self._inflight))
            if not rows:
                return
            for row in rows:
                mid = self.connection.publish(row.topic, row.payload, qos=row.qos, retain=row.retain)
                if mid is None:
                    return  # paho refused it (not queued): try again on the next tick
                self._inflight[mid] = row.id
                self._cursor = row.id

    def _publish_all_state(self) -> None:
        """``online`` once, then the discovery configs, then every retained state."""
        self.connection.publish(self.topics.available, ONLINE, qos=1, retain=True)
        self._publish_discovery()
        with self._retained_lock:
            self._retained[self.topics.available] = ONLINE.encode()
            for topic, payload in self._retained.items():
                if topic != self.topics.available:
                    self.connection.publish(topic, payload, qos=1, retain=True)

    def _publish_discovery(self) -> None:
        configs = self.discovery.build() if self.mqtt.discovery else {}
        previous = self.discovery_record.load()
        removed = previous - set(configs)
        for topic in sorted(removed):
            self.connection.publish(topic, b"", qos=1, retain=True)
        for topic, payload in configs.items():
            self.connection.publish(topic, json_bytes(payload), qos=1, retain=True)
        if removed:
            _LOGGER.info("removed %d Home Assistant entit(ies) no longer in the config", len(removed))
        if set(configs) != previous:
            self.discovery_record.save(set(configs))
