"""camwatch's MQTT topic tree (documented in docs/mqtt.md), in one place."""

from __future__ import annotations

from dataclasses import dataclass

ONLINE = "online"
OFFLINE = "offline"
STOPPED = "stopped"
ON = "ON"
OFF = "OFF"

GLOBAL_ARMED = "armed"


@dataclass(frozen=True, slots=True)
class Topics:
    prefix: str = "camwatch"
    discovery_prefix: str = "homeassistant"

    # ------------------------------------------------------------ global
    @property
    def available(self) -> str:
        return f"{self.prefix}/available"

    @property
    def events(self) -> str:
        return f"{self.prefix}/events"

    @property
    def stats(self) -> str:
        return f"{self.prefix}/stats"

    @property
    def errors(self) -> str:
        return f"{self.prefix}/errors"

    @property
    def armed_state(self) -> str:
        return f"{self.prefix}/{GLOBAL_ARMED}/state"

    @property
    def armed_set(self) -> str:
        return f"{self.prefix}/{GLOBAL_ARMED}/set"

    @property
    def ha_status(self) -> str:
        return f"{self.discovery_prefix}/status"

    # ------------------------------------------------------------ camera
    def camera_status(self, camera: str) -> str:
        return f"{self.prefix}/{camera}/status"

    def camera_alerts(self, camera: str) -> str:
        return f"{self.prefix}/{camera}/alerts"

    def camera_stats(self, camera: str) -> str:
        return f"{self.prefix}/{camera}/stats"

    def motion(self, camera: str) -> str:
        return f"{self.prefix}/{camera}/motion"

    def tamper(self, camera: str) -> str:
        return f"{self.prefix}/{camera}/tamper"

    def objects(self, camera: str) -> str:
        """JSON {label: count} of confirmed objects in view."""
        return f"{self.prefix}/{camera}/objects"

    def count(self, camera: str, label: str) -> str:
        return f"{self.prefix}/{camera}/objects/{label}"

    def zone_objects(self, camera: str, zone: str) -> str:
        return f"{self.prefix}/{camera}/zones/{zone}/objects"

    def zone_count(self, camera: str, zone: str, label: str) -> str:
        return f"{self.prefix}/{camera}/zones/{zone}/objects/{label}"

    def snapshot(self, camera: str, label: str | None = None) -> str:
        """The latest opted-in snapshot JPEG of a camera (or of one label)."""
        if label is None:
            return f"{self.prefix}/{camera}/snapshot"
        return f"{self.prefix}/{camera}/{label}/snapshot"

    def feature_state(self, camera: str | None, feature: str) -> str:
        """``feature`` as in ControlState: detect | snapshots | motion | zone:<name> | armed."""
        return self._feature(camera, feature) + "/state"

    def feature_set(self, camera: str | None, feature: str) -> str:
        return self._feature(camera, feature) + "/set"

    def _feature(self, camera: str | None, feature: str) -> str:
        if camera is None:
            return f"{self.prefix}/{feature}"
        if feature.startswith("zone:"):
            return f"{self.prefix}/{camera}/zones/{feature[5:]}"
        return f"{self.prefix}/{camera}/{feature}"

    def command_subscriptions(self) -> list[str]:
        return [self.armed_set, f"{self.prefix}/+/+/set", f"{self.prefix}/+/zones/+/set"]

    def parse_command(self, topic: str) -> tuple[str | None, str] | None:
        """``(camera, feature)`` of a command topic, None when it is not one of ours."""
        head = self.prefix + "/"
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
