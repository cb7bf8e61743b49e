"""Pages where the homeowner manages camwatch without a terminal: notifications and known faces.

The pages render the current state; their scripts (notify.js, faces.js) change it through
the JSON API (``/api/notify``, ``/api/faces``), with the session's CSRF token.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template

from camwatch.web.auth import web_context
from camwatch.web.notify_api import notify_summary

bp = Blueprint("manage", __name__)


@bp.get("/notifications")
def notifications() -> Any:
    """Notification destinations: add, edit, test, delete."""
    return render_template("notifications.html", notify=notify_summary(web_context()))


@bp.get("/faces")
def faces() -> Any:
    """Known people with their face crops, and recent faces nobody has named yet."""
    ctx = web_context()
    gallery = ctx.faces_gallery
    recognition = getattr(getattr(gallery, "embedder", None), "name", None)
    return render_template("faces.html", available=gallery is not None, recognition=recognition)
