"""The faces of recorded events on the web: "Who is this?" groups, naming and dismissing them,
correcting the name of an event, and the per-camera alert on faces nobody knows.

    GET  /api/faces/unknown?limit=N        unnamed event faces: ``groups`` (one per person) and ``faces``
    GET  /api/faces/unknown/<id>.jpg       one stored face of an event
    POST /api/faces/unknown/dismiss        {"event_ids": [...]}: out of "Who is this?"
    GET  /api/faces/unknown/alerts         per camera: alert on a face nobody knows?
    PUT  /api/faces/unknown/alerts         {"camera", "unknown_alert": bool} (written to config.yml)
    PUT  /api/faces/events/<event id>      {"name": "Ben" | null}: "this is not X" — the event's
                                           sample moves to Ben (or is dropped) and the event says so

Naming from events (``POST /api/faces/<name>`` with ``event_ids``) is in ``faces_api`` and uses
``enrol_events`` below.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, jsonify, request, send_file, url_for
from ruamel.yaml.comments import CommentedMap

from camwatch.config.faces import FacesConfig
from camwatch.config.writer import ConfigWriteError, ConfigWriter, set_path
from camwatch.const import EVENT_UPDATE, TOPIC_EVENT
from camwatch.events.model import EventMessage
from camwatch.events.snapshots import is_valid_event_id, snapshot_path
from camwatch.faces.enrol import FaceFinder
from camwatch.faces.event_faces import DISMISSED, NAMED, Candidate
from camwatch.faces.from_events import (
    SampleRules,
    enrol_candidates,
    group_unnamed,
    legacy_candidate,
)
from camwatch.faces.gallery import FaceGallery, GalleryError, NotFound, validate_name
from camwatch.faces.naming import UNKNOWN

_LOGGER = logging.getLogger(__name__)

UNKNOWN_DEFAULT = 24  # groups (and faces) listed
UNKNOWN_MAX = 100
SCAN_EVENTS = 400  # recent face events looked through for unnamed ones
MAX_EVENT_IDS = 500  # events named or dismissed in one request


@dataclass
class FacesAccess:
    """What the routes read, resolved per request (explicit objects or the app's context)."""

    gallery: Callable[[], FaceGallery | None]
    finder: Callable[[], FaceFinder | None]
    snapshots: Callable[[], Path | None]
    context: Callable[[], Any]

    def store(self) -> Any:
        return getattr(self.context(), "store", None)

    def faces_config(self) -> FacesConfig:
        config = getattr(self.context(), "config", None)
        return config.faces if config is not None else FacesConfig()

    def rules(self) -> SampleRules:
        faces = self.faces_config()
        return SampleRules(faces.recognition_min_size, faces.min_sharpness)

    def camera_name(self, camera: str) -> str:
        config = getattr(self.context(), "config", None)
        cam = config.cameras.get(camera) if config is not None else None
        return (cam.name if cam is not None and cam.name else None) or camera


def _error(status: int, message: str) -> tuple[Response, int]:
    return jsonify({"error": message}), status


def event_ids_of(body: Any) -> list[str]:
    """``event_ids`` (or one ``event_id``) of a JSON body, validated; GalleryError otherwise."""
    if not isinstance(body, dict):
        raise GalleryError('expected JSON {"event_ids": [...]}')
    ids = body.get("event_ids", [body["event_id"]] if "event_id" in body else None)
    if not isinstance(ids, list) or not ids or len(ids) > MAX_EVENT_IDS:
        raise GalleryError(f"event_ids: a list of 1 to {MAX_EVENT_IDS} event ids")
    if not all(isinstance(i, str) and is_valid_event_id(i) for i in ids):
        raise GalleryError("event_ids: not an event id")
    return list(dict.fromkeys(ids))


def relabel(store: Any, event_id: str, name: str, how: str) -> str | None:
    """Give a recorded event its face's name as the homeowner said; returns the old name."""
    event = store.get(event_id) if store is not None else None
    if event is None:
        return None
    was = event.sub_label
    event.sub_label, event.sub_label_score = name, None
    event.attributes["face_named"] = {"name": name, "was": was, "by": how, "time": round(time.time(), 3)}
    store.handle(TOPIC_EVENT, EventMessage(EVENT_UPDATE, event))
    return was


def _candidates(access: FacesAccess, event_ids: list[str]) -> list[Candidate]:
    gallery = access.gallery()
    assert gallery is not None
    stored = gallery.events.candidates(event_ids)
    pool = [c for event_id in event_ids for c in stored.get(event_id, [])]
    directory = access.snapshots()
    if not pool and directory is not None:  # events recorded before faces were kept per event
        for event_id in event_ids:
            legacy = legacy_candidate(snapshot_path(directory, event_id, "face"), event_id)
            if legacy is not None:
                pool.append(legacy)
    return pool


def enrol_events(access: FacesAccess, name: str, event_ids: list[str]) -> list[int]:
    """Enrol the best faces of these events as ``name``; the events then carry the name."""
    gallery = access.gallery()
    assert gallery is not None
    pool = _candidates(access, event_ids)
    if not pool:
        raise NotFound("these events have no face on the device" if len(event_ids) > 1 else
                       f"event {event_ids[0]} has no face crop")
    ids = enrol_candidates(gallery, access.finder(), name, pool, access.rules(), f"event:{event_ids[0]}")
    clean = gallery.get(name).name
    for event_id in event_ids:
        relabel(access.store(), event_id, clean, "named")
    gallery.events.mark(event_ids, f"{NAMED}:{clean}")
    return ids


def _unnamed(access: FacesAccess, limit: int) -> tuple[list[Any], dict[str, list[Candidate]]]:
    gallery, store = access.gallery(), access.store()
    if store is None or gallery is None:
        return [], {}
    known = {p.name.lower() for p in gallery.people()}
    enrolled = gallery.sources()
    handled = gallery.events.handled()
    events, _ = store.query(has_face=True, limit=SCAN_EVENTS)
    unnamed = [e for e in events if (e.sub_label or "").lower() not in known and e.id not in handled
               and f"event:{e.id}" not in enrolled]
    return unnamed, gallery.events.candidates([e.id for e in unnamed])


def register_event_face_routes(bp: Blueprint, access: FacesAccess) -> None:
    """Add the routes above to the faces blueprint."""

    def face_url(event: Any, best: Candidate | None) -> str:
        if best is not None and best.id is not None:
            return url_for(f"{bp.name}.unknown_face_crop", face_id=best.id)
        return url_for("api.event_face", event_id=event.id)

    @bp.get("/api/faces/unknown")
    def unknown_faces() -> Any:
        """Unnamed event faces, newest first: ``groups`` (one per person) and ``faces`` (per event)."""
        text = request.args.get("limit", str(UNKNOWN_DEFAULT))
        if not text.isdigit() or not 1 <= int(text) <= UNKNOWN_MAX:
            return _error(400, f"limit: must be an integer from 1 to {UNKNOWN_MAX}")
        limit = int(text)
        events, stored = _unnamed(access, limit)
        by_id = {e.id: e for e in events}
        gallery = access.gallery()
        similarity = gallery.embedder.similarity if gallery is not None and gallery.embedder else None
        groups = group_unnamed([e.id for e in events], stored, similarity) if similarity else [
            group for e in events for group in group_unnamed([e.id], stored, None)]
        rules = access.rules()
        out = []
        for group in groups[:limit]:
            members = [by_id[i] for i in group.events]
            latest = members[0]
            best = group.best
            if best is None and access.snapshots() is not None:
                best = legacy_candidate(snapshot_path(access.snapshots(), latest.id, "face"), latest.id)
            reason = rules.reason(best.width, best.sharpness) if best is not None else None
            out.append({
                "key": latest.id, "events": group.events, "count": len(group.events),
                "cameras": sorted({access.camera_name(e.camera) for e in members}),
                "first_time": min(e.start_time for e in members), "last_time": latest.start_time,
                "face_url": face_url(latest, group.best), "event_url": url_for("pages.event", event_id=latest.id),
                "sub_label": latest.sub_label, "usable": reason is None, "reason": reason,
            })
        faces = [{
            "event_id": e.id, "camera": e.camera, "camera_name": access.camera_name(e.camera),
            "start_time": e.start_time, "face_score": e.face_score, "sub_label": e.sub_label,
            "face_url": url_for("api.event_face", event_id=e.id), "event_url": url_for("pages.event", event_id=e.id),
        } for e in events[:limit]]
        return jsonify({"groups": out, "faces": faces})

    @bp.get("/api/faces/unknown/<int(max=9223372036854775807):face_id>.jpg")
    def unknown_face_crop(face_id: int) -> Any:
        gallery = access.gallery()
        path = gallery.events.path(face_id) if gallery is not None else None
        if path is None or not path.is_file():
            return _error(404, "no such face")
        return send_file(path, mimetype="image/jpeg", max_age=0)

    @bp.post("/api/faces/unknown/dismiss")
    def dismiss() -> Any:
        ids = event_ids_of(request.get_json(silent=True))
        access.gallery().events.mark(ids, DISMISSED)  # type: ignore[union-attr]
        return jsonify({"dismissed": len(ids)})

    @bp.get("/api/faces/unknown/alerts")
    def unknown_alerts() -> Any:
        config = getattr(access.context(), "config", None)
        cameras = config.cameras.items() if config is not None else []
        return jsonify({"cameras": [
            {"camera": name, "name": cam.name or name, "unknown_alert": cam.faces.unknown_alert} for name, cam in cameras
        ]})

    @bp.put("/api/faces/unknown/alerts")
    def set_unknown_alert() -> Any:
        body = request.get_json(silent=True)
        if not isinstance(body, dict) or not isinstance(body.get("camera"), str) or not isinstance(
            body.get("unknown_alert"), bool
        ):
            return _error(400, 'expected JSON {"camera": "...", "unknown_alert": true or false}')
        ctx = access.context()
        camera, wanted = body["camera"], body["unknown_alert"]
        if ctx is None or camera not in ctx.config.cameras:
            return _error(404, f"no camera {camera!r}")
        if ctx.config_path is None:
            return _error(409, "camwatch runs without a config file: the setting cannot be saved")

        def change(doc: CommentedMap) -> None:
            cameras = doc.get("cameras")
            if not isinstance(cameras, dict) or not isinstance(cameras.get(camera), dict):
                raise ConfigWriteError(f"camera {camera!r} is not in {ctx.config_path}", 409)
            set_path(cameras[camera], ["faces", "unknown_alert"], wanted)

        try:
            config = ConfigWriter(ctx.config_path, ctx.config_lock).update(change)
        except ConfigWriteError as exc:
            return _error(exc.status, str(exc))
        ctx.use_config(config)
        _LOGGER.info("camera %s: alert on unknown faces %s", camera, "on" if wanted else "off")
        return jsonify({"camera": camera, "unknown_alert": wanted})

    @bp.put("/api/faces/events/<event_id>")
    def correct_event(event_id: str) -> Any:
        """ "This is not X": the event's face is ``name`` (its sample moves there), or nobody known
        (``null``: its sample is dropped)."""
        body = request.get_json(silent=True)
        if not isinstance(body, dict) or "name" not in body:
            return _error(400, 'expected JSON {"name": "the right name"} or {"name": null}')
        store = access.store()
        event = store.get(event_id) if store is not None and is_valid_event_id(event_id) else None
        if event is None:
            return _error(404, f"no event {event_id}")
        gallery = access.gallery()
        assert gallery is not None
        name = body["name"]
        samples = gallery.samples_from(f"event:{event_id}")
        if name is not None:
            clean = validate_name(name)  # the gallery's one name rule (GalleryError: 400)
            name = gallery.get(clean).name if _exists(gallery, clean) else gallery.create(clean).name
        for sample_id in samples:
            gallery.move_sample(sample_id, name)
        added, note = 0, None
        if name is not None and not samples:
            try:
                added = len(enrol_candidates(gallery, access.finder(), name, _candidates(access, [event_id]),
                                             access.rules(), f"event:{event_id}"))
            except GalleryError as exc:  # the label is still corrected; the page says why no face was kept
                note = str(exc)
        was = relabel(store, event_id, name or UNKNOWN, "corrected")
        gallery.events.mark([event_id], f"{NAMED}:{name}" if name else DISMISSED)
        _LOGGER.info("event %s: face corrected from %s to %s", event_id, was, name or UNKNOWN)
        return jsonify({"event_id": event_id, "name": name, "was": was, "moved": len(samples) if name else 0,
                        "dropped": 0 if name else len(samples), "added": added, "note": note})


def _exists(gallery: FaceGallery, name: str) -> bool:
    try:
        gallery.get(name)
    except NotFound:
        return False
    return True
