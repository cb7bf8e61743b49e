"""Runtime switches that MQTT, the API and the UI can change, persisted across restarts.

Per camera: ``detect``, ``snapshots``, ``motion`` and each zone on/off; globally ``armed``.
The state lives in ``<data_dir>/control.json`` (written atomically) and starts from the
config on first run. Listeners are told of every change (MQTT echoes it on ``…/state``).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from camwatch.atomic import write_atomic

_LOGGER = logging.getLogger(__name__)

CAMERA_FEATURES = ("detect", "snapshots", "motion")

Listener = Callable[[str | None, str, Any], None]  # camera (None = global), feature, value


class ControlError(ValueError):
    """An invalid command: unknown camera, feature or zone, or a wrong value type."""


class ControlState:
    def __init__(self, path: Path | None, cameras: dict[str, dict[str, Any]], armed: bool = True) -> None:
        """``cameras`` maps camera → {"detect": bool, "snapshots": bool, "motion": bool, "zones": {name: bool}}."""
        self._path = path
        self._lock = threading.Lock()
        self._listeners: list[Listener] = []
        self._state: dict[str, Any] = {"armed": armed, "cameras": json.loads(json.dumps(cameras))}
        if path is not None and path.exists():
            self._merge_saved(path)

    def _merge_saved(self, path: Path) -> None:
        try:
            saved = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            _LOGGER.warning("ignoring unreadable control state %s: %s", path, exc)
            return
        if isinstance(saved.get("armed"), bool):
            self._state["armed"] = saved["armed"]
        for cam, values in (saved.get("cameras") or {}).items():
            current = self._state["cameras"].get(cam)
            if current is None or not isinstance(values, dict):
                continue  # camera removed from the config
            for feature in CAMERA_FEATURES:
                if isinstance(values.get(feature), bool):
                    current[feature] = values[feature]
            for zone, on in (values.get("zones") or {}).items():
                if zone in current.get("zones", {}) and isinstance(on, bool):
                    current["zones"][zone] = on

    def sync(self, cameras: dict[str, dict[str, Any]]) -> None:
        """Follow a new config's cameras and zones (same shape as at start): a new camera or
        zone starts as the config sets it, a removed one is forgotten, the others keep their
        current switches."""
        with self._lock:
            fresh = json.loads(json.dumps(cameras))
            for name, values in fresh.items():
                current = self._state["cameras"].get(name)
                if current is None:
                    continue
                for feature in CAMERA_FEATURES:
                    if feature in current:
                        values[feature] = current[feature]
                for zone in values.get("zones", {}):
                    if zone in current.get("zones", {}):
                        values["zones"][zone] = current["zones"][zone]
            self._state["cameras"] = fresh
            self._save()

    def add_listener(self, listener: Listener) -> None:
        self._listeners.append(listener)

    # ---------------------------------------------------------------- reading
    @property
    def armed(self) -> bool:
        return bool(self._state["armed"])

    def get(self, camera: str, feature: str) -> bool:
        with self._lock:
            cam = self._camera(camera)
            if feature.startswith("zone:"):
                return bool(cam["zones"].get(feature[5:], True))
            return bool(cam.get(feature, True))

    def zone_enabled(self, camera: str, zone: str) -> bool:
        return self.get(camera, f"zone:{zone}")

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return json.loads(json.dumps(self._state))

    def cameras(self) -> list[str]:
        return list(self._state["cameras"])

    # ---------------------------------------------------------------- writing
    def set(self, camera: str | None, feature: str, value: Any) -> None:
        """Set a switch. ``feature`` is detect | snapshots | motion | zone:<name> | armed (camera None)."""
        if not isinstance(value, bool):
            raise ControlError(f"{feature}: value must be true/false (ON/OFF), got {value!r}")
        with self._lock:
            if camera is None:
                if feature != "armed":
                    raise ControlError(f"unknown global feature {feature!r} (known: armed)")
                self._state["armed"] = value
            else:
                cam = self._camera(camera)
                if feature.startswith("zone:"):
                    zone = feature[5:]
                    if zone not in cam["zones"]:
                        raise ControlError(f"camera {camera!r} has no zone {zone!r}")
                    cam["zones"][zone] = value
                elif feature in CAMERA_FEATURES:
                    cam[feature] = value
                else:
                    known = ", ".join((*CAMERA_FEATURES, "zone:<name>"))
                    raise ControlError(f"unknown feature {feature!r} (known: {known})")
            self._save()
        _LOGGER.info("%s%s set to %s", f"{camera}." if camera else "", feature, "on" if value else "off")
        for listener in list(self._listeners):
            try:
                listener(camera, feature, value)
            except Exception:
                _LOGGER.exception("control listener failed")

    def _camera(self, camera: str) -> dict[str, Any]:
        try:
            return self._state["cameras"][camera]
        except KeyError:
            raise ControlError(f"unknown camera {camera!r}") from None

    def _save(self) -> None:
        if self._path is None:
            return
        try:
            write_atomic(self._path, json.dumps(self._state, indent=1))
        except OSError as exc:  # a full disk must not lose the in-memory change
            _LOGGER.error("cannot save control state to %s: %s", self._path, exc)
