"""The HTML pages: dashboard, events, event, zones editor, system, API tokens.

Every page names cameras, events and times through :mod:`camwatch.web.present` (template
globals registered here). Opening an event's page marks it seen.
"""

from __future__ import annotations

import logging
import math
import sqlite3
import time
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from werkzeug.exceptions import BadRequest

from camwatch.anomaly.schedule import ArmSchedule
from camwatch.config import CamwatchConfig
from camwatch.events.snapshots import is_valid_event_id
from camwatch.web import present
from camwatch.web.accounts import DEFAULT_SCOPE
from camwatch.web.api import camera_json, events_json, story_json
from camwatch.web.auth import accounts, web_context
from camwatch.web.filters import event_query, parse_int
from camwatch.web.limits import SECONDS
from camwatch.web.stats import system_stats

_LOGGER = logging.getLogger(__name__)

bp = Blueprint("pages", __name__)

PAGE_SIZE = 24
MAX_PAGE = 10**6  # far beyond any store; keeps the offset a small integer


@bp.app_template_global()
def camera_name(camera: str) -> str:
    return present.camera_name(web_context().config, camera)


@bp.app_template_global()
def unseen_count() -> int:
    """Events the owner has not seen (0 when the database cannot say: every page must still show)."""
    try:
        return web_context().store.review.unseen_count()
    except sqlite3.Error as exc:
        _LOGGER.warning("cannot count the unseen events: %s", exc)
        return 0


@bp.app_template_global()
def disarm_effects() -> dict[str, list[str]]:
    """What the Armed switch turns off, and what carries on, for the confirmation."""
    return disarm_summary(web_context().config)


for _helper in (present.event_title, present.face_words, present.words):
    bp.add_app_template_global(_helper)
bp.add_app_template_filter(present.clock_element, "clock")


def disarm_summary(config: CamwatchConfig) -> dict[str, list[str]]:
    destinations = {n: d for n, d in config.notify.destinations.items() if d.enabled}
    armed_only = [n for n, d in destinations.items() if d.only_armed]
    always = [n for n, d in destinations.items() if not d.only_armed]
    stops = [f"Messages to {', '.join(armed_only)}" if armed_only else "No message destination waits for "
             "the alarm (none is set to “only when armed”)"]
    if config.mqtt.enabled:
        stops.append("Alerts to Home Assistant over MQTT (its alert entities stay quiet)")
    goes_on = ["Cameras, detection, events and snapshots: everything is still recorded"]
    if always:
        goes_on.append(f"Messages to {', '.join(always)} (set to send armed or not)")
    return {"stops": stops, "goes_on": goes_on}


@bp.get("/")
def dashboard() -> Any:
    """Dashboard: one card per camera, live."""
    ctx = web_context()
    return render_template("dashboard.html", cameras=[camera_json(n) for n in ctx.config.cameras])


