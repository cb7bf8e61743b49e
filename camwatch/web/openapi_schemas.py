"""JSON Schemas of the API's bodies and answers, for the OpenAPI document (camwatch.web.openapi).

Request schemas say exactly what the API accepts: a body that matches is taken (2xx, or
404/409 for a missing or clashing resource), one that does not is a 400. Rules that JSON
Schema cannot state on its own (the printable-name rule of face and token names) are
named by a ``format`` and spelled out in the description.
"""

from __future__ import annotations

from typing import Any

from camwatch.config.notify import FILTER_RULES
from camwatch.control import CAMERA_FEATURES
from camwatch.names import CAMERA_NAME, DESTINATION_NAME, LABEL_NAME, ZONE_NAME
from camwatch.sources import diagnose
from camwatch.web.accounts import MAX_TOKEN_NAME, SCOPES
from camwatch.web.camera_settings import (
    FILE_PATH,
    LOGIN_TEXT,
    MAX_DISPLAY_NAME,
    MAX_FPS,
    MAX_LOGIN,
    MAX_PATH,
    MAX_URL,
    STREAM_URL,
    USB_DEVICE,
)
from camwatch.web.limits import MAX_ITEMS, MAX_SECONDS, MAX_URL_LENGTH, WEB_URL_PATTERN
from camwatch.web.zones import MAX_LABELS, MAX_POINTS, MAX_POLYGONS

#: Event ids (camwatch.events.model.new_event_id) in URLs: a digit first, then the file-name rule.
EVENT_ID_URL_PATTERN = r"[0-9][A-Za-z0-9._-]{0,127}"
EVENT_ID_PATTERN = f"^{EVENT_ID_URL_PATTERN}$"
NAME_FORMAT = "camwatch-name"
NAME_RULE = (
    "1 to 64 printable characters after runs of white space collapse to one space: no control "
    "or text-direction characters"
)
APPRISE_FORMAT = "apprise-url"
APPRISE_RULE = ("An address Apprise has a service for (ntfy://topic, tgram://token/chat, mailto://user@example.com, "
                "json://host/path...): each service checks its own form. It holds keys: it is stored in a 0600 file "
                "and never sent back.")
CAMERA_NAME_PATTERN = CAMERA_NAME.pattern
DESTINATION_NAME_PATTERN = DESTINATION_NAME.pattern
MAX_SAMPLE_ID = 2**63 - 1

STRING = {"type": "string"}
NUMBER = {"type": "number"}
INTEGER = {"type": "integer"}
BOOLEAN = {"type": "boolean"}


def apprise_url(max_length: int = MAX_URL_LENGTH) -> dict[str, Any]:
    return {"type": "string", "minLength": 1, "maxLength": max_length, "format": APPRISE_FORMAT,
            "description": APPRISE_RULE}


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
    "Person": {"type": "object", "properties": {"name": STRING, "samples": INTEGER, "created": NUMBER},
               "required": ["name", "samples", "created"]},
    "PersonDetail": {"allOf": [ref("Person"), {"type": "object", "properties": {
        "crops": {"type": "array", "items": INTEGER}, "sample_list": {"type": "array", "items": {
            "type": "object", "properties": {"id": INTEGER, "source": STRING, "created": NUMBER, "embedded": BOOLEAN,
                                             "url": STRING}, "required": ["id", "url"]}}},
        "required": ["crops"]}]},
    "Enrolled": {"allOf": [ref("Person"), {"type": "object", "properties": {"sample_id": INTEGER},
                                           "required": ["sample_id"]}]},
    "People": {"type": "object", "properties": {"people": {"type": "array", "items": ref("Person")},
                                                "recognition": nullable(STRING)}, "required": ["people"]},
    "PersonName": {"type": "object", "properties": {"name": display_name(
        64, "; not the reserved name unknown, no slashes; names ignore case")}, "required": ["name"]},
    "EnrolEvent": {"type": "object", "properties": {
        "event_id": {"type": "string", "pattern": EVENT_ID_PATTERN},
        "event_ids": {"type": "array", "items": {"type": "string", "pattern": EVENT_ID_PATTERN}, "minItems": 1,
                      "maxItems": 500, "description": "The events of one person (a 'Who is this?' group)."}},
        "anyOf": [{"required": ["event_id"]}, {"required": ["event_ids"]}]},
    "EnrolPhoto": {"type": "object", "properties": {"file": {"type": "string", "format": "binary"}},
                   "required": ["file"]},
}

_LOGIN = {"type": "string", "pattern": LOGIN_TEXT, "maxLength": MAX_LOGIN}
_LABELS = {"type": "array", "items": {"type": "string", "pattern": LABEL_NAME.pattern}, "maxItems": MAX_LABELS,
           "description": "Labels to watch for (person, car, dog...)."}
