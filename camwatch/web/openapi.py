"""The OpenAPI 3.1 document, built from the app's own routes so it never misses one."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask

from camwatch.web.filters import EVENT_FILTERS

_CONVERTER = re.compile(r"<(?:[a-z]+:)?([a-z_]+)>")
_ERROR = {"description": "Error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
_IMAGE_ENDPOINTS = {"api.event_snapshot", "api.event_thumbnail", "api.event_face", "api.camera_latest"}
_HTML_BLUEPRINTS = ("pages.", "auth.", "manage.")


def _operation(app: Flask, endpoint: str, method: str, path_params: list[str]) -> dict[str, Any]:
    view = app.view_functions[endpoint]
    doc = (view.__doc__ or endpoint).strip().splitlines()[0]
    op: dict[str, Any] = {"operationId": f"{endpoint.replace('.', '_')}_{method}", "summary": doc}
    params: list[dict[str, Any]] = [
        {"name": p, "in": "path", "required": True, "schema": {"type": "string"}} for p in path_params
    ]
    if endpoint == "api.events":
        params += [
            {"name": name, "in": "query", "required": False, "description": text, "schema": {"type": kind}}
            for name, (kind, text) in EVENT_FILTERS.items()
        ]
    if endpoint == "api.event_snapshot":
        params.append({"name": "kind", "in": "query", "schema": {"type": "string", "enum": ["annotated", "clean"]}})
    if params:
        op["parameters"] = params
    if endpoint in _IMAGE_ENDPOINTS:
        ok: dict[str, Any] = {"description": "JPEG image", "content": {"image/jpeg": {}}}
    elif endpoint == "metrics.metrics":
        ok = {"description": "Prometheus text format", "content": {"text/plain": {}}}
    elif endpoint == "sse.stream":
        ok = {"description": "Server-Sent Events (cameras, events)", "content": {"text/event-stream": {}}}
    elif endpoint.startswith(_HTML_BLUEPRINTS):
        ok = {"description": "HTML page or redirect", "content": {"text/html": {}}}
    else:
        ok = {"description": "OK", "content": {"application/json": {"schema": {"type": "object"}}}}
    op["responses"] = {"200": ok, "400": _ERROR, "401": _ERROR, "404": _ERROR}
    if method in ("put", "post") and endpoint.startswith(("api.", "notify.")):
        op["requestBody"] = {"content": {"application/json": {"schema": {"type": "object"}}}}
    if endpoint == "api.health":
        op["security"] = []
    op["tags"] = [endpoint.split(".")[0]]
    return op


def build_spec(app: Flask, version: str) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        path = _CONVERTER.sub(r"{\1}", rule.rule)
        params = _CONVERTER.findall(rule.rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            paths.setdefault(path, {})[method.lower()] = _operation(app, rule.endpoint, method.lower(), params)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "camwatch",
            "version": version,
            "description": "Local API of camwatch: results only (events, snapshots, status), never raw video. "
            "Authenticate with a session cookie (plus X-CSRF-Token on changes) or Authorization: Bearer <token>.",
        },
        "paths": dict(sorted(paths.items())),
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "session": {"type": "apiKey", "in": "cookie", "name": "camwatch_session"},
            },
            "schemas": {
                "Error": {"type": "object", "properties": {"error": {"type": "string"}}, "required": ["error"]}
            },
        },
        "security": [{"bearer": []}, {"session": []}],
    }
