"""Notification destinations from the web UI (``/api/notify``): list, add or edit, delete, test;
the page address messages link to.

Changes go through the config writer: ``config.yml`` keeps its comments, the result is
validated before it is written, and the running camwatch applies it at once. An address
typed in the UI is stored in a 0600 file under ``<data dir>/secrets`` and the config refers
to it with ``${file:...}``; no answer ever contains it.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, jsonify
from werkzeug.exceptions import BadRequest, NotFound

from camwatch.config import CamwatchConfig
from camwatch.config.notify import (
    DESTINATION_NAME,
    FILTER_RULES,
    NotifyDestination,
    check_apprise_url,
)
from camwatch.config.writer import (
    ConfigWriteError,
    delete_path,
    get_path,
    referenced_file,
    remove_secret,
    secret_reference,
    set_path,
    write_secret,
)
from camwatch.notify.counters import record_test
from camwatch.notify.message import probe_text
from camwatch.notify.sender import describe_url, send
from camwatch.notify.sink import event_link_base
from camwatch.web.api import json_body
from camwatch.web.auth import web_context
from camwatch.web.context import WebContext
from camwatch.web.limits import MAX_ITEMS, MAX_URL_LENGTH, WEB_URL
from camwatch.web.present import camera_name

_LOGGER = logging.getLogger(__name__)

bp = Blueprint("notify", __name__, url_prefix="/api/notify")

ANOMALY_LABELS = ("tamper", "loitering", "unusual_activity")
_LISTS = ("cameras", "labels", "zones")
_FLAGS = ("enabled", "only_armed", "attach_snapshot")
_FIELDS = frozenset({"url", "min_interval", *_LISTS, *_FLAGS})


def destination_json(ctx: WebContext, name: str, destination: NotifyDestination) -> dict[str, Any]:
    data = destination.model_dump(mode="json", exclude={"url"})
    return {"name": name, "service": describe_url(destination.url.get_secret_value()), **data,
            "status": dict(ctx.state.notify.get(name) or {})}


def choices(config: CamwatchConfig) -> dict[str, Any]:
    labels: list[str] = []
    zones: list[str] = []
    for cam in config.cameras.values():
        labels += [label for label in cam.objects.track if label not in labels]
        zones += [zone for zone in cam.zones if zone not in zones]
    return {
        "cameras": [{"name": n, "display_name": camera_name(config, n)} for n in config.cameras],
        "labels": labels + [a for a in ANOMALY_LABELS if a not in labels],
        "zones": zones,
    }


def link_json(ctx: WebContext) -> dict[str, Any]:
    """The address messages link to, and which setting gives it."""
    base = event_link_base(ctx.config)
    source = "notify.web_url" if ctx.config.notify.web_url else ("mqtt.web_url" if base else None)
    return {"web_url": base, "from": source}


def notify_summary(ctx: WebContext) -> dict[str, Any]:
    settings = ctx.config.notify
    return {
        "writable": ctx.config_path is not None,
        "link": link_json(ctx),
        "settings": settings.model_dump(mode="json", exclude={"destinations"}),
        "destinations": [destination_json(ctx, n, d) for n, d in settings.destinations.items()],
        "choices": choices(ctx.config),
    }


def _check_name(name: str) -> None:
    if not DESTINATION_NAME.matches(name):
        raise BadRequest(f"the name must be {DESTINATION_NAME.rule}")


def _check_body(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object")
    unknown = set(body) - _FIELDS
    if unknown:
        raise BadRequest(f"unknown key(s): {', '.join(sorted(unknown))} (known: {', '.join(sorted(_FIELDS))})")
    for key in _LISTS:
        value = body.get(key)
        rule = FILTER_RULES[key]
        if key in body and (not isinstance(value, list) or len(value) > MAX_ITEMS
                            or not all(rule.matches(v) for v in value)):
            raise BadRequest(f"{key}: must be a list of at most {MAX_ITEMS} names, each {rule.rule}")
    for key in _FLAGS:
        if key in body and not isinstance(body[key], bool):
            raise BadRequest(f"{key}: must be true or false")
    interval = body.get("min_interval")
    if "min_interval" in body and (isinstance(interval, bool) or not isinstance(interval, (int, float))):
        raise BadRequest("min_interval: must be a number of seconds")
    url = body.get("url")
    if "url" in body and (not isinstance(url, str) or len(url) > MAX_URL_LENGTH):
        raise BadRequest(f"url: must be a string of at most {MAX_URL_LENGTH} characters")
    return body


def save_destination(ctx: WebContext, name: str, body: Any) -> CamwatchConfig:
    """Create or change a destination; a new ``url`` goes to a fresh 0600 file."""
    _check_name(name)
    body = _check_body(body)
    url = (body.get("url") or "").strip()
    existing = ctx.config.notify.destinations.get(name)
    if existing is None and not url:
        raise NotFound(f"no destination {name!r}: a new destination needs its Apprise URL (url)")
    if url:
        try:
            check_apprise_url(url)
        except ValueError as exc:
            raise BadRequest(f"url: {exc}") from None
    fields = {k: v for k, v in body.items() if k != "url"}
    writer = ctx.config_writer("destinations")
    new_file = write_secret(ctx.secrets_dir, f"notify-{name}", url) if url else None
    old_reference: list[Any] = []

    def change(doc: Any) -> None:
        current = get_path(doc, ["notify", "destinations", name])
        entry = {k: v for k, v in current.items()} if isinstance(current, dict) else {}
        old_reference.append(entry.get("url"))
        entry.update(fields)
        if new_file is not None:
            entry["url"] = secret_reference(new_file)
        set_path(doc, ["notify", "destinations", name], entry)

    try:
        config = writer.update(change)
    except BaseException:
        remove_secret(ctx.secrets_dir, new_file)
        raise
    if new_file is not None and old_reference:
        remove_secret(ctx.secrets_dir, referenced_file(old_reference[0]))
    _LOGGER.info("notification destination %s saved", name)
    ctx.use_config(config)
    return config


def delete_destination(ctx: WebContext, name: str) -> CamwatchConfig:
    if name not in ctx.config.notify.destinations:
        raise NotFound(f"no destination {name!r}")
    old_reference: list[Any] = []

    def change(doc: Any) -> None:
        old_reference.append(get_path(doc, ["notify", "destinations", name, "url"]))
        if not delete_path(doc, ["notify", "destinations", name]):
            raise ConfigWriteError(f"destination {name!r} is not in {ctx.config_path}", 409)

    config = ctx.config_writer("destinations").update(change)
    remove_secret(ctx.secrets_dir, referenced_file(old_reference[0]) if old_reference else None)
    _LOGGER.info("notification destination %s deleted", name)
    ctx.use_config(config)
    return config


def save_web_url(ctx: WebContext, body: Any) -> CamwatchConfig:
    """Set (or with null remove) ``notify.web_url``: the page address messages link to."""
    if not isinstance(body, dict) or set(body) != {"web_url"}:
        raise BadRequest('the body must be {"web_url": "http://…"} or {"web_url": null}')
    url = body["web_url"]
    if url is not None and (not isinstance(url, str) or len(url) > MAX_URL_LENGTH or not WEB_URL.fullmatch(url)):
        raise BadRequest(f"web_url: an http:// or https:// address without spaces, at most {MAX_URL_LENGTH} "
                         "characters (the one you open this page at)")

    def change(doc: Any) -> None:
        if url is None:
            delete_path(doc, ["notify", "web_url"])
        else:
            set_path(doc, ["notify", "web_url"], url.rstrip("/"))

    config = ctx.config_writer("destinations").update(change)
    _LOGGER.info("notifications link to %s", config.notify.web_url or "no page")
    ctx.use_config(config)
    return config


def _write_error(exc: ConfigWriteError) -> Any:
    return jsonify({"error": str(exc), "errors": exc.errors}), exc.status


# ---------------------------------------------------------------------- routes
@bp.get("")
def summary() -> Any:
    """Notification destinations (never their addresses), their delivery status and the choices for filters."""
    return jsonify(notify_summary(web_context()))


@bp.put("/settings")
def put_settings() -> Any:
    """Set the page address messages link to: {"web_url": "http://…" or null}."""
    ctx = web_context()
    try:
        save_web_url(ctx, json_body())
    except ConfigWriteError as exc:
        return _write_error(exc)
    return jsonify(link_json(ctx))


@bp.put("/destinations/<name>")
def put_destination(name: str) -> Any:
    """Add or change a destination: {"url"?, "enabled", "cameras", "labels", "zones", "only_armed", "attach_snapshot", "min_interval"}."""
    ctx = web_context()
    try:
        config = save_destination(ctx, name, json_body())
    except ConfigWriteError as exc:
        return _write_error(exc)
    return jsonify(destination_json(ctx, name, config.notify.destinations[name]))


@bp.delete("/destinations/<name>")
def remove_destination(name: str) -> Any:
    """Delete a destination (and the file holding its address)."""
    try:
        delete_destination(web_context(), name)
    except ConfigWriteError as exc:
        return _write_error(exc)
    return jsonify({"deleted": name})


@bp.post("/test")
def test_destination() -> Any:
    """Send a test message now: {"name": saved destination} or {"url": typed address, "name"?}."""
    ctx = web_context()
    body = json_body()
    if (not isinstance(body, dict) or set(body) - {"name", "url"}
            or not all(isinstance(body[key], str) for key in body)):
        raise BadRequest('the body must be {"name": "..."} or {"url": "..."}')
    name = body.get("name") if isinstance(body.get("name"), str) else None
    if len(body.get("url", "")) > MAX_URL_LENGTH:  # what a destination may hold (its save refuses it too)
        raise BadRequest(f"url: must be a string of at most {MAX_URL_LENGTH} characters")
    url = body.get("url").strip() if isinstance(body.get("url"), str) else ""
    saved = not url
    if saved:
        destination = ctx.config.notify.destinations.get(name or "")
        if destination is None:
            raise NotFound(f"no destination {name!r}")
        url = destination.url.get_secret_value()
    else:
        try:
            check_apprise_url(url)
        except ValueError as exc:
            raise BadRequest(f"url: {exc}") from None
    result = send(url, probe_text(name or "new destination"))
    _LOGGER.info("test notification to %s: %s", name or "a new destination", "sent" if result.ok else result.error)
    if saved and name:  # a saved destination's test counts like a delivery
        record_test(ctx.state, ctx.data_dir, name, result.ok, result.error)
    return jsonify({"ok": result.ok, "error": result.error, "service": describe_url(url)})
