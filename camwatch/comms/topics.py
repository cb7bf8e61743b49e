"""camwatch's MQTT topic tree (documented in docs/mqtt.md and docs/fleet.md), in one place.

Every node has its own subtree ``<prefix>/<node>/…`` (availability, events, states, commands,
its cameras); ``<prefix>/fleet/…`` holds what is meant for every node (the fleet's desired
model). ``LegacyTopics`` is the single-node layout of earlier versions (``<prefix>/…``
without the node), still needed to clear its retained messages once.
"""

from __future__ import annotations

from dataclasses import dataclass

ONLINE = "online"
OFFLINE = "offline"
STOPPED = "stopped"
ON = "ON"
OFF = "OFF"

GLOBAL_ARMED = "armed"
FLEET = "fleet"  # the fleet-wide level; no node can have this name


@dataclass(frozen=True, slots=True)
class Topics:
    prefix: str = "camwatch"
    discovery_prefix: str = "homeassistant"
    node: str = "camwatch"

    @property
    def base(self) -> str:
        """The root of this node's subtree."""
        return f"{self.prefix}/{self.node}"

    # ------------------------------------------------------------ node
    @property
    def available(self) -> str:
        return f"{self.base}/available"

    @property
    def events(self) -> str:
        return f"{self.base}/events"

    @property
    def stats(self) -> str:
        return f"{self.base}/stats"

    @property
    def errors(self) -> str:
        return f"{self.base}/errors"

    @property
    def armed_state(self) -> str:
        return f"{self.base}/{GLOBAL_ARMED}/state"

    @property
    def armed_set(self) -> str:
        return f"{self.base}/{GLOBAL_ARMED}/set"

    @property
    def ha_status(self) -> str:
        return f"{self.discovery_prefix}/status"

    @property
    def node_status(self) -> str:
        """Retained fleet status of this node (version, model, cameras, disk, last update)."""
        return f"{self.base}/status"

    @property
    def model_state(self) -> str:
        """Retained progress and result of the latest model update."""
        return f"{self.base}/model/state"

    @property
    def model_update(self) -> str:
        """Retained state of Home Assistant's ``update`` entity: only the keys it accepts."""
        return f"{self.base}/model/update"

    @property
    def model_copy(self) -> str:
        """Retained copy of the signed manifest this node last decided on (what a new node sees)."""
        return f"{self.base}/model/manifest"

    @property
    def every_model_copy(self) -> str:
        return f"{self.prefix}/+/model/manifest"

    @property
    def model_desired(self) -> str:
        """Retained signed model manifest meant for this node only."""
        return f"{self.base}/model/desired"

    @property
    def fleet_model_desired(self) -> str:
        """Retained signed model manifest meant for every node."""
        return f"{self.prefix}/{FLEET}/model/desired"

    # ------------------------------------------------------------ the fleet (readers)
    @property
    def every_node_status(self) -> str:
        return f"{self.prefix}/+/status"

    @property
    def every_node_available(self) -> str:
        return f"{self.prefix}/+/available"

    @property
    def every_model_state(self) -> str:
        return f"{self.prefix}/+/model/state"

    def node_of(self, topic: str) -> str | None:
        """The node level of a ``<prefix>/<node>/…`` topic."""
        head = self.prefix + "/"
        if not topic.startswith(head):
            return None
        node = topic[len(head) :].split("/", 1)[0]
        return None if node == FLEET else node

    # ------------------------------------------------------------ camera
    def camera_status(self, camera: str) -> str:
        return f"{self.base}/{camera}/status"

    def camera_alerts(self, camera: str) -> str:
        return f"{self.base}/{camera}/alerts"

    def camera_stats(self, camera: str) -> str:
        return f"{self.base}/{camera}/stats"

    def motion(self, camera: str) -> str:
        return f"{self.base}/{camera}/motion"

    def tamper(self, camera: str) -> str:
        return f"{self.base}/{camera}/tamper"

    def objects(self, camera: str) -> str:
        """JSON {label: count} of confirmed objects in view."""
        return f"{self.base}/{camera}/objects"

    def count(self, camera: str, label: str) -> str:
        return f"{self.base}/{camera}/objects/{label}"

    def zone_objects(self, camera: str, zone: str) -> str:
        return f"{self.base}/{camera}/zones/{zone}/objects"

    def zone_count(self, camera: str, zone: str, label: str) -> str:
        return f"{self.base}/{camera}/zones/{zone}/objects/{label}"

    def snapshot(self, camera: str, label: str | None = None) -> str:
        """The latest opted-in snapshot JPEG of a camera (or of one label)."""
        if label is None:
            return f"{self.base}/{camera}/snapshot"
        return f"{self.base}/{camera}/{label}/snapshot"

    def feature_state(self, camera: str | None, feature: str) -> str:
        """``feature`` as in ControlState: detect | snapshots | motion | zone:<name> | armed."""
        return self._feature(camera, feature) + "/state"

    def feature_set(self, camera: str | None, feature: str) -> str:
        return self._feature(camera, feature) + "/set"

    def _feature(self, camera: str | None, feature: str) -> str:
        if camera is None:
            return f"{self.base}/{feature}"
        if feature.startswith("zone:"):
            return f"{self.base}/{camera}/zones/{feature[5:]}"
        return f"{self.base}/{camera}/{feature}"

    def command_subscriptions(self) -> list[str]:
        return [self.armed_set, f"{self.base}/+/+/set", f"{self.base}/+/zones/+/set"]

    def parse_command(self, topic: str) -> tuple[str | None, str] | None:
        """``(camera, feature)`` of a command topic, None when it is not one of ours."""
        head = self.base + "/"
        if not topic.startswith(head) or not topic.endswith("/set"):
            return None
        parts = topic[len(head) : -len("/set")].split("/")
        if parts == [GLOBAL_ARMED]:
            return None, GLOBAL_ARMED
        if len(parts) == 2:
            return parts[0], parts[1]
        if len(parts) == 3 and parts[1] == "zones":
            return parts[0], f"zone:{parts[2]}"
        return None


@dataclass(frozen=True, slots=True)
class LegacyTopics:
    """The single-node layout of camwatch before node names: ``<prefix>/…``."""

    prefix: str = "camwatch"

    def node_level(self) -> list[str]:
        return [f"{self.prefix}/available", f"{self.prefix}/stats", f"{self.prefix}/{GLOBAL_ARMED}/state"]

    def camera_tree(self, camera: str) -> str:
        return f"{self.prefix}/{camera}/#"
