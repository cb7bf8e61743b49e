"""One node as `camwatch fleet status` shows it, from retained messages anyone could have written.

Every field of a node's status and model state is checked for its type and range before it
is used; a field that fails is left out and named in the node's ``problems`` (shown under the
table), so one malformed message costs that field, never the command. Every text printed goes
through :func:`printable`: a stranger's escape sequences cannot rewrite the terminal.

A node whose availability says ``online`` but whose status stopped coming (its site's bridge
is down, or its broker connection hangs) is shown ``offline``: the status is published every
``interval`` seconds, and after ``STALE_INTERVALS`` of them plus ``STALE_MARGIN`` (clock
differences between boards) it is old.
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass, field
from typing import Any

from camwatch.comms.inbound import printable

AVAILABILITY = ("online", "offline", "stopped")
DEFAULT_INTERVAL = 30.0  # a status without "interval" comes from a node with the default stats interval
STALE_INTERVALS = 3
STALE_MARGIN = 10.0
_HEX = re.compile(r"[0-9a-f]{1,64}")


def _number(value: Any, low: float = 0.0, high: float = 1e18) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value) if low <= value <= high else None


def _int(value: Any, low: int = 0, high: int = 2**53) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value if low <= value <= high else None


def _text(value: Any, limit: int = 100) -> str | None:
    return printable(value, limit) if isinstance(value, str) and value else None


@dataclass
class NodeView:
    name: str
    available: str | None = None
    status: dict[str, Any] = field(default_factory=dict)  # as received (for --json), checked or not
    model_state: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def problem(self, text: str) -> None:
        if text not in self.problems:
            self.problems.append(text)

    # ------------------------------------------------------------ checked fields
    def _field(self, data: dict[str, Any], key: str, check: Any, where: str) -> Any:
        value = data.get(key)
        if value is None:
            return None
        checked = check(value)
        if checked is None:
            self.problem(f"{where} {key} ignored (not a valid value)")
        return checked

    def _dict(self, data: dict[str, Any], key: str, where: str) -> dict[str, Any]:
        value = data.get(key)
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.problem(f"{where} {key} ignored (not an object)")
            return {}
        return value

    def availability(self) -> str | None:
        if self.available is None:
            return None
        if self.available not in AVAILABILITY:
            self.problem("availability ignored (not online, offline or stopped)")
            return None
        return self.available

    def last_seen(self) -> float | None:
        """The node's time of its last status (its own clock)."""
        return self._field(self.status, "time", _number, "status")

    def state(self, now: float) -> str:
        """online / offline / stopped / unknown; ``online`` with an old status is ``offline``."""
        available = self.availability()
        if available == "online" and self.stale(now):
            return "offline"
        return available or "unknown"

    def stale(self, now: float) -> bool:
        seen = self.last_seen()
        if seen is None:
            return False
        interval = self._field(self.status, "interval", lambda v: _number(v, 0.1, 86400.0), "status")
        return now - seen > STALE_INTERVALS * (interval or DEFAULT_INTERVAL) + STALE_MARGIN

    # ------------------------------------------------------------ the table row
    def row(self, now: float) -> dict[str, str]:
        s = self.status
        model = self._dict(s, "model", "status")
        cameras = self._dict(s, "cameras", "status")
        disk = self._dict(s, "disk", "status")
        update = self.model_state or self._dict(s, "update", "status")
        name = self._field(model, "name", _text, "model") or "-"
        version = self._field(model, "version", _int, "model")
        if version is not None:
            name += f" v{version}"
        sha = self._field(model, "sha256", lambda v: v if isinstance(v, str) and _HEX.fullmatch(v) else None, "model")
        online, offline = (self._field(cameras, k, _int, "cameras") for k in ("online", "offline"))
        detector = self._field(s, "detector_ms", _number, "status")
        free = self._field(disk, "free_bytes", _number, "disk")
        seen = self.last_seen()
        state = self.state(now)
        if state == "offline" and self.availability() == "online":
            self.problem(f"no status for {now - (seen or now):.0f} s: shown offline")
        return {
            "node": printable(self.name, 63),
            "state": state,
            "version": self._field(s, "version", lambda v: _text(v, 40), "status") or "-",
            "model": name,
            "sha256": (sha or "-")[:12],
            "cameras": f"{'-' if online is None else online} on / {'-' if offline is None else offline} off"
            if cameras else "-",
            "detector": f"{detector:.0f} ms" if detector is not None else "-",
            "disk free": f"{free / 1e9:.1f} GB" if free is not None else "-",
            "last update": self._update_text(update),
            "seen": f"{max(0.0, now - seen):.0f} s ago" if seen is not None else "-",
        }

    def _update_text(self, update: dict[str, Any]) -> str:
        where = "model state"
        result = self._field(update, "state", lambda v: _text(v, 20), where) or "-"
        progress = self._field(update, "progress", lambda v: _int(v, 0, 100), where)
        if result == "downloading" and progress is not None:
            result += f" {progress} %"
        version = self._field(update, "version", _int, where)
        if version is not None:
            result += f" (v{version})"
        reason = self._field(update, "reason", lambda v: _text(v, 200), where)
        if reason:
            result += f": {reason}"
        refused = update.get("refused")
        count = _int(refused.get("count")) if isinstance(refused, dict) else None
        if count:
            result += f" [{count} forged refused]"
        return result if len(result) <= 80 else result[:79] + "…"


def render_table(nodes: dict[str, NodeView], now: float | None = None) -> str:
    """The table, then each node's problems; ``nodes.ignored`` (a FleetView's) counts what was no node."""
    now = time.time() if now is None else now
    ignored = getattr(nodes, "ignored", 0)
    rows = [view.row(now) for view in nodes.values()]
    if not rows:
        lines = ["no camwatch node on this broker"]
    else:
        keys = list(rows[0])
        widths = {k: max(len(k), *(len(r[k]) for r in rows)) for k in keys}
        lines = ["  ".join(k.upper().ljust(widths[k]) for k in keys).rstrip()]
        lines += ["  ".join(r[k].ljust(widths[k]) for k in keys).rstrip() for r in rows]
        online = sum(1 for r in rows if r["state"] == "online")
        lines.append(f"{len(rows)} node(s): {online} online, {len(rows) - online} not online")
    for view in nodes.values():
        lines += [f"  {printable(view.name, 63)}: {problem}" for problem in view.problems]
    if ignored:
        lines.append(f"  ignored {ignored} message(s) under a topic level that is no node name")
    return "\n".join(lines) + "\n"
