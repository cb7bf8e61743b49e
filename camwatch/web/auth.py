"""Login, first-run password, logout, and the guard every request passes through.

Every request first needs an accepted ``Host`` (camwatch.web.hosts: no DNS rebinding) and,
when it changes state, an ``Origin`` (if sent) of this site. Pages and API accept a session
cookie (HttpOnly, SameSite=Lax, signed with the key in the data dir, backed by a session
row that logout deletes); state-changing requests made with the cookie must carry the
session's CSRF token (form field ``csrf_token`` or header ``X-CSRF-Token``). The API and
``/metrics`` also accept ``Authorization: Bearer <token>`` (no cookie, so no CSRF), within
the token's scope. Failed logins are throttled (camwatch.web.throttle).

Views check ``request.method == "POST"`` explicitly: HEAD runs a GET view (Flask), and a
HEAD must never change anything.
"""

from __future__ import annotations

import hmac
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
from itsdangerous import BadSignature, URLSafeSerializer
from werkzeug.exceptions import MethodNotAllowed
from werkzeug.wrappers import Response

from camwatch.setup_code import clear_setup_code, code_matches, ensure_setup_code
from camwatch.web.accounts import MIN_PASSWORD_LENGTH, Accounts, ApiToken, PasswordError
from camwatch.web.clients import at_the_device, client_address, is_safe_next
from camwatch.web.context import WebContext
from camwatch.web.hosts import HostPolicy
from camwatch.web.throttle import LoginThrottle

_LOGGER = logging.getLogger(__name__)

bp = Blueprint("auth", __name__)

PUBLIC_ENDPOINTS = frozenset({"auth.login", "auth.setup", "static", "api.health"})
#: Only the logged-in owner manages tokens: a token can neither mint nor revoke tokens.
OWNER_ONLY_ENDPOINTS = frozenset({"api.tokens", "api.token_create", "api.token_revoke"})
#: Changes a ``control`` token may make; every other change needs ``admin``.
CONTROL_ENDPOINTS = frozenset({"api.control_set"})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
DEVICE_COOKIE = "camwatch_device"
DEVICE_COOKIE_DAYS = 400
#: Unknown clients together may fail this many times the per-client limit before all of
#: them wait (a guesser spread over many addresses); known browsers are not affected.
ACCOUNT_FACTOR = 4


# ---------------------------------------------------------------------- helpers
def accounts() -> Accounts:
    return current_app.extensions["camwatch.accounts"]


def throttle() -> LoginThrottle:
    return current_app.extensions["camwatch.throttle"]


def web_context() -> WebContext:
    return current_app.extensions["camwatch"]


def csrf_token() -> str:
    token = session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        session["csrf"] = token
    return token


def csrf_valid() -> bool:
    expected = session.get("csrf")
    given = request.headers.get(CSRF_HEADER) or request.form.get(CSRF_FIELD) or ""
    # bytes: compare_digest refuses str with non-ASCII characters (a forged header may carry any)
    return bool(expected) and hmac.compare_digest(str(expected).encode(), str(given).encode("utf-8", "replace"))


def logged_in() -> bool:
    if "camwatch.logged_in" not in g:
        g.setdefault(
            "camwatch.logged_in",
            session.get("user") == "admin"
            and session.get("gen") == accounts().password_generation()
            and accounts().session_valid(session.get("sid")),
        )
    return bool(g.get("camwatch.logged_in"))


def _is_api(path: str) -> bool:
    return path.startswith("/api/") or path == "/api" or path == "/metrics"


def _json_error(status: int, message: str, **headers: str) -> Response:
    response = jsonify({"error": message})
    response.status_code = status
    for key, value in headers.items():
        response.headers[key] = value
    return response


def _plain_error(status: int, message: str) -> Response:
    if _is_api(request.path):
        return _json_error(status, message)
    return Response(message, status, mimetype="text/plain")


def _safe_next(target: object) -> str:
    return target if is_safe_next(target) else url_for("pages.dashboard")  # type: ignore[return-value]


def _start_session() -> None:
    session.clear()
    session.permanent = True
    session["user"] = "admin"
    session["gen"] = accounts().password_generation()
    session["sid"] = accounts().create_session()
    session["csrf"] = secrets.token_urlsafe(32)
    g.pop("camwatch.logged_in", None)


def _device_serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.secret_key, salt="camwatch-known-device")  # type: ignore[arg-type]


def _device_id() -> str | None:
    cookie = request.cookies.get(DEVICE_COOKIE)
    if not cookie or len(cookie) > 200:
        return None
    try:
        value = _device_serializer().loads(cookie)
    except BadSignature:
        return None
    return value if isinstance(value, str) else None


