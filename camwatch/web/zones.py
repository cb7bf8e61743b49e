"""The zones and masks editor's write path: validate the whole config, then replace the file.

``cameras.<cam>.zones`` and ``cameras.<cam>.motion.mask`` change through the config writer
(camwatch.config.writer): the rest of the file stays as written — comments, order, ``${...}``
secret references — the result is validated by the config models before it replaces the
file atomically, and the previous version is kept as ``<file>.bak``.

A zone is in use when its ``enabled`` is true *and* its runtime switch (MQTT, Home
Assistant) is on. The editor's on/off switch saves ``enabled`` and sets the runtime switch
to the same value, so after a save the page, the file and Home Assistant agree.
"""

from __future__ import annotations

import logging
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from camwatch.config import CamwatchConfig
from camwatch.config.writer import ConfigWriteError, ConfigWriter, delete_path, get_path, set_path
from camwatch.config.zones import ZoneConfig
from camwatch.control import ControlError
from camwatch.names import LABEL_NAME, ZONE_NAME
from camwatch.web.context import WebContext

_LOGGER = logging.getLogger(__name__)
MAX_POINTS = 100
MAX_POLYGONS = 50
MAX_LABELS = 100


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
        points.append([_coordinate(point[0]), _coordinate(point[1])])
    return points


def _coordinate(value: float) -> float:
    """0..1 to 4 decimals (a tenth of a pixel on a 4K frame); 0 and 1 stay whole in the file."""
    rounded = round(float(value), 4)
    return int(rounded) if rounded.is_integer() else rounded


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
        if not ZONE_NAME.matches(name):
            raise ZoneEditError(f"zone name {name!r} must be {ZONE_NAME.rule}")
        if not isinstance(zone, dict):
            raise ZoneEditError(f"zones.{name}: must be an object with coordinates")
        _check_types(name, zone)
        labels = zone.get("objects", [])
        if not isinstance(labels, list) or len(labels) > MAX_LABELS or not all(
            LABEL_NAME.matches(label) for label in labels
        ):
            raise ZoneEditError(
                f"zones.{name}.objects: a list of at most {MAX_LABELS} labels (lower case letters, digits, "
                "space, _ and -)"
            )
        zones[name] = {**zone, "coordinates": _polygon(f"zones.{name}", zone.get("coordinates"))}
    masks = [_polygon(f"motion_mask.{i}", poly) for i, poly in enumerate(masks_in)]
    return zones, masks


def _zone_entry(zone: dict[str, Any], written: Any) -> dict[str, Any]:
    """What a zone's YAML holds: its polygon, and the other keys that the file had or that
    differ from the defaults (the editor sends every field back)."""
    defaults = ZoneConfig(coordinates=[(0, 0), (1, 0), (1, 1)]).model_dump(mode="json")
    had = written if isinstance(written, dict) else {}
    return {key: value for key, value in zone.items()
            if key == "coordinates" or key in had or value != defaults.get(key)}


def _flow(node: Any) -> None:
    """Polygons and label lists stay on one line each, as people write them."""
    if isinstance(node, CommentedSeq):
        node.fa.set_flow_style()
        for item in node:
            _flow(item)


def save_zones(ctx: WebContext, camera: str, body: Any) -> CamwatchConfig:
    """Validate, write the config file atomically (comments kept), apply it; returns the new config."""
    if camera not in ctx.config.cameras:
        raise ZoneEditError(f"unknown camera {camera!r}", 404)
    zones, masks = check_request(body)
    path = ctx.config_path
    if path is None:
        raise ZoneEditError("camwatch runs without a config file: zones cannot be saved", 409)

    def change(doc: CommentedMap) -> None:
        cam = get_path(doc, ["cameras", camera])
        if not isinstance(cam, dict):
            raise ConfigWriteError(f"camera {camera!r} is not in {path}", 409)
        written = cam.get("zones") if isinstance(cam.get("zones"), dict) else {}
        if zones:
            set_path(doc, ["cameras", camera, "zones"],
                     {name: _zone_entry(zone, written.get(name)) for name, zone in zones.items()})
            for zone in cam["zones"].values():
                _flow(zone.get("coordinates"))
                _flow(zone.get("objects"))
        else:
            delete_path(doc, ["cameras", camera, "zones"])
        if masks:
            set_path(doc, ["cameras", camera, "motion", "mask"], masks)
            for polygon in cam["motion"]["mask"]:
                _flow(polygon)
        else:
            delete_path(doc, ["cameras", camera, "motion", "mask"])

    try:
        new_config = ConfigWriter(path, ctx.config_lock).update(change)
    except ConfigWriteError as exc:
        raise ZoneEditError(str(exc), exc.status) from None
    _LOGGER.info("zones of camera %s saved to %s (%d zone(s), %d mask(s))", camera, path, len(zones), len(masks))
    ctx.use_config(new_config)
    _switch_zones(ctx, camera, new_config)
    return new_config


def _switch_zones(ctx: WebContext, camera: str, config: CamwatchConfig) -> None:
    """Each saved zone's runtime switch follows its ``enabled`` (see the module doc)."""
    for name, zone in config.cameras[camera].zones.items():
        try:
            if ctx.control.zone_enabled(camera, name) != zone.enabled:
                ctx.control.set(camera, f"zone:{name}", zone.enabled)
        except ControlError as exc:  # a camera the running system does not have (disabled)
            _LOGGER.info("zone %s of camera %s: runtime switch not set (%s)", name, camera, exc)
