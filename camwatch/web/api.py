"""The JSON REST API under ``/api/``: events (with their story and what the owner has seen),
snapshots, cameras, zones, control, stats, tokens."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, current_app, jsonify, request, send_file, url_for
from werkzeug.exceptions import BadRequest, NotFound

from camwatch.control import ControlError
from camwatch.events.model import Event
from camwatch.events.snapshots import is_valid_event_id
from camwatch.events.story import tell
from camwatch.state import CameraStatus
from camwatch.web.accounts import DEFAULT_SCOPE
from camwatch.web.auth import accounts, web_context
from camwatch.web.filters import event_query
from camwatch.web.limits import MAX_SECONDS
from camwatch.web.present import camera_name
from camwatch.web.stats import system_stats
from camwatch.web.zones import ZoneEditError, camera_zones, save_zones

bp = Blueprint("api", __name__, url_prefix="/api")

_DISTINCT_FIELDS = ("camera", "label", "zones", "subtype", "sub_label", "kind")


def event_json(event: Event, seen: bool | None = None) -> dict[str, Any]:
    """The event as the API gives it; ``seen`` (whether the owner looked at it) when known."""
    data = event.to_dict()
    data["camera_name"] = camera_name(web_context().config, event.camera)
    if seen is not None:
        data["seen"] = seen
    data["snapshot_url"] = url_for("api.event_snapshot", event_id=event.id) if event.has_snapshot else None
    data["thumbnail_url"] = url_for("api.event_thumbnail", event_id=event.id) if event.has_snapshot else None
    data["face_url"] = url_for("api.event_face", event_id=event.id) if event.has_face else None
    return data


def json_body() -> Any:
    """The request's JSON body; a 400 with the reason when it is missing or not valid JSON."""
    if not request.is_json:
        raise BadRequest("the body must be JSON (Content-Type: application/json)")
    try:
        return current_app.json.loads(request.get_data(cache=True))
    except ValueError as exc:  # also too deep nesting: see camwatch.web.app.JsonProvider
        raise BadRequest(f"the body is not valid JSON ({exc})") from None


def events_json(events: list[Event]) -> list[dict[str, Any]]:
    """Events for a list, each saying whether the owner has seen it."""
    unseen = web_context().store.review.unseen_among(e.id for e in events)
    return [event_json(e, e.id not in unseen) for e in events]


def seen_event_json(event: Event) -> dict[str, Any]:
    return events_json([event])[0]


def story_json(event: Event) -> list[dict[str, Any]]:
    """The event's moments with their plain words (``text``)."""
    return [{**m.to_dict(), "text": tell(m, event.label)} for m in web_context().store.review.story(event)]


def find_event(event_id: str) -> Event:
    event = web_context().store.get(event_id) if is_valid_event_id(event_id) else None
    if event is None:
        raise NotFound(f"no event {event_id!r}")
    return event


def check_camera(camera: str) -> None:
    if camera not in web_context().config.cameras:
        raise NotFound(f"unknown camera {camera!r}")


def camera_json(name: str) -> dict[str, Any]:
    ctx = web_context()
    cam = ctx.config.cameras[name]
    # A disabled camera has no live status: every field a running one has, state "disabled".
    status = ctx.state.cameras().get(name) or CameraStatus(name, state="disabled").to_dict()
    still = ctx.state.still(name)
    switches = ctx.control.snapshot()["cameras"].get(name, {})
    return {
        "name": name,
        "display_name": camera_name(ctx.config, name),
        "enabled": cam.enabled,
        "status": status,
        "switches": switches,
        "zones": list(cam.zones),
        "detector_ms": ctx.state.detector.get("inference_ms"),
        "still_time": still[0] if still else None,
        "still_url": url_for("api.camera_latest", camera=name) if still else None,
    }


# ---------------------------------------------------------------------- routes
@bp.get("/health")
def health() -> Any:
    """Liveness check (no login): status and version only."""
    return jsonify({"status": "ok", "version": web_context().version})


@bp.get("/events")
def events() -> Any:
    """Events matching the filters, newest first, paginated."""
    query = event_query(request.args)
    found, total = web_context().store.query(**query)
    return jsonify({"events": events_json(found), "total": total,
                    "limit": query["limit"], "offset": query["offset"]})


