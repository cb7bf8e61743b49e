"""Home Assistant MQTT discovery: a device per node, and under it (``via_device``) one per camera.

``DiscoveryBuilder.build`` returns ``{config topic: payload}``; every payload carries a
``unique_id``, the fields Home Assistant requires for its component (``state_topic`` for
binary_sensor, sensor and event, ``event_types`` for event, ``command_topic`` for switch,
``image_topic`` for image), a ``device`` block, an ``origin`` block and an availability
list tied to the node's ``available`` and, for entities that only mean something while the
camera streams, to the camera's status. Connectivity, tamper and the alert event entity
follow the node alone: a camera going offline is exactly what they must show.

Ids and discovery topics hold the node name (``<prefix>_<node>_<camera>``): two nodes with a
camera of the same name are two devices. Node names have no ``_`` and camera names no
``-``, so no two (node, camera) pairs give the same id.

``DiscoveryRecord`` remembers which config topics were published (in the data dir) so a
camera, zone or label removed from the config gets an empty retained config (removal).
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from typing import Any

from camwatch import __version__
from camwatch.atomic import write_atomic
from camwatch.comms.client import MqttConnection
from camwatch.comms.topics import OFF, OFFLINE, ON, ONLINE, Topics
from camwatch.config.camera import CameraConfig
from camwatch.config.root import CamwatchConfig
from camwatch.const import ALERT_TYPES

_LOGGER = logging.getLogger(__name__)

_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")
ALL_LABELS = "all"  # count topic of every label together

HA_SUMMARY_MAX = 255  # Home Assistant shows at most this much of an update's release summary

# The availability payload is online | offline | stopped: anything but online is unavailable.
_AVAILABLE_TEMPLATE = "{{ 'online' if value == 'online' else 'offline' }}"


def _safe(text: str) -> str:
    return _UNSAFE.sub("_", text).strip("_") or "x"


class DiscoveryBuilder:
    def __init__(self, config: CamwatchConfig, topics: Topics, fleet: bool = False) -> None:
        self.config = config
        self.topics = topics
        self.fleet = fleet  # the node status and model state are published (by the fleet agent)
        self.node_id = f"{_safe(topics.prefix)}_{topics.node}"
        self.origin = {"name": "camwatch", "sw_version": __version__}

    # --------------------------------------------------------------- blocks
    def node_device(self) -> dict[str, Any]:
        device: dict[str, Any] = {
            "identifiers": [self.node_id],
            "name": f"camwatch {self.topics.node}",
            "manufacturer": "camwatch",
            "model": "camwatch node",
            "sw_version": __version__,
        }
        if self.config.mqtt.web_url:
            device["configuration_url"] = self.config.mqtt.web_url
        return device

    def camera_device(self, camera: str, cam: CameraConfig) -> dict[str, Any]:
        device: dict[str, Any] = {
            "identifiers": [f"{self.node_id}_{camera}"],
            "name": cam.name or camera,
            "manufacturer": "camwatch",
            "model": "camwatch camera",
            "sw_version": __version__,
            "via_device": self.node_id,
        }
        if self.config.mqtt.web_url:
            device["configuration_url"] = f"{self.config.mqtt.web_url}/cameras/{camera}"
        return device

    def availability(self, camera: str | None) -> dict[str, Any]:
        items: list[dict[str, Any]] = [
            {"topic": self.topics.available, "value_template": _AVAILABLE_TEMPLATE,
             "payload_available": ONLINE, "payload_not_available": OFFLINE},
        ]  # fmt: skip
        if camera is not None:
            items.append(
                {"topic": self.topics.camera_status(camera), "payload_available": ONLINE,
                 "payload_not_available": OFFLINE}
            )  # fmt: skip
        return {"availability": items, "availability_mode": "all"}

    # ------------------------------------------------------------- entities
    def build(self) -> dict[str, dict[str, Any]]:
        """Every discovery config topic → payload for the current config."""
        out = self._node()
        for camera, cam in self.config.cameras.items():
            if cam.enabled:
                out.update(self._camera(camera, cam))
        return out

    def _topic(self, component: str, node: str, object_id: str) -> str:
        return f"{self.topics.discovery_prefix}/{component}/{node}/{_safe(object_id)}/config"

    def _node(self) -> dict[str, dict[str, Any]]:
        """The node's own entities: the arm switch, its detector model (an update entity) and health."""
        t, node = self.topics, self.node_id
        entities: dict[str, dict[str, Any]] = {}

        def add(component: str, key: str, payload: dict[str, Any]) -> None:
            entities[self._topic(component, node, key)] = {
                **payload, "unique_id": f"{node}_{component}_{key}", "device": self.node_device(),
                "origin": self.origin, **self.availability(None),
            }  # fmt: skip

        add("switch", "armed", {
            "name": "Armed", "command_topic": t.feature_set(None, "armed"), "state_topic": t.armed_state,
            "payload_on": ON, "payload_off": OFF, "icon": "mdi:shield-home"})  # fmt: skip
        if not self.fleet:
            return entities
        # Home Assistant refuses a JSON state with keys of its own update entity's only, so the
        # entity reads model/update (update_entity_state), not the richer model/state.
        # Installing is done by a signed manifest, never from Home Assistant.
        add("update", "model", {
            "name": "Detector model", "state_topic": t.model_update, "entity_category": "diagnostic",
            "icon": "mdi:brain"})  # fmt: skip
        add("sensor", "cameras_online", {
            "name": "Cameras online", "state_topic": t.node_status,
            "value_template": "{{ value_json.cameras.online }}", "state_class": "measurement",
            "entity_category": "diagnostic", "icon": "mdi:cctv"})  # fmt: skip
        add("sensor", "disk_free", {
            "name": "Disk free", "state_topic": t.node_status,
            "value_template": "{{ ((value_json.disk.free_bytes or 0) / 1e9) | round(2) }}", "unit_of_measurement": "GB",
            "device_class": "data_size", "state_class": "measurement", "entity_category": "diagnostic"})  # fmt: skip
        return entities

    def _camera(self, camera: str, cam: CameraConfig) -> dict[str, dict[str, Any]]:
        t = self.topics
        node = f"{self.node_id}_{camera}"
        device = self.camera_device(camera, cam)
        entities: dict[str, dict[str, Any]] = {}

        def add(component: str, key: str, payload: dict[str, Any], tie_to_camera: bool = True) -> None:
            payload = {
                **payload,
                "unique_id": f"{node}_{component}_{_safe(key)}",
                "device": device,
                "origin": self.origin,
                **self.availability(camera if tie_to_camera else None),
            }
            entities[self._topic(component, node, key)] = payload

        occupied = "{{ 'ON' if (value | int(0)) > 0 else 'OFF' }}"
        for label in cam.objects.track:
            add("binary_sensor", f"{label}_occupancy", {
                "name": f"{label.capitalize()} occupancy", "state_topic": t.count(camera, label),
                "value_template": occupied, "device_class": "occupancy"})  # fmt: skip
            add("sensor", f"{label}_count", {
                "name": f"{label.capitalize()} count", "state_topic": t.count(camera, label),
                "state_class": "measurement", "icon": "mdi:counter"})  # fmt: skip
        for zone in cam.zones:
            add("binary_sensor", f"zone_{zone}_occupancy", {
                "name": f"{zone} occupancy", "state_topic": t.zone_count(camera, zone, ALL_LABELS),
                "value_template": occupied, "device_class": "occupancy"})  # fmt: skip
            add("sensor", f"zone_{zone}_count", {
                "name": f"{zone} count", "state_topic": t.zone_count(camera, zone, ALL_LABELS),
                "state_class": "measurement", "icon": "mdi:counter"})  # fmt: skip
            add("switch", f"zone_{zone}", {
                "name": f"{zone} zone", "command_topic": t.feature_set(camera, f"zone:{zone}"),
                "state_topic": t.feature_state(camera, f"zone:{zone}"), "payload_on": ON, "payload_off": OFF,
                "entity_category": "config", "icon": "mdi:vector-polygon"})  # fmt: skip
        add("binary_sensor", "motion", {
            "name": "Motion", "state_topic": t.motion(camera), "device_class": "motion"})  # fmt: skip
        add("binary_sensor", "tamper", {
            "name": "Tamper", "state_topic": t.tamper(camera), "device_class": "tamper",
            "value_template": "{{ 'ON' if value_json.active else 'OFF' }}",
            "json_attributes_topic": t.tamper(camera)}, tie_to_camera=False)  # fmt: skip
        add("binary_sensor", "connectivity", {
            "name": "Connectivity", "state_topic": t.camera_status(camera), "payload_on": ONLINE,
            "payload_off": OFFLINE, "device_class": "connectivity", "entity_category": "diagnostic"},
            tie_to_camera=False)  # fmt: skip
        add("sensor", "fps", {
            "name": "Processed fps", "state_topic": t.camera_stats(camera), "value_template": "{{ value_json.fps }}",
            "unit_of_measurement": "fps", "state_class": "measurement", "entity_category": "diagnostic",
            "icon": "mdi:speedometer"})  # fmt: skip
        add("sensor", "detector_ms", {
            "name": "Detector time", "state_topic": t.camera_stats(camera),
            "value_template": "{{ value_json.detector_ms }}", "unit_of_measurement": "ms",
            "device_class": "duration", "state_class": "measurement", "entity_category": "diagnostic"})  # fmt: skip
        add("event", "alert", {
            "name": "Alert", "state_topic": t.camera_alerts(camera), "event_types": list(ALERT_TYPES),
            "icon": "mdi:cctv"}, tie_to_camera=False)  # fmt: skip
        for feature, icon in (("detect", "mdi:motion-sensor"), ("snapshots", "mdi:camera"), ("motion", "mdi:run")):
            add("switch", feature, {
                "name": f"{feature.capitalize()}", "command_topic": t.feature_set(camera, feature),
                "state_topic": t.feature_state(camera, feature), "payload_on": ON, "payload_off": OFF,
                "entity_category": "config", "icon": icon})  # fmt: skip
        if cam.mqtt.snapshot:
            add("image", "snapshot", {
                "name": "Snapshot", "image_topic": t.snapshot(camera), "content_type": "image/jpeg"})  # fmt: skip
        return entities


