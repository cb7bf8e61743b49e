"""JSON Schemas of the core API's bodies and answers (events, cameras, zones, control, stats,
tokens): the ``api`` blueprint's part of the OpenAPI document (:mod:`camwatch.web.openapi`).
"""

from __future__ import annotations

from typing import Any

from camwatch.control import CAMERA_FEATURES
from camwatch.names import LABEL_NAME, ZONE_NAME
from camwatch.web.accounts import MAX_TOKEN_NAME, SCOPES
from camwatch.web.limits import MAX_SECONDS
from camwatch.web.schema_parts import BOOLEAN, INTEGER, NUMBER, STRING, display_name, nullable, ref
from camwatch.web.zones import MAX_LABELS, MAX_POINTS, MAX_POLYGONS

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

API_SCHEMAS: dict[str, Any] = {
    "Error": {"type": "object", "properties": {"error": STRING}, "required": ["error"]},
    "Health": {"type": "object", "properties": {"status": {"const": "ok"}, "version": STRING},
               "required": ["status", "version"], "additionalProperties": False},
    "Event": {
        "type": "object",
        "properties": {
            "id": STRING, "camera": STRING,
            "camera_name": {**STRING, "description": "The camera's display name (its key when it has none)."},
            "seen": {**BOOLEAN, "description": "Whether the owner has looked at it (lists and single events)."},
            "label": STRING, "kind": STRING, "start_time": NUMBER,
            "end_time": nullable(NUMBER), "end_reason": nullable(STRING), "score": NUMBER, "top_score": NUMBER,
            "box": {"type": "array", "items": NUMBER}, "frame_size": {"type": "array", "items": INTEGER},
            "zones_entered": {"type": "array", "items": STRING}, "current_zones": {"type": "array", "items": STRING},
            "has_snapshot": BOOLEAN, "has_face": BOOLEAN, "keep": BOOLEAN, "sub_label": nullable(STRING),
            "subtype": nullable(STRING), "attributes": {"type": "object"},
            "snapshot_url": nullable(STRING), "thumbnail_url": nullable(STRING), "face_url": nullable(STRING),
        },
        "required": ["id", "camera", "camera_name", "label", "start_time", "snapshot_url", "thumbnail_url",
                     "face_url"],
    },
    "EventStory": {
        "type": "object",
        "properties": {"event_id": STRING, "story": {"type": "array", "items": {
            "type": "object",
            "properties": {
                "time": nullable(NUMBER),
                "what": {"enum": ["appeared", "confirmed", "started", "entered", "left_zone", "stood_still", "moved",
                                  "face", "named", "picture", "ended"]},
                "detail": nullable(STRING), "score": nullable(NUMBER),
                "text": {**STRING, "description": "The moment in plain words (Entered porch)."},
            },
            "required": ["time", "what", "detail", "score", "text"]}}},
        "required": ["event_id", "story"],
    },
    "Seen": {"type": "object", "properties": {"seen": BOOLEAN}, "required": ["seen"], "additionalProperties": False},
    "MarkSeen": {
        "type": "object",
        "properties": {"until": {"type": "number", "minimum": 0, "maximum": MAX_SECONDS,
                                 "description": "Only events started up to this moment (Unix seconds): those "
                                                "the owner was shown. Left out: every event."}},
        "additionalProperties": False,
    },
    "MarkedSeen": {"type": "object", "properties": {"marked": INTEGER, "unseen": INTEGER},
                   "required": ["marked", "unseen"]},
    "UnseenCount": {"type": "object", "properties": {"unseen": INTEGER}, "required": ["unseen"]},
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
