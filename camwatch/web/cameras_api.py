"""Cameras added, changed, tried and removed from the web page.

    GET    /api/cameras/<camera>/settings   the camera as the form edits it (never its password)
    PUT    /api/cameras/<camera>/settings   add (201) or change (200); saved to config.yml and applied
    DELETE /api/cameras/<camera>            remove (it stops; its recorded events stay)
    POST   /api/cameras/<camera>/test       try a source: one picture, its size and fps, or why not
    GET    /api/usb-cameras                 the USB cameras plugged in

Every change needs the owner's session or an admin token (camwatch.web.auth); the test too,
as it makes this device connect where the request says.
"""

from __future__ import annotations

import base64
import logging
import threading
from typing import Any

from flask import Blueprint, jsonify

from camwatch.config.writer import ConfigWriteError
from camwatch.sources.devices import video_devices
from camwatch.sources.trial import try_source
from camwatch.web.api import json_body
from camwatch.web.auth import web_context
from camwatch.web.camera_settings import (
    CameraEditError,
    camera_settings,
    check_camera_name,
    check_source,
    delete_camera,
    login_for_trial,
    save_camera,
)

_LOGGER = logging.getLogger(__name__)

bp = Blueprint("cameras", __name__, url_prefix="/api")

#: Tests at the same time (each holds a request thread for up to the source's timeouts).
MAX_TRIALS = 2
_TRIALS = threading.BoundedSemaphore(MAX_TRIALS)
_TEST_FIELDS = frozenset({"source", "fps"})


def _error(exc: CameraEditError | ConfigWriteError) -> Any:
    body: dict[str, Any] = {"error": str(exc)}
    if isinstance(exc, ConfigWriteError):
        body["errors"] = exc.errors
    return jsonify(body), exc.status


@bp.get("/cameras/<camera>/settings")
def get_settings(camera: str) -> Any:
    """The camera's source (never its password), display name, labels to watch and detect fps."""
    ctx = web_context()
    cam = ctx.config.cameras.get(camera)
    if cam is None:
        return _error(CameraEditError(f"no camera {camera!r}", 404))
    return jsonify(camera_settings(camera, cam))


@bp.put("/cameras/<camera>/settings")
def put_settings(camera: str) -> Any:
    """Add or change a camera: {"source", "name"?, "enabled"?, "labels"?, "fps"?}; applied without a restart."""
    ctx = web_context()
    try:
        config, created = save_camera(ctx, camera, json_body())
    except (CameraEditError, ConfigWriteError) as exc:
        return _error(exc)
    return jsonify(camera_settings(camera, config.cameras[camera])), 201 if created else 200


@bp.delete("/cameras/<camera>")
def delete(camera: str) -> Any:
    """Remove a camera: it stops at once; its recorded events stay."""
    try:
        delete_camera(web_context(), camera)
    except (CameraEditError, ConfigWriteError) as exc:
        return _error(exc)
    return jsonify({"deleted": camera})


@bp.post("/cameras/<camera>/test")
def test_source(camera: str) -> Any:
    """Try a source with the pipeline's own capture code: {"source", "fps"?} (password left out: the stored one)."""
    ctx = web_context()
    try:
        check_camera_name(camera)
        body = json_body()
        if not isinstance(body, dict) or "source" not in body or set(body) - _TEST_FIELDS:
            raise CameraEditError('the body must be {"source": {...}, "fps"?: number}')
        edit = check_source(body["source"])
        fps = body.get("fps", 5.0)
        if isinstance(fps, bool) or not isinstance(fps, (int, float)) or not 0 < fps <= 60:
            raise CameraEditError("fps: a number of frames per second above 0, at most 60")
    except CameraEditError as exc:
        return _error(exc)
    busy = _device_user(edit.source.url) if edit.source.kind == "usb" else None
    if busy is not None:
        who = "this camera, running now (its picture is on the dashboard)" if busy == camera else f"camera {busy}"
        return jsonify(_answer(False, "busy", f"{edit.source.url} is in use by {who}: a USB camera serves one "
                                              "program at a time"))
    if not _TRIALS.acquire(blocking=False):
        return jsonify({"error": f"{MAX_TRIALS} tests are running already: try again in a few seconds"}), 503
    try:
        cam = ctx.config.cameras.get(camera)
        options = cam.source if cam is not None else None
        result = try_source(edit.source.url, username=edit.source.username,
                            password=login_for_trial(ctx, camera, edit), options=options, fps=fps, name=camera)
    finally:
        _TRIALS.release()
    _LOGGER.info("camera test for %s: %s", camera, result.message)
    answer = _answer(result.ok, result.reason, result.message)
    answer.update(width=result.width, height=result.height, fps=result.fps, fps_measured=result.fps_measured,
                  seconds=result.seconds)
    if result.jpeg is not None:
        answer["image"] = "data:image/jpeg;base64," + base64.b64encode(result.jpeg).decode("ascii")
    return jsonify(answer)


def _answer(ok: bool, reason: str | None, message: str) -> dict[str, Any]:
    return {"ok": ok, "reason": reason, "message": message, "width": 0, "height": 0, "fps": 0.0,
            "fps_measured": False, "seconds": 0.0, "image": None}


def _device_user(device: str) -> str | None:
    """The enabled camera that has ``device`` open (a V4L2 device has one reader)."""
    for name, cam in web_context().config.cameras.items():
        if cam.enabled and _device_path(cam.url) == device:
            return name
    return None


def _device_path(url: str) -> str:
    return url if url.startswith("/dev/") else f"/dev/video{url}"


@bp.get("/usb-cameras")
def usb_cameras() -> Any:
    """USB cameras plugged in (/dev/videoN, the driver's name) and the camera using each."""
    ctx = web_context()
    users = {_device_path(cam.url): name for name, cam in ctx.config.cameras.items()}
    return jsonify({"devices": [{"path": d.path, "name": d.name, "capture": d.index == 0,
                                 "camera": users.get(d.path)} for d in video_devices()]})
