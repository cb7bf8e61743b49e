"""System facts for the System page, ``/api/stats`` and ``/metrics``."""

from __future__ import annotations

import os
import shutil
import time
from typing import Any

import psutil

from camwatch import secrets
from camwatch.cpu import CpuSampler
from camwatch.web.context import WebContext

_PROCESS = psutil.Process(os.getpid())
_CPU = CpuSampler()  # primed when the web layer loads: the first page shows real figures
_CAMERA_KEYS = (
    "online", "state", "input_fps", "processed_fps", "skipped_fps", "skipped_total", "reconnects",
    "detector_calls", "last_error", "last_frame_time", "frame_size", "motion", "counts",
)


def system_stats(ctx: WebContext) -> dict[str, Any]:
    now = time.time()
    cpu = _CPU.read()
    memory = psutil.virtual_memory()
    try:
        disk = shutil.disk_usage(ctx.data_dir)
        disk_info = {"total_bytes": disk.total, "free_bytes": disk.free}
    except OSError:
        disk_info = {}
    try:
        usage: dict[str, Any] = dict(ctx.store.storage_usage())
    except Exception as exc:  # a broken database must not break the System page
        usage = {"error": secrets.redact(str(exc))}
    cameras = {
        name: {k: status.get(k) for k in _CAMERA_KEYS}
        for name, status in ctx.state.cameras().items()
    }
    errors = [
        {**e, "message": secrets.redact(str(e.get("message", "")))} for e in list(ctx.state.errors)[-20:]
    ]
    mqtt = {k: v for k, v in dict(ctx.state.mqtt).items() if k not in {"password", "username"}}
    return {
        "version": ctx.version,
        "time": now,
        "uptime": round(now - ctx.state.started, 1),
        "process": {
            "cpu_percent": cpu.process_percent,
            "memory_bytes": _PROCESS.memory_info().rss,
            "threads": _PROCESS.num_threads(),
        },
        "system": {
            "cpu_percent": cpu.system_percent,
            "cpu_count": psutil.cpu_count() or 1,
            "load": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
            "memory_total_bytes": memory.total,
            "memory_available_bytes": memory.available,
        },
        "detector": dict(ctx.state.detector),
        "cameras": cameras,
        "storage": {
            **usage,
            **disk_info,
            "data_dir": str(ctx.data_dir),
            "retain_days": ctx.config.storage.retain_days,
            "max_snapshot_mb": ctx.config.storage.max_snapshot_mb,
        },
        "mqtt": mqtt,
        "notify": {name: dict(status) for name, status in dict(ctx.state.notify).items()},
        "fleet": dict(ctx.state.fleet),  # node name, running model, model updates (with MQTT)
        "armed": ctx.control.armed,
        "errors": errors,
    }
