"""The Flask application factory: blueprints, session settings, security headers, errors."""

from __future__ import annotations

import logging
import time
from datetime import timedelta
from typing import Any

from flask import Flask, Response, current_app, jsonify, render_template, request
from flask.json.provider import DefaultJSONProvider
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge
from werkzeug.routing import BaseConverter

from camwatch.const import WEB_ROOT
from camwatch.web import api, auth, cameras_api, manage_pages, metrics, notify_api, pages, sse
from camwatch.web.accounts import load_secret_key
from camwatch.web.context import WebContext
from camwatch.web.present import time_element
from camwatch.web.schema_parts import EVENT_ID_URL_PATTERN

_LOGGER = logging.getLogger(__name__)

#: Request body limit of every route but the uploads below.
MAX_BODY_BYTES = 1 << 20
#: Photo uploads (a phone's JPEG is 2–6 MB): endpoint → body limit. The WSGI server's own
#: limit (camwatch.web.server) is the largest of these.
UPLOAD_LIMITS = {"faces.enrol": 10 << 20}
MAX_UPLOAD_BYTES = max(UPLOAD_LIMITS.values())

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'"
)


class JsonProvider(DefaultJSONProvider):
    """Deeply nested JSON (``[[[[…`` 100 000 levels) makes the parser hit Python's recursion
    limit; that is bad input (a 400), not a server error."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        try:
            return super().loads(s, **kwargs)
        except RecursionError:
            raise ValueError("nested too deeply") from None


class EventIdConverter(BaseConverter):
    """An event id in a URL: ``<unix time>.<decimals>-<hex>`` starts with a digit, so the
    word ``filters`` never matches and ``/api/events/filters`` answers other methods with
    405 and ``Allow: GET``, not with "no such event"."""

    regex = EVENT_ID_URL_PATTERN


def _security_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CSP)
    headers["X-Frame-Options"] = "DENY"
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Referrer-Policy"] = "same-origin"
    headers["Cross-Origin-Opener-Policy"] = "same-origin"
    headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
    if request.endpoint != "static" and "Cache-Control" not in headers:
        headers["Cache-Control"] = "no-store"
    return response


def _wants_json() -> bool:
    return request.path.startswith("/api") or request.path == "/metrics"


def _http_error(exc: HTTPException) -> Any:
    message = exc.description or exc.name
    if _wants_json():
        response = jsonify({"error": message})
        response.status_code = exc.code or 500
    else:
        response = current_app.make_response(
            (render_template("error.html", code=exc.code, name=exc.name, message=message), exc.code or 500)
        )
    if exc.code == 405 and getattr(exc, "valid_methods", None):  # RFC 9110: a 405 lists what is allowed
        response.headers["Allow"] = ", ".join(exc.valid_methods)  # type: ignore[attr-defined]
    return response


def _body_limit() -> None:
    """before_request (runs before the auth guard reads any form): the body limit of this route."""
    request.max_content_length = UPLOAD_LIMITS.get(request.endpoint or "", MAX_BODY_BYTES)


def _too_large(_exc: RequestEntityTooLarge) -> Any:
    limit = request.max_content_length or MAX_BODY_BYTES
    message = f"request body too large: this route accepts at most {limit / (1 << 20):g} MB"
    if _wants_json():
        return jsonify({"error": message}), 413
    return render_template("error.html", code=413, name="Too large", message=message), 413


def _unexpected_error(exc: Exception) -> Any:
    _LOGGER.exception("web request %s %s failed", request.method, request.path)
    if _wants_json():
        return jsonify({"error": "internal error (see the camwatch log)"}), 500
    return render_template("error.html", code=500, name="Internal error", message="See the camwatch log."), 500


def _format_bytes(value: float | None) -> str:
    if value is None:
        return "—"
    size = float(value)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024:
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TB"


def _format_duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    seconds = int(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min {secs} s"


def _register_faces(app: Flask) -> None:
    """The known-faces gallery API (camwatch.web.faces_api), when the faces module is installed."""
    try:
        from camwatch.web.faces_api import faces_bp
    except ImportError as exc:
        _LOGGER.info("faces API not available: %s", exc)
        return
    app.register_blueprint(faces_bp)


def create_app(ctx: WebContext) -> Flask:
    """The camwatch web app for one running instance (``ctx`` carries config, store and state)."""
    cfg = ctx.config.web
    app = Flask(
        __name__,
        template_folder=str(WEB_ROOT / "templates"),
        static_folder=str(WEB_ROOT / "static"),
        static_url_path="/static",
    )
    app.json = JsonProvider(app)
    app.url_map.converters["event_id"] = EventIdConverter
    secret_file = cfg.session_secret_file or (ctx.data_dir / "web_secret")
    app.config.update(
        SECRET_KEY=load_secret_key(secret_file),
        SESSION_COOKIE_NAME="camwatch_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=cfg.cookie_secure,
        PERMANENT_SESSION_LIFETIME=timedelta(hours=cfg.session_lifetime_hours),
        MAX_CONTENT_LENGTH=MAX_BODY_BYTES,
        JSON_SORT_KEYS=False,
        SEND_FILE_MAX_AGE_DEFAULT=3600,
    )
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.extensions["camwatch"] = ctx
    app.extensions["camwatch.sse_slots"] = sse.StreamSlots(cfg.threads)
    app.before_request(_body_limit)  # first: the auth guard may read the form
    auth.install(app, ctx)
    for blueprint in (pages.bp, api.bp, sse.bp, metrics.bp, notify_api.bp, cameras_api.bp, manage_pages.bp):
        app.register_blueprint(blueprint)
    _register_faces(app)
    app.after_request(_security_headers)
    app.register_error_handler(RequestEntityTooLarge, _too_large)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected_error)
    app.jinja_env.filters["time"] = time_element  # the browser writes it in its own locale
    app.jinja_env.filters["bytes"] = _format_bytes
    app.jinja_env.filters["duration"] = _format_duration
    app.jinja_env.globals["version"] = ctx.version
    app.jinja_env.globals["now"] = time.time
    app.jinja_env.globals["system_armed"] = lambda: ctx.control.armed
    return app
