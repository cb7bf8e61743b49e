"""JSON Schemas of the API's bodies and answers, for the OpenAPI document (camwatch.web.openapi).

Request schemas say exactly what the API accepts: a body that matches is taken (2xx, or
404/409 for a missing or clashing resource), one that does not is a 400. Rules that JSON
Schema cannot state on its own (the printable-name rule of face and token names) are
named by a ``format`` and spelled out in the description.
"""

from __future__ import annotations

from typing import Any

from camwatch.config.zones import ZONE_NAME
from camwatch.control import CAMERA_FEATURES
from camwatch.web.accounts import MAX_TOKEN_NAME, SCOPES
from camwatch.web.zones import LABEL_NAME, MAX_LABELS, MAX_POINTS, MAX_POLYGONS

#: Event ids (camwatch.events.model.new_event_id) in URLs: a digit first, then the file-name rule.
EVENT_ID_URL_PATTERN = r"[0-9][A-Za-z0-9._-]{0,127}"
EVENT_ID_PATTERN = f"^{EVENT_ID_URL_PATTERN}$"
NAME_FORMAT = "camwatch-name"
NAME_RULE = (
    "1 to 64 printable characters after runs of white space collapse to one space: no control "
    "or text-direction characters"
)

STRING = {"type": "string"}
NUMBER = {"type": "number"}
INTEGER = {"type": "integer"}
BOOLEAN = {"type": "boolean"}


def nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [schema, {"type": "null"}]}


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def display_name(max_length: int, extra: str = "") -> dict[str, Any]:
    return {"type": "string", "minLength": 1, "maxLength": max_length, "format": NAME_FORMAT,
            "description": NAME_RULE + extra}


_POINT = {"type": "array", "items": {"type": "number", "minimum": 0, "maximum": 1}, "minItems": 2, "maxItems": 2}
_POLYGON = {"type": "array", "items": _POINT, "minItems": 3, "maxItems": MAX_POINTS,
            "description": "Corners as [x, y], relative to the frame (0..1)."}
_ZONE = {
    "type": "object",
    "properties": {
        "coordinates": _POLYGON,
        "objects": {"type": "array", "items": {"type": "string", "pattern": LABEL_NAME.pattern},
                    "maxItems": MAX_LABELS, "description": "Labels this zone cares about; empty: all."},
        "inertia": {"type": "integer", "minimum": 1, "maximum": 100},
        "loitering_time": {"type": "number", "minimum": 0},
        "enabled": BOOLEAN,
    },
    "required": ["coordinates"],
    "additionalProperties": False,
}