_FPS = {"type": "number", "exclusiveMinimum": 0, "maximum": MAX_FPS,
        "description": "Frames a second the detector looks at."}
_STREAM_URL = {"type": "string", "pattern": STREAM_URL, "maxLength": MAX_URL,
               "description": "rtsp://, rtsps://, http(s):// or rtmp:// address. A login written in it "
                              "(user:password@) is taken out and kept like username and password."}
_SOURCE_EDITS = [
    {"type": "object", "title": "Network stream", "properties": {
        "kind": {"const": "stream"}, "url": _STREAM_URL, "username": nullable(_LOGIN),
        "password": {**_LOGIN, "description": "Left out: the stored password stays; empty: none. Kept in a 0600 "
                                              "file, never sent back."}},
     "required": ["kind", "url"], "additionalProperties": False},
    {"type": "object", "title": "USB camera", "properties": {
        "kind": {"const": "usb"}, "device": {"type": "string", "pattern": USB_DEVICE}},
     "required": ["kind", "device"], "additionalProperties": False},
    {"type": "object", "title": "Video file", "properties": {
        "kind": {"const": "file"}, "path": {"type": "string", "pattern": FILE_PATH, "maxLength": MAX_PATH},
        "loop": {**BOOLEAN, "description": "Play it again when it ends."}},
     "required": ["kind", "path"], "additionalProperties": False},
]
_SOURCES = [
    {"type": "object", "properties": {"kind": {"const": "stream"}, "url": STRING, "username": nullable(STRING),
                                      "has_password": BOOLEAN},
     "required": ["kind", "url", "username", "has_password"]},
    {"type": "object", "properties": {"kind": {"const": "usb"}, "device": STRING}, "required": ["kind", "device"]},
    {"type": "object", "properties": {"kind": {"const": "file"}, "path": STRING, "loop": BOOLEAN},
     "required": ["kind", "path", "loop"]},
]
_NAMES = {key: {"type": "array", "maxItems": MAX_ITEMS,
                "items": {"type": "string", "pattern": rule.pattern, "description": f"A {rule.what}: {rule.rule}."}}
          for key, rule in FILTER_RULES.items()}

