"""The OpenAPI 3.1 document, built from the app's own routes so it never misses one.

Bodies and answers come from the schema modules of each part of the API (api_schemas,
face_schemas, camera_schemas, notify_schemas); who may call what (public routes, session
only, token scopes, CSRF) from camwatch.web.auth. The control switches'
schema lists this instance's cameras and zones.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Flask

from camwatch.web.api_schemas import API_SCHEMAS, control_change
from camwatch.web.auth import CONTROL_ENDPOINTS, CSRF_HEADER, OWNER_ONLY_ENDPOINTS, PUBLIC_ENDPOINTS
from camwatch.web.camera_schemas import CAMERA_SCHEMAS
from camwatch.web.face_schemas import FACE_SCHEMAS
from camwatch.web.filters import EVENT_FILTERS, MAX_LIMIT
from camwatch.web.limits import SECONDS_PATTERN
from camwatch.web.notify_schemas import NOTIFY_SCHEMAS
from camwatch.web.schema_parts import (
    APPRISE_FORMAT,
    CAMERA_NAME_PATTERN,
    DESTINATION_NAME_PATTERN,
    EVENT_ID_PATTERN,
    MAX_SAMPLE_ID,
    NAME_FORMAT,
    display_name,
    ref,
)

#: Every component schema, from the parts of the API.
SCHEMAS: dict[str, Any] = {**API_SCHEMAS, **FACE_SCHEMAS, **CAMERA_SCHEMAS, **NOTIFY_SCHEMAS}
_CONVERTER = re.compile(r"<(?:([a-z_]+)(?:\([^)]*\))?:)?([a-z_]+)>")
_IMAGE_ENDPOINTS = {"api.event_snapshot", "api.event_thumbnail", "api.event_face", "api.camera_latest",
                    "faces.get_crop", "faces.unknown_face_crop"}
_HTML_BLUEPRINTS = ("pages.", "auth.", "manage.")
_CREATED = {"api.token_create", "faces.create_person", "faces.enrol"}
#: Config changes: 409 without a config file (or an entry the file does not hold), 503 when it cannot be written.
_CONFIG_WRITES = {"api.camera_zones_put", "cameras.put_settings", "cameras.delete", "notify.put_destination",
                  "notify.remove_destination", "notify.put_settings", "faces.set_unknown_alert"}
_CONFLICT = {"faces.create_person", "faces.rename", "faces.enrol", "auth.setup", *_CONFIG_WRITES}
_UNAVAILABLE = {"sse.stream", "cameras.test_source", *_CONFIG_WRITES}
_THROTTLED = {"auth.login", "auth.setup", "auth.change_password"}
_NOT_FOUND = {"api.camera_latest", "pages.zones_index", "notify.test_destination", "faces.set_unknown_alert"}
_ANSWERS = {
    "api.health": "Health", "api.events": "EventList", "api.event": "Event", "api.keep_event": "Event",
    "api.event_filters": "EventFilters", "api.delete_event": "Deleted", "api.cameras": "CameraList",
    "api.camera": "Camera", "api.camera_zones_get": "Zones", "api.camera_zones_put": "Zones",
    "api.control": "Control", "api.control_set": "Control", "api.stats": "Stats", "api.tokens": "TokenList",
    "api.token_create": "NewToken", "api.token_revoke": "Revoked", "faces.list_people": "People",
    "faces.create_person": "Person", "faces.get_person": "PersonDetail", "faces.enrol": "Enrolled",
    "faces.rename": "Person", "faces.delete": "Deleted", "faces.unknown_faces": "UnknownFaces",
    "faces.delete_sample": "SampleDeleted", "faces.dismiss": "Dismissed", "faces.unknown_alerts": "UnknownAlerts",
    "faces.set_unknown_alert": "UnknownAlert", "faces.correct_event": "FaceCorrected", "notify.summary": "NotifySummary", "notify.put_destination": "Destination",
    "notify.remove_destination": "Deleted", "notify.test_destination": "NotifyTestResult",
    "cameras.get_settings": "CameraSettings", "cameras.put_settings": "CameraSettings", "cameras.delete": "Deleted",
    "cameras.test_source": "CameraTestResult", "cameras.usb_cameras": "UsbCameras",
    "api.unseen_events": "UnseenCount", "api.mark_events_seen": "MarkedSeen", "api.event_story": "EventStory",
    "api.seen_event": "Event", "notify.put_settings": "NotifyLink",
}
_JSON_BODIES = {"api.keep_event": "Keep", "api.camera_zones_put": "ZonesEdit", "api.token_create": "TokenCreate",
                "faces.create_person": "PersonName", "faces.rename": "PersonName", "faces.dismiss": "EventIds",
                "faces.set_unknown_alert": "UnknownAlertEdit", "faces.correct_event": "FaceCorrection",
                "notify.put_destination": "DestinationEdit", "notify.test_destination": "NotifyTest",
                "cameras.put_settings": "CameraSettingsEdit", "cameras.test_source": "CameraTest",
                "api.seen_event": "Seen", "api.mark_events_seen": "MarkSeen", "notify.put_settings": "NotifySettingsEdit"}
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


_FORMS: dict[str, dict[str, Any]] = {
    "auth.login": form({"password": {"type": "string", "maxLength": 1024},
                        "next": {"type": "string", "description": "Local path to open after the login."}}),
    "auth.setup": form({"setup_code": {"type": "string", "description": "The first-run code from the log "
                                       "(not needed on the device itself)."},
                        "password": {"type": "string", "minLength": 8, "maxLength": 1024},
                        "confirm": {"type": "string"}}),
    "auth.logout": form({}),
    "auth.change_password": form({"current": {"type": "string"}, "password": {"type": "string"},
                                  "confirm": {"type": "string"}}),
    "pages.event_delete": form({}),
    "pages.event_keep": form({"keep": {"enum": ["0", "1"]}}, ["keep"]),
    "pages.token_create": form({"name": display_name(64), "scope": {"enum": ["read", "control", "admin"]}},
                               ["name"]),
    "pages.token_revoke": form({}),
    "pages.events_seen": form({"until": {"anyOf": [{"type": "string", "pattern": SECONDS_PATTERN}, {"const": ""}],
                                         "description": "Only events started up to this moment (Unix seconds): "
                                                        "the list the owner was shown. Empty: every event."}}),
}
_ERROR_JSON = {"application/json": {"schema": ref("Error")}}
_ERROR_ANY = {"text/html": {"schema": {"type": "string"}}, "text/plain": {"schema": {"type": "string"}},
              **_ERROR_JSON}
_REDIRECT = {"description": "Redirect (to the login page when not logged in)",
             "headers": {"Location": {"schema": {"type": "string"}, "required": True}}}


def _query(endpoint: str) -> list[dict[str, Any]]:
    if endpoint == "faces.unknown_faces":
        return [{"name": "limit", "in": "query", "required": False, "description": "How many (default 24).",
                 "schema": {"type": "integer", "minimum": 1, "maximum": 100}}]
    if endpoint not in ("api.events", "pages.events"):
        return []
    time = {"anyOf": [{"type": "number", "minimum": 0}, {"type": "string", "format": "date-time"}]}
    kinds: dict[str, dict[str, Any]] = {
        "after": time, "before": time,
        "limit": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT},
        "offset": {"type": "integer", "minimum": 0, "maximum": 10**9},
        "order": {"enum": ["asc", "desc"]},
    }
    params = []
    for name, (kind, text) in EVENT_FILTERS.items():
        if endpoint == "pages.events" and name in ("limit", "offset", "order"):
            continue
        # An empty value means "no filter" (a form leaves unused fields empty).
        schema = {"anyOf": [kinds.get(name, {"type": kind}), {"const": ""}]}
        param: dict[str, Any] = {"name": name, "in": "query", "required": False, "description": text, "schema": schema}
        if name in ("camera", "label"):
            param.update(schema={"type": "array", "items": {"type": "string"}}, style="form", explode=True)
        params.append(param)
    if endpoint == "pages.events":
        params.append({"name": "page", "in": "query", "schema": {"anyOf": [
            {"type": "integer", "minimum": 1, "maximum": 10**6}, {"const": ""}]}})
    return params


def _path_param(endpoint: str, converter: str | None, name: str) -> dict[str, Any]:
    if converter == "event_id":
        schema: dict[str, Any] = {"type": "string", "pattern": EVENT_ID_PATTERN}
    elif endpoint.startswith("faces.") and name == "name":
        schema = display_name(64, "; not the reserved name unknown (/api/faces/unknown lists unnamed faces)"
                               if converter == "person" else "")
    elif endpoint.startswith("cameras.") and name == "camera":
        schema = {"type": "string", "pattern": CAMERA_NAME_PATTERN}
    elif endpoint.startswith("notify.") and name == "name":
        schema = {"type": "string", "pattern": DESTINATION_NAME_PATTERN}
    elif converter == "int":
        schema = {"type": "integer", "minimum": 0, "maximum": MAX_SAMPLE_ID}
    else:
        schema = {"type": "string", "pattern": "^[^/]+$"}
    return {"name": name, "in": "path", "required": True, "schema": schema}


def _security(endpoint: str, method: str) -> list[dict[str, list[str]]]:
    if endpoint in PUBLIC_ENDPOINTS:
        return []
    session: dict[str, list[str]] = {"session": []} if method == "get" else {"session": [], "csrf": []}
    if endpoint.startswith(_HTML_BLUEPRINTS) or endpoint in OWNER_ONLY_ENDPOINTS:
        return [session]
    return [{"bearer": []}, session]


def _success(endpoint: str, method: str) -> tuple[str, dict[str, Any]]:
    status = "201" if endpoint in _CREATED else "200"
    if endpoint == "cameras.put_settings":
        return "200", {"description": "Changed (201: added)", "content": {"application/json": {
            "schema": ref("CameraSettings")}}}
    if endpoint in _IMAGE_ENDPOINTS:
        return status, {"description": "JPEG image",
                        "content": {"image/jpeg": {"schema": {"type": "string", "format": "binary"}}}}
    if endpoint == "metrics.metrics":
        return status, {"description": "Prometheus text format", "content": {"text/plain": {"schema": {"type": "string"}}}}
    if endpoint == "sse.stream":
        return status, {"description": "Server-Sent Events: cameras, events, control",
                        "content": {"text/event-stream": {"schema": {"type": "string"}}}}
    if endpoint == "api.openapi":
        return status, {"description": "This document", "content": {"application/json": {"schema": {"type": "object"}}}}
    if endpoint in _ANSWERS:
        return status, {"description": "OK", "content": {"application/json": {"schema": ref(_ANSWERS[endpoint])}}}
    return status, {"description": "HTML page", "content": {"text/html": {"schema": {"type": "string"}}}}


def _responses(endpoint: str, method: str, has_path: bool, has_body: bool) -> dict[str, Any]:
    html = endpoint.startswith(_HTML_BLUEPRINTS)
    errors = _ERROR_ANY if html else _ERROR_JSON
    status, ok = _success(endpoint, method)
    responses: dict[str, Any] = {status: ok}
    if endpoint == "cameras.put_settings":
        responses["201"] = {"description": "Added", "content": ok["content"]}
    if html:
        responses["302"] = _REDIRECT
    responses["400"] = {"description": "Bad parameters or body, or a Host that is not this camwatch's",
                        "content": errors}
    if endpoint not in PUBLIC_ENDPOINTS or endpoint == "auth.login":
        responses["401"] = {"description": "Not logged in, or a wrong password or token", "content": errors}
    if endpoint not in PUBLIC_ENDPOINTS or method != "get":
        responses["403"] = {"description": f"Missing or wrong CSRF token ({CSRF_HEADER}), a cross-site Origin, "
                            "a token outside its scope, or a wrong setup code", "content": errors}
    if has_path or endpoint in _NOT_FOUND:
        responses["404"] = {"description": "No such resource", "content": errors}
    if endpoint in _CONFLICT:
        responses["409"] = {"description": "Conflict (name taken, no config file to save to, already set up)",
                            "content": errors}
    if has_body:
        responses["413"] = {"description": "Body too large", "content": errors}
    if endpoint in _THROTTLED and method == "post":
        responses["429"] = {"description": "Too many failed attempts", "content": errors,
                            "headers": {"Retry-After": {"schema": {"type": "string"}, "required": True}}}
    if endpoint in _UNAVAILABLE or endpoint.startswith("faces."):
        responses["503"] = {"description": "Not available now (too many streams, faces off, file not writable)",
                            "content": errors}
    return responses


def _body(endpoint: str, switches: dict[str, Any]) -> dict[str, Any] | None:
    if endpoint in _FORMS:
        return _FORMS[endpoint]
    if endpoint == "api.control_set":
        return {"required": True, "content": {"application/json": {"schema": control_change(switches)}}}
    if endpoint == "faces.enrol":
        return {"required": True, "content": {
            "multipart/form-data": {"schema": ref("EnrolPhoto"), "encoding": {"file": {"contentType": "image/jpeg"}}},
            "application/json": {"schema": ref("EnrolEvent")},
        }}
    if endpoint in _JSON_BODIES:
        return {"required": True, "content": {"application/json": {"schema": ref(_JSON_BODIES[endpoint])}}}
    return None


def _operation(app: Flask, endpoint: str, method: str, params: list[tuple[str | None, str]],
               switches: dict[str, Any]) -> dict[str, Any]:
    view = app.view_functions[endpoint]
    doc = (view.__doc__ or endpoint).strip().splitlines()[0]
    op: dict[str, Any] = {"operationId": f"{endpoint.replace('.', '_')}_{method}", "summary": doc,
                          "tags": [endpoint.split(".")[0]]}
    parameters = [_path_param(endpoint, conv, name) for conv, name in params] + _query(endpoint)
    if endpoint == "api.event_snapshot":
        parameters.append({"name": "kind", "in": "query", "schema": {"enum": ["annotated", "clean"]}})
    if parameters:
        op["parameters"] = parameters
    body = _body(endpoint, switches) if method in ("put", "post", "patch") else None
    if body is not None:
        op["requestBody"] = body
    op["responses"] = _responses(endpoint, method, bool(params), body is not None)
    op["security"] = _security(endpoint, method)
    if endpoint in CONTROL_ENDPOINTS:
        op["description"] = "Tokens need the control or admin scope."
    elif endpoint in OWNER_ONLY_ENDPOINTS:
        op["description"] = "Only the logged-in owner: API tokens cannot list, create or revoke tokens."
    elif method != "get" and not endpoint.startswith(_HTML_BLUEPRINTS) and endpoint not in PUBLIC_ENDPOINTS:
        op["description"] = "Tokens need the admin scope."
    return op


def build_spec(app: Flask, version: str, switches: dict[str, Any] | None = None) -> dict[str, Any]:
    switches = switches or {}
    paths: dict[str, dict[str, Any]] = {}
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        path = _CONVERTER.sub(r"{\2}", rule.rule)
        params = [(m.group(1), m.group(2)) for m in _CONVERTER.finditer(rule.rule)]
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            paths.setdefault(path, {})[method.lower()] = _operation(app, rule.endpoint, method.lower(), params,
                                                                     switches)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "camwatch",
            "version": version,
            "description": "Local API of camwatch: results only (events, snapshots, status), never raw video. "
            "Authenticate with a session cookie (plus X-CSRF-Token on changes) or Authorization: Bearer <token>. "
            f"Names with format {NAME_FORMAT} follow the printable-name rule, addresses with format "
            f"{APPRISE_FORMAT} are Apprise URLs (see their descriptions).",
        },
        "paths": dict(sorted(paths.items())),
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "An API token (cwt_…) in its scope."},
                "session": {"type": "apiKey", "in": "cookie", "name": "camwatch_session"},
                "csrf": {"type": "apiKey", "in": "header", "name": CSRF_HEADER,
                         "description": "The session's CSRF token, on every change made with the cookie."},
            },
            "schemas": SCHEMAS,
        },
        "security": [{"bearer": []}, {"session": []}],
    }