def _remember_device(response: Response) -> Response:
    """A browser that logged in once is counted on its own by the throttle from now on."""
    device = _device_id() or secrets.token_urlsafe(16)
    response.set_cookie(
        DEVICE_COOKIE, _device_serializer().dumps(device), max_age=DEVICE_COOKIE_DAYS * 86400,
        httponly=True, samesite="Lax", secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")),
    )
    return response


def throttle_keys(kind: str = "login") -> tuple[list[str], list[int]]:
    """What a try counts against: the known browser alone, else its address and the account."""
    limit = throttle().max_failures
    device = _device_id()
    if device:
        return [f"{kind}:device:{device}"], [limit]
    return [f"{kind}:address:{client_address()}", f"{kind}:unknown-clients"], [limit, limit * ACCOUNT_FACTOR]


def _wait_message(wait: float) -> str:
    return f"Too many failed attempts. Try again in {int(wait) + 1} s."


# ---------------------------------------------------------------------- guard
def guard() -> Response | None:
    """before_request: Host and Origin, authentication, token scope, then CSRF on changes."""
    policy: HostPolicy = current_app.extensions["camwatch.hosts"]
    if not policy.host_allowed(request.host):
        return _plain_error(
            400, f"Host {request.headers.get('Host', '')[:100]!r} is not a name of this camwatch: "
            "add it to web.allowed_hosts"
        )
    changing = request.method not in SAFE_METHODS
    origin = request.headers.get("Origin")
    if changing and origin is not None and not policy.origin_allowed(origin, request.host):
        return _plain_error(403, "cross-site request refused (the Origin is not this camwatch)")
    if isinstance(request.routing_exception, MethodNotAllowed):
        return None  # a 405 with the route's Allow header; nothing runs
    if request.endpoint in PUBLIC_ENDPOINTS:
        if changing and request.endpoint != "api.health" and not csrf_valid():
            return _refuse_csrf()
        return None
    header = request.headers.get("Authorization", "")
    if header:
        return _token_auth(header)
    if logged_in():
        g.auth = "session"
        if changing and not csrf_valid():
            return _refuse_csrf()
        return None
    if _is_api(request.path):
        return _json_error(401, "authentication required (log in, or send Authorization: Bearer <token>)",
                           **{"WWW-Authenticate": "Bearer"})
    if changing:  # a form sent after the session ended: nothing to redirect it to
        return _plain_error(403, "Not logged in (or the session ended): log in and try again.")
    if not accounts().has_password():
        return redirect(url_for("auth.setup"))
    target = request.full_path.rstrip("?") if request.method == "GET" else None
    if target and target != "/" and is_safe_next(target):
        return redirect(url_for("auth.login", next=target))
    return redirect(url_for("auth.login"))


def _token_auth(header: str) -> Response | None:
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not _is_api(request.path):
        return _json_error(401, "unsupported Authorization header (use: Bearer <token>, on /api and /metrics)")
    token = accounts().verify_token(secret.strip())
    if token is None:
        return _json_error(401, "invalid or revoked API token", **{"WWW-Authenticate": "Bearer"})
    needed = required_scope(request.endpoint, request.method)
    if needed == "owner":
        return _json_error(403, "API tokens cannot list, create or revoke tokens: the owner does that, logged in")
    if not token.allows(needed):
        return _json_error(403, f"this token's scope is {token.scope}; this request needs {needed}")
    g.auth = f"token:{token.id}"
    g.token = token
    return None


def required_scope(endpoint: str | None, method: str) -> str:
    """``owner`` (session only), or the weakest token scope allowed to make this request."""
    if endpoint in OWNER_ONLY_ENDPOINTS:
        return "owner"
    if method in SAFE_METHODS:
        return "read"
    return "control" if endpoint in CONTROL_ENDPOINTS else "admin"


def current_token() -> ApiToken | None:
    return g.get("token")


def _refuse_csrf() -> Response:
    if _is_api(request.path):
        return _json_error(403, f"missing or wrong CSRF token (send the {CSRF_HEADER} header)")
    return Response("Missing or wrong CSRF token: reload the page and try again.", 403, mimetype="text/plain")


def install(app: Flask, ctx: WebContext) -> None:
    cfg = ctx.config.web
    lifetime = cfg.session_lifetime_hours * 3600
    accounts_db = Accounts(ctx.data_dir / "web.db", cfg.password_hash, session_lifetime=lifetime)
    app.extensions["camwatch.accounts"] = accounts_db
    app.extensions["camwatch.throttle"] = LoginThrottle(
        cfg.login_max_failures, cfg.login_window, cfg.login_lockout, cfg.login_backoff
    )
    app.extensions["camwatch.hosts"] = HostPolicy(cfg)
    if accounts_db.has_password():
        clear_setup_code(ctx.data_dir)
    else:
        ensure_setup_code(ctx.data_dir)
    app.before_request(guard)
    app.jinja_env.globals["csrf_token"] = csrf_token
    app.jinja_env.globals["logged_in"] = logged_in  # not the cookie's word: an ended session shows no menu
    app.register_blueprint(bp)


