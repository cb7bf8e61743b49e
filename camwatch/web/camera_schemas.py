"""JSON Schemas of the camera settings API (a camera's source, name, labels and frame rate;
trying a source; USB devices) for the OpenAPI document (:mod:`camwatch.web.openapi`).
"""

from __future__ import annotations

from typing import Any

from camwatch.names import LABEL_NAME
from camwatch.sources import diagnose
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
from camwatch.web.schema_parts import BOOLEAN, INTEGER, NUMBER, STRING, display_name, nullable, ref
from camwatch.web.zones import MAX_LABELS

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

CAMERA_SCHEMAS: dict[str, Any] = {
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
}
