"""Prometheus text exposition at ``/metrics`` (session or bearer token)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask import Blueprint, Response

from camwatch.web.auth import web_context
from camwatch.web.stats import system_stats

bp = Blueprint("metrics", __name__)


def _escape(value: Any) -> str:
    return str(value).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(labels: dict[str, Any]) -> str:
    if not labels:
        return ""
    return "{" + ",".join(f'{k}="{_escape(v)}"' for k, v in labels.items()) + "}"


class _Exposition:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def metric(self, name: str, kind: str, help_text: str, samples: Iterable[tuple[dict[str, Any], Any]]) -> None:
        rows = [(labels, value) for labels, value in samples if isinstance(value, (int, float))]
        if not rows:
            return
        self.lines.append(f"# HELP {name} {help_text}")
        self.lines.append(f"# TYPE {name} {kind}")
        for labels, value in rows:
            self.lines.append(f"{name}{_labels(labels)} {float(value):g}")

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


@bp.get("/metrics")
def metrics() -> Any:
    """Prometheus metrics: cameras, detector, events, storage, process, MQTT."""
    ctx = web_context()
    stats = system_stats(ctx)
    out = _Exposition()
    out.metric("camwatch_info", "gauge", "Version of camwatch.", [({"version": ctx.version}, 1)])
    out.metric("camwatch_uptime_seconds", "gauge", "Seconds since start.", [({}, stats["uptime"])])
    cams = stats["cameras"].items()
    out.metric("camwatch_camera_online", "gauge", "1 when the camera delivers frames.",
               [({"camera": n}, int(bool(s["online"]))) for n, s in cams])
    for key, help_text in (("input_fps", "Frames decoded per second."),
                           ("processed_fps", "Frames processed per second."),
                           ("skipped_fps", "Sampled frames dropped per second (pipeline busy).")):
        out.metric(f"camwatch_camera_{key}", "gauge", help_text, [({"camera": n}, s[key]) for n, s in cams])
    out.metric("camwatch_camera_reconnects_total", "counter", "Reconnects of the camera source.",
               [({"camera": n}, s["reconnects"]) for n, s in cams])
    out.metric("camwatch_camera_detector_calls_total", "counter", "Detector runs for the camera.",
               [({"camera": n}, s["detector_calls"]) for n, s in cams])
    out.metric("camwatch_camera_objects", "gauge", "Confirmed objects in view, by label.",
               [({"camera": n, "label": label}, count) for n, s in cams for label, count in (s["counts"] or {}).items()])
    detector = stats["detector"]
    out.metric("camwatch_detector_inference_ms", "gauge", "Average detector inference time (ms).",
               [({"device": detector.get("device", "")}, detector.get("inference_ms"))])
    out.metric("camwatch_detector_calls_total", "counter", "Detector runs.", [({}, detector.get("calls"))])
    storage = stats["storage"]
    out.metric("camwatch_events", "gauge", "Events in the store.", [({}, storage.get("events"))])
    out.metric("camwatch_events_kept", "gauge", "Events exempt from retention.", [({}, storage.get("kept"))])
    out.metric("camwatch_storage_bytes", "gauge", "Bytes used by the database and snapshots.",
               [({"kind": "database"}, storage.get("db_bytes")), ({"kind": "snapshots"}, storage.get("snapshot_bytes"))])
    out.metric("camwatch_disk_free_bytes", "gauge", "Free bytes on the data directory's disk.",
               [({}, storage.get("free_bytes"))])
    out.metric("camwatch_process_cpu_percent", "gauge", "CPU use of the camwatch process (%).",
               [({}, stats["process"]["cpu_percent"])])
    out.metric("camwatch_process_memory_bytes", "gauge", "Resident memory of the camwatch process.",
               [({}, stats["process"]["memory_bytes"])])
    mqtt = stats["mqtt"]
    if mqtt.get("enabled"):
        out.metric("camwatch_mqtt_connected", "gauge", "1 when connected to the MQTT broker.",
                   [({}, int(bool(mqtt.get("connected"))))])
    out.metric("camwatch_armed", "gauge", "1 when alerts are armed.", [({}, int(bool(stats["armed"])))])
    return Response(out.text(), mimetype="text/plain; version=0.0.4")
