"""The retained status every node publishes on ``<prefix>/<node>/status``: its one-line health.

Version, when it was published and how often it is, the model that runs (name, SHA-256, update version), cameras online and offline,
detector time, free disk, the last model update result and when it was published. With the
node's availability (last will ``offline``) it is what ``camwatch fleet status`` prints.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

from camwatch import __version__
from camwatch.detectors.base import ModelInfo


def disk_facts(path: Path) -> dict[str, Any]:
    try:
        usage = shutil.disk_usage(path)
    except OSError:
        return {"free_bytes": None, "used_percent": None}
    return {"free_bytes": usage.free, "used_percent": round(100.0 * usage.used / usage.total, 1) if usage.total else None}


def node_status(
    *, node: str, run_id: str, started: float, data_dir: Path, model: ModelInfo | None, detector_ms: float | None,
    cameras: dict[str, dict[str, Any]], update: dict[str, Any], updates_enabled: bool, interval: float,
) -> dict[str, Any]:  # fmt: skip
    online = sorted(name for name, cam in cameras.items() if cam.get("online"))
    offline = sorted(name for name in cameras if name not in online)
    return {
        "node": node,
        "run": run_id,
        "version": __version__,
        "started": round(started, 1),
        "time": round(time.time(), 1),
        "interval": interval,  # seconds to the next status: a reader knows when this one is old
        "model": model.to_dict() if model else None,
        "detector_ms": round(detector_ms, 1) if detector_ms is not None else None,
        "cameras": {"online": len(online), "offline": len(offline), "names_offline": offline},
        "disk": disk_facts(data_dir),
        "updates": "on" if updates_enabled else "off",
        "update": {k: update.get(k) for k in ("state", "version", "name", "reason", "time")},
    }