def update_entity_state(state: dict[str, Any], web_url: str | None) -> dict[str, Any]:
    """The model update state as Home Assistant's MQTT ``update`` entity takes it: its keys only
    (any other key makes it drop the whole message), each of the type it checks."""
    installed = str(state.get("installed_version") or "unknown")
    percentage = state.get("update_percentage")
    out: dict[str, Any] = {
        "installed_version": installed,
        "latest_version": str(state.get("latest_version") or installed),
        "title": str(state.get("title") or "camwatch detector model"),
        "in_progress": bool(state.get("in_progress")),
        # None ends a progress bar; a number shows one
        "update_percentage": percentage if isinstance(percentage, int) and 0 <= percentage <= 100 else None,
        "release_summary": str(state.get("release_summary") or "")[:HA_SUMMARY_MAX],
    }
    if web_url:
        out["release_url"] = f"{web_url}/system"
    return out


class DiscoveryRecord:
    """The discovery config topics published last time (``<data_dir>/mqtt_discovery.json``)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> set[str]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return set()
        except (OSError, ValueError) as exc:
            _LOGGER.warning("ignoring unreadable discovery record %s: %s", self.path, exc)
            return set()
        return {t for t in data.get("topics", []) if isinstance(t, str)}

    def save(self, topics: set[str]) -> None:
        try:
            write_atomic(self.path, json.dumps({"topics": sorted(topics)}, indent=1))
        except OSError as exc:
            _LOGGER.error("cannot save discovery record %s: %s", self.path, exc)


def publish_discovery(
    connection: MqttConnection, configs: dict[str, dict[str, Any]], record: DiscoveryRecord,
    sent: dict[str, bytes] | None = None,
) -> None:  # fmt: skip
    """Publish ``configs``; an empty retained config removes each entity published last time
    and no longer wanted (a removed camera, zone, label; every old one after a layout move).

    ``sent``: the configs already published on this connection (updated here); one that has not
    changed is not published again, so Home Assistant — also behind a bridge — gets each
    entity's config once per connection, not once per config change elsewhere."""
    previous = record.load()
    removed = previous - set(configs)
    for topic in sorted(removed):
        connection.publish(topic, b"", qos=1, retain=True)
        if sent is not None:
            sent.pop(topic, None)
    for topic, payload in configs.items():
        data = json.dumps(payload, separators=(",", ":")).encode()
        if sent is not None:
            if sent.get(topic) == data:
                continue
            sent[topic] = data
        connection.publish(topic, data, qos=1, retain=True)
    if removed:
        _LOGGER.info("removed %d Home Assistant entit(ies) no longer in the config", len(removed))
    if set(configs) != previous:
        record.save(set(configs))