SCHEMAS: dict[str, Any] = {
    "Error": {"type": "object", "properties": {"error": STRING}, "required": ["error"]},
    "Health": {"type": "object", "properties": {"status": {"const": "ok"}, "version": STRING},
               "required": ["status", "version"], "additionalProperties": False},
    "Event": {
        "type": "object",
        "properties": {
            "id": STRING, "camera": STRING, "label": STRING, "kind": STRING, "start_time": NUMBER,
            "end_time": nullable(NUMBER), "end_reason": nullable(STRING), "score": NUMBER, "top_score": NUMBER,
            "box": {"type": "array", "items": NUMBER}, "frame_size": {"type": "array", "items": INTEGER},
            "zones_entered": {"type": "array", "items": STRING}, "current_zones": {"type": "array", "items": STRING},
            "has_snapshot": BOOLEAN, "has_face": BOOLEAN, "keep": BOOLEAN, "sub_label": nullable(STRING),
            "subtype": nullable(STRING), "attributes": {"type": "object"},
            "snapshot_url": nullable(STRING), "thumbnail_url": nullable(STRING), "face_url": nullable(STRING),
        },
        "required": ["id", "camera", "label", "start_time", "snapshot_url", "thumbnail_url", "face_url"],
    },
    "EventList": {
        "type": "object",
        "properties": {"events": {"type": "array", "items": ref("Event")}, "total": INTEGER,
                       "limit": INTEGER, "offset": INTEGER},
        "required": ["events", "total", "limit", "offset"],
    },
    "EventFilters": {"type": "object", "additionalProperties": {"type": "array", "items": STRING}},
    "Camera": {
        "type": "object",
        "properties": {
            "name": STRING, "display_name": STRING, "enabled": BOOLEAN, "status": {"type": "object"},
            "switches": {"type": "object"}, "zones": {"type": "array", "items": STRING},
            "detector_ms": nullable(NUMBER), "still_time": nullable(NUMBER), "still_url": nullable(STRING),
        },
        "required": ["name", "status", "switches", "zones"],
    },
    "CameraList": {"type": "object", "properties": {"cameras": {"type": "array", "items": ref("Camera")}},
                   "required": ["cameras"]},
    "Zones": {
        "type": "object",
        "properties": {"camera": STRING, "zones": {"type": "object"},
                       "motion_mask": {"type": "array", "items": {"type": "array"}}},
        "required": ["camera", "zones", "motion_mask"],
    },
    "ZonesEdit": {
        "type": "object",
        "properties": {
            "zones": {"type": "object", "maxProperties": MAX_POLYGONS,
                      "propertyNames": {"pattern": ZONE_NAME.pattern}, "additionalProperties": _ZONE},
            "motion_mask": {"type": "array", "items": _POLYGON, "maxItems": MAX_POLYGONS},
        },
        "additionalProperties": False,
    },
    "Control": {
        "type": "object",
        "properties": {"armed": BOOLEAN, "cameras": {"type": "object", "additionalProperties": {"type": "object"}}},
        "required": ["armed", "cameras"],
    },
    "Stats": {"type": "object", "properties": {"version": STRING, "time": NUMBER, "uptime": NUMBER},
              "required": ["version", "time", "uptime"]},
    "Token": {
        "type": "object",
        "properties": {"id": STRING, "name": STRING, "scope": {"enum": list(SCOPES)}, "hint": STRING,
                       "created": NUMBER, "last_used": nullable(NUMBER)},
        "required": ["id", "name", "scope", "hint", "created", "last_used"],
    },
    "NewToken": {"allOf": [ref("Token"), {"type": "object", "properties": {"token": STRING}, "required": ["token"]}]},
    "TokenList": {"type": "object", "properties": {"tokens": {"type": "array", "items": ref("Token")}},
                  "required": ["tokens"]},
    "TokenCreate": {
        "type": "object",
        "properties": {
            "name": display_name(MAX_TOKEN_NAME),
            "scope": {"enum": list(SCOPES), "default": "read",
                      "description": "read: GET only; control: also PUT /api/control; admin: every change "
                                     "except managing tokens (only the logged-in owner does that)."},
        },
        "required": ["name"],
        "additionalProperties": False,
    },
    "Revoked": {"type": "object", "properties": {"revoked": STRING}, "required": ["revoked"]},
    "Deleted": {"type": "object", "properties": {"deleted": STRING}, "required": ["deleted"]},
    "Keep": {"type": "object", "properties": {"keep": BOOLEAN}, "required": ["keep"], "additionalProperties": False},
    "Person": {"type": "object", "properties": {"name": STRING, "samples": INTEGER, "created": NUMBER},
               "required": ["name", "samples", "created"]},
    "PersonDetail": {"allOf": [ref("Person"), {"type": "object", "properties": {
        "crops": {"type": "array", "items": INTEGER}}, "required": ["crops"]}]},
    "Enrolled": {"allOf": [ref("Person"), {"type": "object", "properties": {"sample_id": INTEGER},
                                           "required": ["sample_id"]}]},
    "People": {"type": "object", "properties": {"people": {"type": "array", "items": ref("Person")},
                                                "recognition": nullable(STRING)}, "required": ["people"]},
    "PersonName": {"type": "object", "properties": {"name": display_name(
        64, "; not the reserved name unknown, no slashes; names ignore case")}, "required": ["name"]},
    "EnrolEvent": {"type": "object", "properties": {"event_id": {"type": "string", "pattern": EVENT_ID_PATTERN}},
                   "required": ["event_id"]},
    "EnrolPhoto": {"type": "object", "properties": {"file": {"type": "string", "format": "binary"}},
                   "required": ["file"]},
}


def control_change(switches: dict[str, Any]) -> dict[str, Any]:
    """``PUT /api/control`` for this instance: ``armed`` globally, or a camera's own switches."""
    branches: list[dict[str, Any]] = [{
        "type": "object",
        "properties": {"camera": {"type": "null"}, "feature": {"const": "armed"}, "value": BOOLEAN},
        "required": ["feature", "value"],
        "additionalProperties": False,
    }]
    for camera, values in switches.get("cameras", {}).items():
        features = [*CAMERA_FEATURES, *(f"zone:{zone}" for zone in values.get("zones", {}))]
        branches.append({
            "type": "object",
            "properties": {"camera": {"const": camera}, "feature": {"enum": features}, "value": BOOLEAN},
            "required": ["camera", "feature", "value"],
            "additionalProperties": False,
        })
    return {"oneOf": branches, "description": "One switch: armed (camera null), or a camera's detect, "
                                              "snapshots, motion or zone:<name>."}


def form(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    """An HTML form body; ``csrf_token`` (or the X-CSRF-Token header) comes with every form."""
    return {
        "required": bool(required),
        "content": {"application/x-www-form-urlencoded": {"schema": {
            "type": "object",
            "properties": {"csrf_token": {"type": "string", "description": "The session's CSRF token."},
                           **properties},
            "required": required or [],
        }}},
    }