@bp.get("/events/filters")
def event_filters() -> Any:
    """Values present in the store for each filter menu."""
    store = web_context().store
    return jsonify({field: store.distinct(field) for field in _DISTINCT_FIELDS})


@bp.get("/events/unseen")
def unseen_events() -> Any:
    """How many events the owner has not looked at yet."""
    return jsonify({"unseen": web_context().store.review.unseen_count()})


@bp.post("/events/seen")
def mark_events_seen() -> Any:
    """Mark every event seen, or those started up to {"until": Unix seconds}; body {} for all."""
    body = json_body()
    if not isinstance(body, dict) or set(body) - {"until"}:
        raise BadRequest('the body must be {} or {"until": <Unix seconds>}')
    until = body.get("until")
    if "until" in body and (isinstance(until, bool) or not isinstance(until, (int, float))
                            or not 0 <= until <= MAX_SECONDS):
        raise BadRequest(f"until: must be a time in Unix seconds (0..{MAX_SECONDS})")
    review = web_context().store.review
    marked = review.mark_all_seen(until)
    return jsonify({"marked": marked, "unseen": review.unseen_count()})


@bp.get("/events/<event_id:event_id>")
def event(event_id: str) -> Any:
    """One event."""
    return jsonify(seen_event_json(find_event(event_id)))


@bp.get("/events/<event_id:event_id>/story")
def event_story(event_id: str) -> Any:
    """What happened during the event, moment by moment (times, what, plain words)."""
    found = find_event(event_id)
    return jsonify({"event_id": found.id, "story": story_json(found)})


@bp.put("/events/<event_id:event_id>/seen")
def seen_event(event_id: str) -> Any:
    """Mark an event seen or not: body {"seen": true|false}."""
    body = json_body()
    if not isinstance(body, dict) or set(body) != {"seen"} or not isinstance(body["seen"], bool):
        raise BadRequest('the body must be {"seen": true} or {"seen": false}')
    review = web_context().store.review
    found = find_event(event_id)
    if body["seen"]:
        review.mark_seen(found.id)
    else:
        review.mark_unseen(found.id)
    return jsonify(event_json(found, body["seen"]))


@bp.delete("/events/<event_id:event_id>")
def delete_event(event_id: str) -> Any:
    """Delete an event and its snapshots."""
    if not is_valid_event_id(event_id) or not web_context().store.delete(event_id):
        raise NotFound(f"no event {event_id!r}")
    return jsonify({"deleted": event_id})


@bp.put("/events/<event_id:event_id>/keep")
def keep_event(event_id: str) -> Any:
    """Keep an event (exempt from retention) or release it: body {"keep": true|false}."""
    body = json_body()
    if not isinstance(body, dict) or set(body) != {"keep"} or not isinstance(body["keep"], bool):
        raise BadRequest('the body must be {"keep": true} or {"keep": false}')
    find_event(event_id)
    web_context().store.set_keep(event_id, body["keep"])
    return jsonify(seen_event_json(find_event(event_id)))


def _snapshot(event_id: str, kind: str) -> Response:
    event = find_event(event_id)
    path = web_context().store.files.path(event.id, kind)  # type: ignore[arg-type]
    if not path.is_file():
        raise NotFound(f"event {event_id!r} has no {kind} snapshot")
    response = send_file(path, mimetype="image/jpeg", max_age=3600)
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response


@bp.get("/events/<event_id:event_id>/snapshot.jpg")
def event_snapshot(event_id: str) -> Any:
    """The event's best snapshot: ?kind=annotated (default, with box and zones) or clean."""
    kind = request.args.get("kind", "annotated")
    if kind not in ("annotated", "clean"):
        raise BadRequest(f"kind: must be annotated or clean, got {kind!r}")
    return _snapshot(event_id, kind)


@bp.get("/events/<event_id:event_id>/thumbnail.jpg")
def event_thumbnail(event_id: str) -> Any:
    """A small crop around the event's object."""
    return _snapshot(event_id, "thumb")


@bp.get("/events/<event_id:event_id>/face.jpg")
def event_face(event_id: str) -> Any:
    """The event's best face crop."""
    return _snapshot(event_id, "face")