SCHEMAS.update({
    "CameraSourceEdit": {"oneOf": _SOURCE_EDITS},
    "CameraSettingsEdit": {
        "type": "object",
        "properties": {
            "source": ref("CameraSourceEdit"),
            "name": nullable(display_name(MAX_DISPLAY_NAME, "; the display name (null: the camera's key)")),
            "enabled": BOOLEAN, "labels": _LABELS, "fps": _FPS,
        },
        "required": ["source"],
        "additionalProperties": False,
        "description": "Fields left out keep their value (a new camera gets the defaults).",
    },
    "CameraSettings": {
        "type": "object",
        "properties": {"name": STRING, "display_name": STRING, "enabled": BOOLEAN, "source": {"oneOf": _SOURCES},
                       "labels": {"type": "array", "items": STRING}, "fps": NUMBER},
        "required": ["name", "display_name", "enabled", "source", "labels", "fps"],
    },
    "CameraTest": {
        "type": "object",
        "properties": {"source": ref("CameraSourceEdit"), "fps": _FPS},
        "required": ["source"],
        "additionalProperties": False,
    },
    "CameraTestResult": {
        "type": "object",
        "properties": {
            "ok": BOOLEAN,
            "reason": nullable({"enum": [diagnose.UNREACHABLE, diagnose.AUTH, diagnose.NOT_VIDEO, diagnose.TIMEOUT,
                                         diagnose.NOT_FOUND, diagnose.FAILED, "busy"]}),
            "message": STRING, "width": INTEGER, "height": INTEGER, "fps": NUMBER, "fps_measured": BOOLEAN,
            "seconds": NUMBER,
            "image": nullable({"type": "string", "description": "The first picture as a data: URL (JPEG)."}),
        },
        "required": ["ok", "reason", "message", "width", "height", "fps", "image"],
    },
    "UsbCameras": {
        "type": "object",
        "properties": {"devices": {"type": "array", "items": {
            "type": "object",
            "properties": {"path": STRING, "name": STRING, "capture": BOOLEAN, "camera": nullable(STRING)},
            "required": ["path", "name", "capture", "camera"]}}},
        "required": ["devices"],
    },
    "Destination": {
        "type": "object",
        "properties": {"name": STRING, "service": STRING, "enabled": BOOLEAN, "cameras": {"type": "array"},
                       "labels": {"type": "array"}, "zones": {"type": "array"}, "only_armed": BOOLEAN,
                       "attach_snapshot": BOOLEAN, "min_interval": NUMBER, "status": {"type": "object"}},
        "required": ["name", "service", "enabled", "cameras", "labels", "zones", "status"],
        "not": {"required": ["url"]},
    },
    "NotifySummary": {
        "type": "object",
        "properties": {"writable": BOOLEAN, "link": ref("NotifyLink"), "settings": {"type": "object"},
                       "destinations": {"type": "array", "items": ref("Destination")}, "choices": {"type": "object"}},
        "required": ["writable", "link", "settings", "destinations", "choices"],
    },
    "NotifyLink": {
        "type": "object",
        "properties": {"web_url": nullable(STRING),
                       "from": nullable({"enum": ["notify.web_url", "mqtt.web_url"]})},
        "required": ["web_url", "from"],
    },
    "NotifySettingsEdit": {
        "type": "object",
        "properties": {"web_url": nullable({"type": "string", "pattern": WEB_URL_PATTERN, "maxLength": MAX_URL_LENGTH,
                                            "description": "The address this page is opened at; null: no link."})},
        "required": ["web_url"],
        "additionalProperties": False,
    },
    "DestinationEdit": {
        "type": "object",
        "properties": {
            "url": {"anyOf": [apprise_url(), {"const": ""}],
                    "description": "A new address; left out or empty: the stored one stays (a new destination "
                                   "needs one)."},
            "enabled": BOOLEAN, "only_armed": BOOLEAN, "attach_snapshot": BOOLEAN,
            **_NAMES,
            "min_interval": {"type": "number", "minimum": 0, "maximum": 86400},
        },
        "additionalProperties": False,
    },
    "NotifyTest": {
        "type": "object",
        "properties": {"name": {**STRING, "description": "A saved destination (when no url is given)."},
                       "url": {"anyOf": [apprise_url(), {"const": ""}]}},
        "additionalProperties": False,
    },
    "NotifyTestResult": {"type": "object", "properties": {"ok": BOOLEAN, "error": nullable(STRING),
                                                          "service": STRING},
                         "required": ["ok", "error", "service"]},
    "UnknownFaces": {"type": "object", "properties": {"faces": {"type": "array", "items": {
        "type": "object", "properties": {"event_id": STRING, "camera": STRING, "start_time": NUMBER,
                                         "face_url": STRING, "event_url": STRING},
        "required": ["event_id", "camera", "face_url"]}}, "groups": {"type": "array", "items": {
            "type": "object", "properties": {
                "key": STRING, "events": {"type": "array", "items": STRING}, "count": INTEGER,
                "cameras": {"type": "array", "items": STRING}, "face_url": STRING, "event_url": STRING,
                "first_time": NUMBER, "last_time": NUMBER, "usable": BOOLEAN, "reason": nullable(STRING)},
            "required": ["key", "events", "count", "face_url", "usable"]}}}, "required": ["faces", "groups"]},
    "EventIds": {"type": "object", "properties": {"event_ids": {
        "type": "array", "items": {"type": "string", "pattern": EVENT_ID_PATTERN}, "minItems": 1, "maxItems": 500}},
        "required": ["event_ids"]},
    "Dismissed": {"type": "object", "properties": {"dismissed": INTEGER}, "required": ["dismissed"]},
    "UnknownAlerts": {"type": "object", "properties": {"cameras": {"type": "array", "items": {
        "type": "object", "properties": {"camera": STRING, "name": STRING, "unknown_alert": BOOLEAN},
        "required": ["camera", "name", "unknown_alert"]}}}, "required": ["cameras"]},
    "UnknownAlertEdit": {"type": "object", "properties": {"camera": STRING, "unknown_alert": BOOLEAN},
                         "required": ["camera", "unknown_alert"]},
    "UnknownAlert": {"type": "object", "properties": {"camera": STRING, "unknown_alert": BOOLEAN},
                     "required": ["camera", "unknown_alert"]},
    "FaceCorrection": {"type": "object", "properties": {"name": nullable(display_name(
        64, "; the right person (created if new), or null: nobody known (the event's sample is dropped)"))},
        "required": ["name"]},
    "FaceCorrected": {"type": "object", "properties": {
        "event_id": STRING, "name": nullable(STRING), "was": nullable(STRING), "moved": INTEGER, "dropped": INTEGER,
        "added": INTEGER, "note": nullable(STRING)}, "required": ["event_id", "name"]},
    "SampleDeleted": {"allOf": [ref("Person"), {"type": "object", "properties": {"deleted_sample": INTEGER},
                                                "required": ["deleted_sample"]}]},
})


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