@bp.get("/events")
def events() -> Any:
    """Events list with filters and pagination."""
    ctx = web_context()
    args = request.args.copy()
    page_text = args.pop("page", "1") or "1"
    error = None
    found: list[Any] = []
    total = 0
    page = 1
    try:
        page = parse_int("page", page_text, 1, MAX_PAGE)
        for name in ("limit", "offset", "order"):
            args.pop(name, None)
        query = event_query(args)
        query.update(limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
        found, total = ctx.store.query(**query)
    except BadRequest as exc:
        error = exc.description
    pages = max(1, math.ceil(total / PAGE_SIZE))
    kept = {k: v for k, v in request.args.items() if k != "page" and v}

    def page_url(number: int) -> str:
        return url_for("pages.events") + "?" + urlencode({**kept, "page": number})

    store = ctx.store
    options = {
        "camera": [(c, present.camera_name(ctx.config, c)) for c in ctx.config.cameras],
        "label": store.distinct("label"),
        "zones": store.distinct("zones"),
        "subtype": store.distinct("subtype"),
    }
    return render_template(
        "events.html", events=events_json(found), total=total, page=page, pages=pages,
        page_url=page_url, args=request.args, options=options, error=error, shown_at=time.time(),
    ), (400 if error else 200)


@bp.post("/events/seen")
def events_seen() -> Any:
    """Mark all seen: every event that started before the list was shown (``until``)."""
    text = request.form.get("until", "")
    if text and not SECONDS.fullmatch(text):
        abort(400, "until: must be a time in Unix seconds.")
    until = float(text) if text else None
    marked = web_context().store.review.mark_all_seen(until)
    flash(f"{marked} event{'s' if marked != 1 else ''} marked seen." if marked else "Nothing new to mark.")
    return redirect(url_for("pages.events"))


@bp.get("/events/<event_id:event_id>")  # an id starts with a digit: /events/seen is not one
def event(event_id: str) -> Any:
    """One event: its story, snapshot (with or without boxes), face; delete and keep. Marks it seen."""
    store = web_context().store
    found = store.get(event_id) if is_valid_event_id(event_id) else None
    if found is None:
        abort(404, f"No event {event_id}.")
    try:
        store.review.mark_seen(found.id)
    except sqlite3.Error as exc:  # a full or read-only disk: the event is still shown
        _LOGGER.warning("cannot mark event %s seen: %s", found.id, exc)
    return render_template("event.html", event=events_json([found])[0], story=story_json(found))


@bp.post("/events/<event_id>/delete")
def event_delete(event_id: str) -> Any:
    if not is_valid_event_id(event_id) or not web_context().store.delete(event_id):
        abort(404, f"No event {event_id}.")
    flash("Event deleted.")
    return redirect(url_for("pages.events"))


@bp.post("/events/<event_id>/keep")
def event_keep(event_id: str) -> Any:
    if request.form.get("keep") not in ("0", "1"):
        abort(400, "keep: must be 0 or 1.")
    keep = request.form.get("keep") == "1"
    if not is_valid_event_id(event_id) or not web_context().store.set_keep(event_id, keep):
        abort(404, f"No event {event_id}.")
    flash("Event kept: retention will not delete it." if keep else "Event no longer kept.")
    return redirect(url_for("pages.event", event_id=event_id))


@bp.get("/zones")
def zones_index() -> Any:
    cameras = list(web_context().config.cameras)
    if not cameras:  # nothing to draw on yet: the page where cameras are added
        flash("Add a camera first: zones are drawn on its picture.")
        return redirect(url_for("manage.cameras"))
    return redirect(url_for("pages.zones", camera=cameras[0]))


@bp.get("/zones/<camera>")
def zones(camera: str) -> Any:
    """Zones and masks editor on the camera's latest still."""
    ctx = web_context()
    if camera not in ctx.config.cameras:
        abort(404, f"No camera {camera}.")
    return render_template("zones.html", camera=camera, cameras=list(ctx.config.cameras),
                           writable=ctx.config_path is not None)


@bp.get("/system")
def system() -> Any:
    """System health."""
    ctx = web_context()
    schedule = ArmSchedule(ctx.config.alerts, ctx.control).status()
    return render_template("system.html", stats=system_stats(ctx), schedule=schedule)


@bp.get("/tokens")
def tokens() -> Any:
    """API tokens: create (shown once) and revoke."""
    return render_template("tokens.html", tokens=accounts().tokens(), new_secret=None, error=None)


@bp.post("/tokens")
def token_create() -> Any:
    try:
        token, secret = accounts().create_token(request.form.get("name", ""), request.form.get("scope", DEFAULT_SCOPE))
    except ValueError as exc:
        return render_template("tokens.html", tokens=accounts().tokens(), new_secret=None, error=str(exc)), 400
    return render_template("tokens.html", tokens=accounts().tokens(), new_secret=secret, new_name=token.name,
                           error=None)


@bp.post("/tokens/<token_id>/revoke")
def token_revoke(token_id: str) -> Any:
    if not accounts().revoke_token(token_id):
        abort(404, "No such token.")
    flash("Token revoked.")
    return redirect(url_for("pages.tokens"))