# ---------------------------------------------------------------------- routes
@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    """Log in with the admin password."""
    if not accounts().has_password():
        return redirect(url_for("auth.setup"))
    nxt = request.values.get("next")
    nxt = nxt if is_safe_next(nxt) else None
    if request.method != "POST":
        if logged_in():
            return redirect(_safe_next(nxt))
        return render_template("login.html", error=None, next=nxt)
    address = client_address()
    keys, limits = throttle_keys()
    wait = throttle().attempt(keys, limits=limits)
    if wait > 0:
        response = current_app.make_response((render_template("login.html", error=_wait_message(wait), next=nxt), 429))
        response.headers["Retry-After"] = str(int(wait) + 1)
        return response
    if accounts().check_password(request.form.get("password", "")):
        throttle().success(keys)
        _start_session()
        _LOGGER.info("web login from %s", address)
        return _remember_device(redirect(_safe_next(nxt)))
    _LOGGER.info("failed web login from %s", address)
    return render_template("login.html", error="Wrong password.", next=nxt), 401


def _setup_page(error: str | None, status: int = 200, **extra: Any) -> Any:
    return render_template("setup.html", error=error, min_length=MIN_PASSWORD_LENGTH,
                           need_code=not at_the_device(), **extra), status


@bp.route("/setup", methods=["GET", "POST"])
def setup() -> Any:
    """First run: choose the admin password (with the setup code, unless at the device itself)."""
    if accounts().has_password():
        if request.method == "POST":  # a conflict with the state: the password exists already
            return render_template("error.html", code=409, name="Already set up",
                                   message="The admin password is set already: log in."), 409
        return redirect(url_for("auth.login"))
    if request.method != "POST":
        return _setup_page(None)
    data_dir = web_context().data_dir
    if not at_the_device():
        keys, limits = throttle_keys("setup")
        wait = throttle().attempt(keys, limits=limits)
        if wait > 0:
            response = current_app.make_response(_setup_page(_wait_message(wait), 429))
            response.headers["Retry-After"] = str(int(wait) + 1)
            return response
        if not code_matches(data_dir, request.form.get("setup_code")):
            _LOGGER.warning("first-run setup refused from %s: wrong setup code", client_address())
            return _setup_page("Wrong setup code. camwatch wrote it to its log when it started "
                               "(or run: camwatch doctor).", 403)
        throttle().success(keys)
    password = request.form.get("password", "")
    if password != request.form.get("confirm", ""):
        return _setup_page("The two passwords differ.", 400)
    try:
        accounts().set_password(password, first_run=True)
    except PasswordError as exc:
        return _setup_page(f"{str(exc)[0].upper()}{str(exc)[1:]}.", 400)
    clear_setup_code(data_dir)
    _LOGGER.info("first-run setup done from %s", client_address())
    _start_session()
    return _remember_device(redirect(url_for("pages.dashboard")))


@bp.route("/logout", methods=["POST"])
def logout() -> Any:
    """End the session (the cookie no longer works, even if copied)."""
    accounts().end_session(session.get("sid"))
    session.clear()
    return redirect(url_for("auth.login"))


@bp.route("/account/password", methods=["GET", "POST"])
def change_password() -> Any:
    """Change the admin password (ends every other session)."""
    acc = accounts()
    if request.method != "POST":
        return render_template("password.html", error=None, done=False, from_config=acc.password_from_config,
                               min_length=MIN_PASSWORD_LENGTH)
    error = None
    status = 400
    keys, limits = throttle_keys("password")
    wait = throttle().attempt(keys, limits=limits)
    if wait > 0:
        error = _wait_message(wait)
    elif not acc.check_password(request.form.get("current", "")):
        error = "The current password is wrong."
        status = 403
    else:
        throttle().success(keys)
        if request.form.get("password", "") != request.form.get("confirm", ""):
            error = "The two new passwords differ."
        else:
            try:
                acc.set_password(request.form.get("password", ""))
            except PasswordError as exc:
                error = f"{str(exc)[0].upper()}{str(exc)[1:]}."
    if error is None:
        _start_session()
    if error is None:
        status = 200
    elif wait > 0:
        status = 429
    response = current_app.make_response((render_template(
        "password.html", error=error, done=error is None, from_config=acc.password_from_config,
        min_length=MIN_PASSWORD_LENGTH), status))
    if wait > 0:
        response.headers["Retry-After"] = str(int(wait) + 1)
    return response
