"""JSON Schemas of the face API's bodies and answers (people, enrolment, unknown faces,
corrections) for the OpenAPI document (:mod:`camwatch.web.openapi`).
"""

from __future__ import annotations

from typing import Any

from camwatch.web.schema_parts import (
    BOOLEAN,
    EVENT_ID_PATTERN,
    INTEGER,
    NUMBER,
    STRING,
    display_name,
    nullable,
    ref,
)

FACE_SCHEMAS: dict[str, Any] = {
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
}
