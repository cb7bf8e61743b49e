"""The zones and masks editor's write path: validate the whole config, then replace the file.

The YAML file is read, ``cameras.<cam>.zones`` and ``cameras.<cam>.motion.mask`` are
replaced, the result is validated with ``parse_config`` and written to a temporary file that
``os.replace`` moves over the original (the previous version is kept as ``<file>.bak``).
Re-serialising the YAML loses its comments; ``${...}`` secret references are kept as written.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

import yaml

from camwatch.atomic import write_atomic
from camwatch.config import CamwatchConfig, ConfigError, parse_config
from camwatch.config.zones import ZONE_NAME, ZONE_NAME_RULE
from camwatch.web.context import WebContext

_LOGGER = logging.getLogger(__name__)
MAX_POINTS = 100
MAX_POLYGONS = 50
MAX_LABELS = 100
#: Detector labels as the models name them ("person", "traffic light", "cell phone").
LABEL_NAME = re.compile(r"^[a-z0-9][a-z0-9 _-]{0,63}$")


class ZoneEditError(ValueError):
    """The submitted zones cannot be saved; the message says why."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def camera_zones(config: CamwatchConfig, camera: str) -> dict[str, Any]:
    cam = config.cameras[camera]
    return {
        "camera": camera,
        "zones": {name: zone.model_dump(mode="json") for name, zone in cam.zones.items()},
        "motion_mask": [[list(p) for p in poly] for poly in cam.motion.mask],
    }


def _polygon(where: str, value: Any) -> list[list[float]]:
    if not isinstance(value, list) or not 3 <= len(value) <= MAX_POINTS:
        raise ZoneEditError(f"{where}: a polygon is a list of 3 to {MAX_POINTS} [x, y] points")
    points: list[list[float]] = []
    for point in value:
        if (
            not isinstance(point, (list, tuple))
            or len(point) != 2
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in point)
        ):
            raise ZoneEditError(f"{where}: each point must be [x, y] numbers, got {point!r}")
        if not all(0 <= v <= 1 for v in point):
            raise ZoneEditError(f"{where}: the editor saves relative coordinates 0..1, got {point!r}")
        points.append([round(float(point[0]), 4), round(float(point[1]), 4)])
    return points


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check_types(name: str, zone: dict[str, Any]) -> None:
    """JSON types as sent: the config parser would turn 0 into false or true into 1."""
    if "enabled" in zone and not isinstance(zone["enabled"], bool):
        raise ZoneEditError(f"zones.{name}.enabled: must be true or false")
    if "inertia" in zone and not (_number(zone["inertia"]) and float(zone["inertia"]).is_integer()):
        raise ZoneEditError(f"zones.{name}.inertia: must be a whole number")
    if "loitering_time" in zone and not _number(zone["loitering_time"]):
        raise ZoneEditError(f"zones.{name}.loitering_time: must be a number of seconds")


def check_request(body: Any) -> tuple[dict[str, dict[str, Any]], list[list[list[float]]]]:
    """``{"zones": {name: {coordinates, objects?, ...}}, "motion_mask": [polygon...]}`` checked."""
    if not isinstance(body, dict):
        raise ZoneEditError("the body must be a JSON object with zones and motion_mask")
    unknown = set(body) - {"zones", "motion_mask"}
    if unknown:
        raise ZoneEditError(f"unknown key(s): {', '.join(sorted(unknown))} (known: zones, motion_mask)")
    zones_in = body.get("zones", {})
    masks_in = body.get("motion_mask", [])
    if not isinstance(zones_in, dict) or len(zones_in) > MAX_POLYGONS:
        raise ZoneEditError(f"zones must be an object of at most {MAX_POLYGONS} named zones")
    if not isinstance(masks_in, list) or len(masks_in) > MAX_POLYGONS:
        raise ZoneEditError(f"motion_mask must be a list of at most {MAX_POLYGONS} polygons")
    zones: dict[str, dict[str, Any]] = {}
    for name, zone in zones_in.items():
        if not ZONE_NAME.match(name):
            raise ZoneEditError(f"zone name {name!r} must be {ZONE_NAME_RULE}")
        if not isinstance(zone, dict):
            raise ZoneEditError(f"zones.{name}: must be an object with coordinates")
        _check_types(name, zone)
        labels = zone.get("objects", [])
        if not isinstance(labels, list) or len(labels) > MAX_LABELS or not all(
            isinstance(label, str) and LABEL_NAME.match(label) for label in labels
        ):
            raise ZoneEditError(
                f"zones.{name}.objects: a list of at most {MAX_LABELS} labels (lower case letters, digits, "
                "space, _ and -)"
            )
        zones[name] = {**zone, "coordinates": _polygon(f"zones.{name}", zone.get("coordinates"))}
    masks = [_polygon(f"motion_mask.{i}", poly) for i, poly in enumerate(masks_in)]
    return zones, masks


def save_zones(ctx: WebContext, camera: str, body: Any) -> CamwatchConfig:
    """Validate, write the config file atomically, apply it; returns the new config."""
    if camera not in ctx.config.cameras:
        raise ZoneEditError(f"unknown camera {camera!r}", 404)
    zones, masks = check_request(body)
    path = ctx.config_path
    if path is None:
        raise ZoneEditError("camwatch runs without a config file: zones cannot be saved", 409)
    with ctx.config_lock:
        raw = _read_yaml(path)
        cam = (raw.get("cameras") or {}).get(camera)
        if not isinstance(cam, dict):
            raise ZoneEditError(f"camera {camera!r} is not in {path}", 409)
        if zones:
            cam["zones"] = zones
        else:
            cam.pop("zones", None)
        motion = cam.get("motion")
        if masks:
            cam["motion"] = {**(motion if isinstance(motion, dict) else {}), "mask": masks}
        elif isinstance(motion, dict):
            motion.pop("mask", None)
            if not motion:
                cam.pop("motion")
        try:
            new_config = parse_config(raw, str(path))
        except ConfigError as exc:
            raise ZoneEditError("the config would not be valid: " + "; ".join(exc.errors)) from None
        _write_config(path, yaml.safe_dump(raw, sort_keys=False, allow_unicode=True, default_flow_style=None))
        ctx.config = new_config
    _LOGGER.info("zones of camera %s saved to %s (%d zone(s), %d mask(s))", camera, path, len(zones), len(masks))
    if ctx.apply_config is not None:
        ctx.apply_config(new_config)
    return new_config


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ZoneEditError(f"cannot read {path}: {exc.strerror or exc}", 409) from None
    except yaml.YAMLError as exc:
        raise ZoneEditError(f"{path} is not valid YAML: {exc}", 409) from None
    if not isinstance(raw, dict):
        raise ZoneEditError(f"{path} does not hold a mapping", 409)
    return raw


def _write_config(path: Path, text: str) -> None:
    try:
        write_atomic(path, text, durable=True, keep_backup=True)
    except OSError as exc:
        raise ZoneEditError(f"cannot write {path}: {exc.strerror or exc}", 503) from None
