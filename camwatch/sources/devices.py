"""The USB (V4L2) cameras plugged into this machine, with the names their drivers give them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

DEV = Path("/dev")
SYSFS = Path("/sys/class/video4linux")
_NODE = re.compile(r"^video(\d{1,3})$")


@dataclass(frozen=True)
class VideoDevice:
    path: str  # /dev/videoN
    name: str  # what the driver calls it ("HD Pro Webcam C920"), or the node's name
    index: int  # 0: the device's picture; UVC cameras add a second node (1) for metadata only


def video_devices(dev: Path = DEV, sysfs: Path = SYSFS) -> list[VideoDevice]:
    """Every /dev/videoN, numbered order, the likely picture nodes (index 0) first."""
    found: list[tuple[int, VideoDevice]] = []
    for node in dev.glob("video*"):
        match = _NODE.match(node.name)
        if not match:
            continue
        info = sysfs / node.name
        name = _read(info / "name") or node.name
        index_text = _read(info / "index")
        index = int(index_text) if index_text.isdigit() else 0
        found.append((int(match.group(1)), VideoDevice(str(node), name, index)))
    found.sort(key=lambda item: (item[1].index != 0, item[0]))
    return [device for _number, device in found]


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace").strip()[:200]
    except OSError:
        return ""