@bp.get("/cameras")
def cameras() -> Any:
    """Every camera with its live status, switches and zones."""
    return jsonify({"cameras": [camera_json(name) for name in web_context().config.cameras]})


@bp.get("/cameras/<camera>")
def camera(camera: str) -> Any:
    """One camera's live status."""
    check_camera(camera)
    return jsonify(camera_json(camera))


@bp.get("/cameras/<camera>/latest.jpg")
def camera_latest(camera: str) -> Any:
    """The camera's latest annotated still (boxes and zones drawn; never the raw stream)."""
    check_camera(camera)
    still = web_context().state.still(camera)
    if still is None:
        raise NotFound(f"camera {camera!r} has no still yet")
    response = Response(still[1], mimetype="image/jpeg")
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Still-Time"] = f"{still[0]:.3f}"
    return response


@bp.get("/cameras/<camera>/zones")
def camera_zones_get(camera: str) -> Any:
    """The camera's zones and motion masks as configured."""
    check_camera(camera)
    return jsonify(camera_zones(web_context().config, camera))


@bp.put("/cameras/<camera>/zones")
def camera_zones_put(camera: str) -> Any:
    """Replace the camera's zones and motion masks (relative 0..1 coordinates); validated, saved, applied."""
    check_camera(camera)
    ctx = web_context()
    try:
        config = save_zones(ctx, camera, json_body())
    except ZoneEditError as exc:
        return jsonify({"error": str(exc)}), exc.status
    return jsonify(camera_zones(config, camera))


@bp.get("/control")
def control() -> Any:
    """Runtime switches: armed, and per camera detect, snapshots, motion and zones."""
    return jsonify(web_context().control.snapshot())


@bp.put("/control")
def control_set() -> Any:
    """Set a switch: {"camera": name or null, "feature": "detect"|"snapshots"|"motion"|"zone:<n>"|"armed", "value": bool}."""
    body = json_body()
    if (
        not isinstance(body, dict)
        or not isinstance(body.get("feature"), str)
        or "value" not in body
        or set(body) - {"camera", "feature", "value"}
    ):
        raise BadRequest('the body must be {"camera": ..., "feature": ..., "value": true|false}')
    camera = body.get("camera")
    if camera is not None and not isinstance(camera, str):
        raise BadRequest("camera: must be a camera name or null")
    try:
        web_context().control.set(camera, body["feature"], body.get("value"))
    except ControlError as exc:
        raise BadRequest(str(exc)) from None
    return jsonify(web_context().control.snapshot())


@bp.get("/stats")
def stats() -> Any:
    """Detector, cameras, CPU and memory, storage, MQTT, version and recent errors."""
    return jsonify(system_stats(web_context()))


@bp.get("/tokens")
def tokens() -> Any:
    """API tokens (owner only; never their secrets)."""
    return jsonify({"tokens": [t.to_dict() for t in accounts().tokens()]})


@bp.post("/tokens")
def token_create() -> Any:
    """Create an API token (owner only): body {"name", "scope"}; the response holds the secret, shown once."""
    body = json_body()
    name = body.get("name") if isinstance(body, dict) else None
    scope = body.get("scope", DEFAULT_SCOPE) if isinstance(body, dict) else None
    if not isinstance(name, str) or not isinstance(scope, str) or set(body) - {"name", "scope"}:
        raise BadRequest('the body must be {"name": "...", "scope": "read"|"control"|"admin"} (scope optional)')
    try:
        token, secret = accounts().create_token(name, scope)
    except ValueError as exc:
        raise BadRequest(str(exc)) from None
    return jsonify({**token.to_dict(), "token": secret}), 201


@bp.delete("/tokens/<token_id>")
def token_revoke(token_id: str) -> Any:
    """Revoke an API token (owner only)."""
    if not accounts().revoke_token(token_id):
        abort(404, f"no token {token_id!r}")
    return jsonify({"revoked": token_id})


@bp.get("/openapi.json")
def openapi() -> Any:
    """This API described as OpenAPI 3.1."""
    from camwatch.web.openapi import build_spec

    return jsonify(build_spec(current_app, web_context().version, web_context().control.snapshot()))
