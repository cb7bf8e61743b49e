"""Gallery API of known faces (a Flask blueprint).

    GET    /api/faces                    people: [{name, samples, created}], recognition
    POST   /api/faces          {"name"}  add a person (no face yet)
    GET    /api/faces/unknown            recent event faces that are neither recognised nor enrolled
    GET    /api/faces/<name>             one person, the ids of their crops, ``sample_list`` (id,
                                         source, created, embedded, url of the crop)
    GET    /api/faces/<name>/<id>.jpg    one enrolled crop
    DELETE /api/faces/<name>/<id>        delete one sample (its embedding and its crop)
    POST   /api/faces/<name>             enrol a face: multipart ``file`` (a photo) or
                                         JSON {"event_id": ...} (that event's face crop)
    PATCH  /api/faces/<name>   {"name"}  rename
    DELETE /api/faces/<name>             delete the person, their crops and embeddings

Register with ``app.register_blueprint(faces_bp)``: it reads ``faces_gallery`` and
``faces_finder`` (and ``data_dir`` for event crops) from ``current_app.extensions["camwatch"]``.
Or build one bound to explicit objects with ``make_faces_blueprint(gallery, finder, snapshots)``.
Authentication and CSRF come from the app's global ``before_request`` guard.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import cv2
from flask import Blueprint, Response, current_app, jsonify, request, send_file, url_for
from werkzeug.routing import BaseConverter

from camwatch.events.snapshots import snapshot_path
from camwatch.faces.enrol import PHOTO_SIDE, FaceFinder, enrol_image
from camwatch.faces.gallery import (
    Conflict,
    FaceGallery,
    GalleryError,
    NotFound,
    inner_face_box,
)
from camwatch.imaging import ImageRefused, decode_untrusted
from camwatch.names import printable
from camwatch.paths import snapshots_dir

_LOGGER = logging.getLogger(__name__)

MAX_UPLOAD_BYTES = 10 * 1024 * 1024
UNKNOWN_DEFAULT = 24  # recent unrecognised faces listed
UNKNOWN_MAX = 100


#: Sample ids are SQLite integers: larger ones are no sample (404), never an overflow.
MAX_SAMPLE_ID = 2**63 - 1


class PersonConverter(BaseConverter):
    """A person's name in a URL: anything but the word ``unknown`` (a reserved name), which is
    the list of unnamed faces — so ``/api/faces/unknown`` allows GET only, and says so."""

    regex = r"(?!unknown$)[^/]+"


def _error(status: int, message: str) -> tuple[Response, int]:
    return jsonify({"error": message}), status


def make_faces_blueprint(
    gallery: FaceGallery | None = None,
    finder: FaceFinder | None = None,
    snapshots: Path | None = None,
    name: str = "faces",
) -> Blueprint:
    """A gallery blueprint; unset parts are read from ``current_app.extensions["camwatch"]``."""
    bp = Blueprint(name, __name__)
    # before the routes: the app knows the converter when they are added
    bp.record_once(lambda state: state.app.url_map.converters.setdefault("person", PersonConverter))

    def context() -> Any:
        return current_app.extensions.get("camwatch")

    def the_gallery() -> FaceGallery | None:
        return gallery if gallery is not None else getattr(context(), "faces_gallery", None)

    def the_finder() -> FaceFinder | None:
        return finder if finder is not None else getattr(context(), "faces_finder", None)

    def snapshot_dir() -> Path | None:
        if snapshots is not None:
            return snapshots
        data_dir = getattr(context(), "data_dir", None)
        return snapshots_dir(Path(data_dir)) if data_dir else None

    @bp.errorhandler(NotFound)
    def _not_found(exc: NotFound) -> tuple[Response, int]:
        return _error(404, str(exc))

    @bp.errorhandler(Conflict)
    def _conflict(exc: Conflict) -> tuple[Response, int]:
        return _error(409, str(exc))

    @bp.errorhandler(GalleryError)
    @bp.errorhandler(ImageRefused)
    def _bad(exc: GalleryError | ImageRefused) -> tuple[Response, int]:
        return _error(400, str(exc))

    @bp.before_request
    def _needs_gallery() -> tuple[Response, int] | None:
        if the_gallery() is None:
            return _error(503, "face gallery is not available (faces are disabled)")
        return None

    @bp.get("/api/faces")
    def list_people() -> Any:
        g = the_gallery()
        return jsonify(
            {
                "people": [p.to_dict() for p in g.people()],
                "recognition": g.embedder.name if g.embedder else None,
            }
        )

    @bp.post("/api/faces")
    def create_person() -> Any:
        body = request.get_json(silent=True)
        if not isinstance(body, dict) or "name" not in body:
            return _error(400, 'expected JSON {"name": "..."}')
        person = the_gallery().create(body["name"])
        return jsonify(person.to_dict()), 201

    @bp.get("/api/faces/unknown")
    def unknown_faces() -> Any:
        """Recent event faces that are neither recognised nor enrolled, newest first: ?limit=1..100."""
        text = request.args.get("limit", str(UNKNOWN_DEFAULT))
        if not text.isdigit() or not 1 <= int(text) <= UNKNOWN_MAX:
            return _error(400, f"limit: must be an integer from 1 to {UNKNOWN_MAX}")
        store = getattr(context(), "store", None)
        found = _unknown_faces(the_gallery(), store, int(text)) if store is not None else []
        return jsonify({"faces": found})

    @bp.get("/api/faces/<person:name>")
    def get_person(name: str) -> Any:
        g = the_gallery()
        person = g.get(name)
        crops = [int(p.stem) for p in g.crops(name)]
        sample_list = [
            {**sample.to_dict(), "url": url_for(f"{bp.name}.get_crop", name=person.name, sample_id=sample.id)}
            for sample in g.samples(name)
        ]
        return jsonify({**person.to_dict(), "crops": crops, "sample_list": sample_list})

    @bp.delete(f"/api/faces/<name>/<int(max={MAX_SAMPLE_ID}):sample_id>")
    def delete_sample(name: str, sample_id: int) -> Any:
        """Delete one enrolled face of a person: its crop and its embedding."""
        g = the_gallery()
        g.delete_sample(name, sample_id)
        return jsonify({**g.get(name).to_dict(), "deleted_sample": sample_id})

    @bp.get(f"/api/faces/<name>/<int(max={MAX_SAMPLE_ID}):sample_id>.jpg")
    def get_crop(name: str, sample_id: int) -> Any:
        for path in the_gallery().crops(name):
            if path.stem == str(sample_id) and path.is_file():
                return send_file(path, mimetype="image/jpeg", max_age=0)
        return _error(404, "no such crop")

    @bp.post("/api/faces/<person:name>")
    def enrol(name: str) -> Any:
        g = the_gallery()
        f = the_finder()
        if request.content_length and request.content_length > MAX_UPLOAD_BYTES:
            return _error(413, f"upload larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB")
        if request.files:
            upload = request.files.get("file") or next(iter(request.files.values()))
            image = decode_untrusted(upload.read(MAX_UPLOAD_BYTES + 1), PHOTO_SIDE)
            if f is None:
                return _error(503, "no face detector available for enrolment")
            sample_id = enrol_image(g, f, name, image, f"upload:{printable(upload.filename or 'photo')}"[:200])
        else:
            body = request.get_json(silent=True)
            if not isinstance(body, dict) or not isinstance(body.get("event_id"), str):
                return _error(400, 'expected a multipart "file" or JSON {"event_id": "..."}')
            sample_id = _enrol_event(g, f, name, body["event_id"], snapshot_dir())
        person = g.get(name)
        return jsonify({**person.to_dict(), "sample_id": sample_id}), 201

    @bp.patch("/api/faces/<person:name>")
    def rename(name: str) -> Any:
        body = request.get_json(silent=True)
        if not isinstance(body, dict) or "name" not in body:
            return _error(400, 'expected JSON {"name": "new name"}')
        return jsonify(the_gallery().rename(name, body["name"]).to_dict())

    @bp.delete("/api/faces/<person:name>")
    def delete(name: str) -> Any:
        the_gallery().delete(name)
        return jsonify({"deleted": name})

    return bp


def _enrol_event(
    gallery: FaceGallery, finder: FaceFinder | None, name: str, event_id: str, directory: Path | None
) -> int:
    if directory is None:
        raise GalleryError("event snapshots are not available")
    try:
        path = snapshot_path(directory, event_id, "face")
    except ValueError as exc:
        raise GalleryError(str(exc)) from None
    crop = cv2.imread(str(path)) if path.is_file() else None
    if crop is None:
        raise NotFound(f"event {event_id} has no face crop")
    face = finder.find(crop) if finder is not None else None
    # The crop was cut with CROP_MARGIN around the face: fall back to that box.
    box = face.box if face is not None else inner_face_box(crop.shape[1], crop.shape[0])
    return gallery.enrol(name, crop, box, f"event:{event_id}")


def _unknown_faces(gallery: FaceGallery, store: Any, limit: int) -> list[dict[str, Any]]:
    known = {p.name.lower() for p in gallery.people()}
    enrolled = gallery.sources()
    found: list[dict[str, Any]] = []
    offset = 0
    while len(found) < limit and offset < 20 * UNKNOWN_MAX:  # a bounded look back through the store
        events, total = store.query(has_face=True, limit=UNKNOWN_MAX, offset=offset)
        for event in events:
            if (event.sub_label or "").lower() in known or f"event:{event.id}" in enrolled:
                continue
            found.append({
                "event_id": event.id, "camera": event.camera, "start_time": event.start_time,
                "face_score": event.face_score, "sub_label": event.sub_label,
                "face_url": url_for("api.event_face", event_id=event.id),
                "event_url": url_for("pages.event", event_id=event.id),
            })
            if len(found) == limit:
                break
        offset += UNKNOWN_MAX
        if offset >= total:
            break
    return found


faces_bp = make_faces_blueprint()
