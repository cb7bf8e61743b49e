"""Pages where the homeowner manages camwatch without a terminal: cameras, notifications, known faces.

The pages render the current state; their scripts (cameras.js, notify.js, faces.js) change it
through the JSON API (``/api/cameras``, ``/api/notify``, ``/api/faces``), with the session's
CSRF token.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template

from camwatch.web.auth import web_context
from camwatch.web.camera_settings import settings_summary
from camwatch.web.notify_api import notify_summary

bp = Blueprint("manage", __name__)


@bp.get("/cameras")
def cameras() -> Any:
    """Cameras: add one (network stream, USB or file), test it, change it, remove it."""
    return render_template("cameras.html", summary=settings_summary(web_context()))


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
