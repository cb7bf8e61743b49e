"""Delivery counters of the notification destinations, kept across restarts.

Each destination counts the messages it sent, failed, held back (rate limit) and dropped
(queue full), the retries, and the test messages sent from the web page, with the last
success, the last problem and since when it counts. They are published in
``RuntimeState.notify`` (System page, ``/api/stats``, ``/api/notify``) and, with a data
directory, kept in ``<data dir>/notify_counters.json`` (written atomically), so a restart
continues them instead of silently starting again at 0.

The sending threads and the web page's test both write here: one lock serialises every
change of a destination's published status and of the file.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from pathlib import Path
from typing import Any

from camwatch.atomic import write_atomic
from camwatch.state import RuntimeState

_LOGGER = logging.getLogger(__name__)

COUNTERS_FILE = "notify_counters.json"
COUNTS = ("sent", "failed", "retries", "held_back", "dropped", "tests")
MOMENTS = ("last_sent", "last_error", "last_error_time", "last_test", "last_test_ok", "since")
KEPT = (*COUNTS, *MOMENTS)
#: What the web page's test changes; a sending thread carries these over when it publishes.
TEST_FIELDS = ("tests", "last_test", "last_test_ok", "last_error", "last_error_time")

_LOCK = threading.RLock()


def counters_path(data_dir: Path) -> Path:
    return Path(data_dir) / COUNTERS_FILE


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        _LOGGER.warning("notification counters in %s unreadable (%s): counting from now", path, exc)
        return {}
    return data if isinstance(data, dict) else {}


def load(path: Path | None, name: str, now: float | None = None) -> dict[str, Any]:
    """A destination's kept counters (from the file), or fresh ones counting from ``now``."""
    fresh: dict[str, Any] = {**dict.fromkeys(COUNTS, 0), **dict.fromkeys(MOMENTS)}
    fresh["since"] = time.time() if now is None else now
    if path is None:
        return fresh
    with _LOCK:
        kept = _read(path).get(name)
    if not isinstance(kept, dict):
        return fresh
    for key in COUNTS:
        if isinstance(kept.get(key), int) and not isinstance(kept.get(key), bool) and kept[key] >= 0:
            fresh[key] = kept[key]
    for key in MOMENTS:
        value = kept.get(key)
        if key == "since":
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                fresh[key] = value
        elif value is None or isinstance(value, (int, float, str, bool)):
            fresh[key] = value
    return fresh


def _save(path: Path | None, name: str, record: dict[str, Any] | None) -> None:
    """Replace (or, with None, remove) one destination's record in the file."""
    if path is None:
        return
    with _LOCK:
        data = _read(path)
        if record is None:
            if data.pop(name, None) is None:
                return
        else:
            data[name] = {key: record.get(key) for key in KEPT}
        try:
            write_atomic(path, json.dumps(data, indent=1, sort_keys=True))
        except OSError as exc:  # a full disk must not stop the notifications
            _LOGGER.warning("cannot keep the notification counters in %s: %s", path, exc)


def forget(path: Path | None, name: str) -> None:
    """A removed destination: its counters go (a new one of the same name starts at 0)."""
    _save(path, name, None)


def delivery_state(status: dict[str, Any]) -> str:
    """``ok`` when the last thing that happened was a delivery (a test counts), ``failing``
    when it was a failure, ``idle`` when nothing was sent yet."""
    good = [t for t in (status.get("last_sent"), status.get("last_test") if status.get("last_test_ok") else None)
            if isinstance(t, (int, float))]
    bad = status.get("last_error_time")
    if not good and not isinstance(bad, (int, float)):
        return "idle"
    if isinstance(bad, (int, float)) and (not good or bad >= max(good)):
        return "failing"
    return "ok"


def publish(state: RuntimeState, path: Path | None, name: str, status: dict[str, Any], **changes: Any) -> None:
    """Apply ``changes`` to a sending thread's ``status`` (in place), publish it and keep its
    counters when they changed. A test the web page recorded meanwhile is carried over first."""
    with _LOCK:
        shown = state.notify.get(name) or {}
        if (shown.get("last_test") or 0) > (status.get("last_test") or 0):
            status.update({key: shown.get(key) for key in TEST_FIELDS})
        before = {key: status.get(key) for key in KEPT}
        status.update(changes)
        _show(state, path, name, status, before)


def _show(state: RuntimeState, path: Path | None, name: str, status: dict[str, Any], before: dict[str, Any]) -> None:
    status["state"] = delivery_state(status)
    state.notify[name] = dict(status)  # readers copy a finished dict
    if any(status.get(key) != before.get(key) for key in KEPT):
        _save(path, name, status)


def record_test(state: RuntimeState, data_dir: Path, name: str, ok: bool, error: str | None,
                now: float | None = None) -> None:
    """A test message from the web page to a saved destination: counted and shown like a delivery."""
    path = counters_path(data_dir)
    now = time.time() if now is None else now
    with _LOCK:
        shown = state.notify.get(name)
        status = dict(shown) if shown else load(path, name, now)
        before = {key: status.get(key) for key in KEPT}
        status.update(tests=int(status.get("tests") or 0) + 1, last_test=now, last_test_ok=ok)
        if not ok:
            status.update(last_error=error, last_error_time=now)
        if shown is None:  # no sending thread for it (notifications stopped): the file only
            _save(path, name, status)
            return
        _show(state, path, name, status, before)
