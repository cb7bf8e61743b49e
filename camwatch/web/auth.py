"""Login, first-run password, logout, and the guard every request passes through.

Pages and API accept a session cookie (HttpOnly, SameSite=Lax, signed with the key in the
data dir); state-changing requests made with the cookie must carry the session's CSRF token
(form field ``csrf_token`` or header ``X-CSRF-Token``). The API and ``/metrics`` also accept
``Authorization: Bearer <token>`` (no cookie, so no CSRF). Failed logins are throttled per
client address.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import secrets
from typing import Any

from flask import (
    Blueprint,
    Flask,
    current_app,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from werkzeug.wrappers import Response

from camwatch.web.accounts import MIN_PASSWORD_LENGTH, Accounts, PasswordError
from camwatch.web.context import WebContext
from camwatch.web.throttle import LoginThrottle

_LOGGER = logging.getLogger(__name__)

bp = Blueprint("auth", __name__)

PUBLIC_ENDPOINTS = frozenset({"auth.login", "auth.setup", "static", "api.health"})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"


# ---------------------------------------------------------------------- helpers
def accounts() -> Accounts:
    return current_app.extensions["camwatch.accounts"]


def throttle() -> LoginThrottle:
    return current_app.extensions["camwatch.throttle"]


def web_context() -> WebContext:
    return current_app.extensions["camwatch"]


def client_address() -> str:
    """The client's address; X-Forwarded-For is believed only from a trusted proxy."""
    remote = request.remote_addr or "unknown"
    trusted = set(web_context().config.web.trusted_proxies)
    if remote not in trusted:
        return remote
    forwarded = [a.strip() for a in request.headers.get("X-Forwarded-For", "").split(",") if a.strip()]
    for address in reversed(forwarded):
        if address not in trusted:
            try:
                return str(ipaddress.ip_address(address))
            except ValueError:
                return remote
    return remote


def csrf_token() -> str:
    token = session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        session["csrf"] = token
    return token


def csrf_valid() -> bool:
    expected = session.get("csrf")
    given = request.headers.get(CSRF_HEADER) or request.form.get(CSRF_FIELD) or ""
    return bool(expected) and hmac.compare_digest(str(expected), str(given))


def logged_in() -> bool:
    return session.get("user") == "admin" and session.get("gen") == accounts().password_generation()


def _is_api(path: str) -> bool:
    return path.startswith("/api/") or path == "/api" or path == "/metrics"


def _json_error(status: int, message: str, **headers: str) -> Response:
    response = jsonify({"error": message})
    response.status_code = status
    for key, value in headers.items():
        response.headers[key] = value
    return response


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("pages.dashboard")


def _start_session() -> None:
    session.clear()
    session.permanent = True
    session["user"] = "admin"
    session["gen"] = accounts().password_generation()
    session["csrf"] = secrets.token_urlsafe(32)


# ---------------------------------------------------------------------- guard
def guard() -> Response | None:
    """before_request: authenticate, then check CSRF on state changes made with the cookie."""
    if request.endpoint in PUBLIC_ENDPOINTS:
        if request.method not in SAFE_METHODS and request.endpoint != "api.health" and not csrf_valid():
            return _refuse_csrf()
        return None
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, secret = header.partition(" ")
        if scheme.lower() != "bearer" or not _is_api(request.path):
            return _json_error(401, "unsupported Authorization header (use: Bearer <token>, on /api and /metrics)")
        token = accounts().verify_token(secret.strip())
        if token is None:
            return _json_error(401, "invalid or revoked API token", **{"WWW-Authenticate": "Bearer"})
        g.auth = f"token:{token.id}"
        return None
    if logged_in():
        g.auth = "session"
        if request.method not in SAFE_METHODS and not csrf_valid():
            return _refuse_csrf()
        return None
    if _is_api(request.path):
        return _json_error(401, "authentication required (log in, or send Authorization: Bearer <token>)",
                           **{"WWW-Authenticate": "Bearer"})
    if not accounts().has_password():
        return redirect(url_for("auth.setup"))
    target = request.full_path.rstrip("?") if request.method == "GET" else None
    return redirect(url_for("auth.login", next=target) if target and target != "/" else url_for("auth.login"))


