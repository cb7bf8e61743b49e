"""The retained count and statistics messages of one bus message, as (topic, payload) pairs.

Pure functions: MqttSink decides what is new and publishes it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from camwatch.comms.discovery import ALL_LABELS
from camwatch.comms.topics import OFF, OFFLINE, ON, ONLINE, Topics
from camwatch.config.camera import CameraConfig

Message = tuple[str, bytes]


def json_bytes(data: Any) -> bytes:
    return json.dumps(data, separators=(",", ":"), default=str).encode("utf-8")


def count_messages(
    topics: Topics, camera: str, cam: CameraConfig, counts: dict[str, int], zones: dict[str, dict[str, int]],
    zone_labels: Callable[[str], set[str]],
) -> list[Message]:  # fmt: skip
    """Objects in view per label (every tracked label, 0 when none) and per zone;
    ``zone_labels(zone)`` are the labels a zone reported before (they drop back to 0)."""
    out: list[Message] = [(topics.objects(camera), json_bytes(counts))]
    for label in {*cam.objects.track, *counts}:
        out.append((topics.count(camera, label), str(int(counts.get(label, 0))).encode()))
    out.append((topics.count(camera, ALL_LABELS), str(sum(counts.values())).encode()))
    for zone in {*cam.zones, *zones}:
        zone_counts = zones.get(zone) or {}
        out.append((topics.zone_objects(camera, zone), json_bytes(zone_counts)))
        for label, n in zone_counts.items():
            out.append((topics.zone_count(camera, zone, label), str(int(n)).encode()))
        for label in zone_labels(zone) - set(zone_counts):
            out.append((topics.zone_count(camera, zone, label), b"0"))
        out.append((topics.zone_count(camera, zone, ALL_LABELS), str(sum(zone_counts.values())).encode()))
    return out


def camera_stats_messages(topics: Topics, cameras: set[str], stats: dict[str, Any]) -> list[Message]:
    """``<p>/<cam>/stats`` for each configured camera in a stats message."""
    detector_ms = (stats.get("detector") or {}).get("inference_ms")
    out: list[Message] = []
    for name, cam in (stats.get("cameras") or {}).items():
        if name in cameras and isinstance(cam, dict):
            per_camera = {"fps": cam.get("processed_fps"), "input_fps": cam.get("input_fps"),
                          "skipped_fps": cam.get("skipped_fps"), "detector_ms": detector_ms,
                          "online": cam.get("online")}  # fmt: skip
            out.append((topics.camera_stats(name), json_bytes(per_camera)))
    return out


def seed_messages(topics: Topics, camera: str, online: bool, switches: dict[str, Any]) -> list[Message]:
    """A camera's retained states before its first real ones: its status first, then motion
    OFF, no tamper, and each switch (``switches`` as in ControlState: feature → bool, zones → dict)."""
    out: list[Message] = [
        (topics.camera_status(camera), (ONLINE if online else OFFLINE).encode()),
        (topics.motion(camera), OFF.encode()),
        (topics.tamper(camera), json_bytes({"active": False, "states": []})),
    ]
    for feature, value in switches.items():
        if feature == "zones":
            out += [(topics.feature_state(camera, f"zone:{zone}"), (ON if on else OFF).encode()) for zone, on in value.items()]
        else:
            out.append((topics.feature_state(camera, feature), (ON if value else OFF).encode()))
    return out
