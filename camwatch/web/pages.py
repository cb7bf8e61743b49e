"""The HTML pages: dashboard, events, event, zones editor, system, API tokens."""

from __future__ import annotations

import math
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from werkzeug.exceptions import BadRequest

from camwatch.anomaly.schedule import ArmSchedule
from camwatch.events.snapshots import is_valid_event_id
from camwatch.web.accounts import DEFAULT_SCOPE
from camwatch.web.api import camera_json, event_json
from camwatch.web.auth import accounts, web_context
from camwatch.web.filters import event_query, parse_int
from camwatch.web.stats import system_stats

bp = Blueprint("pages", __name__)

PAGE_SIZE = 24
MAX_PAGE = 10**6  # far beyond any store; keeps the offset a small integer


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
        "camera": list(ctx.config.cameras),
        "label": store.distinct("label"),
        "zones": store.distinct("zones"),
        "subtype": store.distinct("subtype"),
    }
    return render_template(
        "events.html", events=[event_json(e) for e in found], total=total, page=page, pages=pages,
        page_url=page_url, args=request.args, options=options, error=error,
    ), (400 if error else 200)


@bp.get("/events/<event_id>")
def event(event_id: str) -> Any:
    """One event: snapshot, zones, scores; delete and keep."""
    found = web_context().store.get(event_id) if is_valid_event_id(event_id) else None
    if found is None:
        abort(404, f"No event {event_id}.")
    return render_template("event.html", event=event_json(found))


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