def _refuse_csrf() -> Response:
    if _is_api(request.path):
        return _json_error(403, f"missing or wrong CSRF token (send the {CSRF_HEADER} header)")
    return Response("Missing or wrong CSRF token: reload the page and try again.", 403, mimetype="text/plain")


def install(app: Flask, ctx: WebContext) -> None:
    cfg = ctx.config.web
    app.extensions["camwatch.accounts"] = Accounts(ctx.data_dir / "web.db", cfg.password_hash)
    app.extensions["camwatch.throttle"] = LoginThrottle(cfg.login_max_failures, cfg.login_window, cfg.login_lockout)
    app.before_request(guard)
    app.jinja_env.globals["csrf_token"] = csrf_token
    app.register_blueprint(bp)


# ---------------------------------------------------------------------- routes
@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    """Log in with the admin password."""
    if not accounts().has_password():
        return redirect(url_for("auth.setup"))
    nxt = request.values.get("next")
    if request.method == "GET":
        if logged_in():
            return redirect(_safe_next(nxt))
        return render_template("login.html", error=None, next=nxt)
    address = client_address()
    wait = throttle().retry_after(address)
    if wait > 0:
        message = f"Too many failed attempts. Try again in {int(wait) + 1} s."
        response = current_app.make_response((render_template("login.html", error=message, next=nxt), 429))
        response.headers["Retry-After"] = str(int(wait) + 1)
        return response
    if accounts().check_password(request.form.get("password", "")):
        throttle().success(address)
        _start_session()
        _LOGGER.info("web login from %s", address)
        return redirect(_safe_next(nxt))
    throttle().failure(address)
    _LOGGER.info("failed web login from %s", address)
    return render_template("login.html", error="Wrong password.", next=nxt), 401


@bp.route("/setup", methods=["GET", "POST"])
def setup() -> Any:
    """First run: choose the admin password."""
    if accounts().has_password():
        return redirect(url_for("auth.login"))
    if request.method == "GET":
        return render_template("setup.html", error=None, min_length=MIN_PASSWORD_LENGTH)
    password = request.form.get("password", "")
    if password != request.form.get("confirm", ""):
        error = "The two passwords differ."
    else:
        try:
            accounts().set_password(password, first_run=True)
        except PasswordError as exc:
            error = f"{str(exc)[0].upper()}{str(exc)[1:]}."
        else:
            _start_session()
            return redirect(url_for("pages.dashboard"))
    return render_template("setup.html", error=error, min_length=MIN_PASSWORD_LENGTH), 400


@bp.route("/logout", methods=["POST"])
def logout() -> Any:
    """End the session."""
    session.clear()
    return redirect(url_for("auth.login"))


@bp.route("/account/password", methods=["GET", "POST"])
def change_password() -> Any:
    """Change the admin password (ends every other session)."""
    acc = accounts()
    if request.method == "GET":
        return render_template("password.html", error=None, done=False, from_config=acc.password_from_config,
                               min_length=MIN_PASSWORD_LENGTH)
    error = None
    address = client_address()
    if throttle().retry_after(address) > 0:
        error = "Too many failed attempts. Try again later."
    elif not acc.check_password(request.form.get("current", "")):
        throttle().failure(address)
        error = "The current password is wrong."
    elif request.form.get("password", "") != request.form.get("confirm", ""):
        error = "The two new passwords differ."
    else:
        try:
            acc.set_password(request.form.get("password", ""))
        except PasswordError as exc:
            error = f"{str(exc)[0].upper()}{str(exc)[1:]}."
    if error is None:
        _start_session()
    status = 200 if error is None else 400
    return render_template("password.html", error=error, done=error is None, from_config=acc.password_from_config,
                           min_length=MIN_PASSWORD_LENGTH), status
