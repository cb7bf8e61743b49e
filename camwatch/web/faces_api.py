"""Gallery API of known faces (a Flask blueprint).

    GET    /api/faces                    people: [{name, samples, created}], recognition
    POST   /api/faces          {"name"}  add a person (no face yet)
    GET    /api/faces/<name>             one person and the ids of their crops
    GET    /api/faces/<name>/<id>.jpg    one enrolled crop
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
from flask import Blueprint, Response, current_app, jsonify, request, send_file

from camwatch.events.snapshots import snapshot_path
from camwatch.faces.enrol import FaceFinder, decode_image, enrol_image
from camwatch.faces.gallery import (
    Conflict,
    FaceGallery,
    GalleryError,
    NotFound,
    inner_face_box,
)
from camwatch.paths import snapshots_dir

_LOGGER = logging.getLogger(__name__)

MAX_UPLOAD_BYTES = 10 * 1024 * 1024


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
    def _bad(exc: GalleryError) -> tuple[Response, int]:
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

    @bp.get("/api/faces/<name>")
    def get_person(name: str) -> Any:
        g = the_gallery()
        person = g.get(name)
        crops = [int(p.stem) for p in g.crops(name)]
        return jsonify({**person.to_dict(), "crops": crops})

    @bp.get("/api/faces/<name>/<int:sample_id>.jpg")
    def get_crop(name: str, sample_id: int) -> Any:
        for path in the_gallery().crops(name):
            if path.stem == str(sample_id) and path.is_file():
                return send_file(path, mimetype="image/jpeg", max_age=0)
        return _error(404, "no such crop")

    @bp.post("/api/faces/<name>")
    def enrol(name: str) -> Any:
        g = the_gallery()
        f = the_finder()
        if request.content_length and request.content_length > MAX_UPLOAD_BYTES:
            return _error(413, f"upload larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB")
        if request.files:
            upload = request.files.get("file") or next(iter(request.files.values()))
            image = decode_image(upload.read(MAX_UPLOAD_BYTES + 1))
            if f is None:
                return _error(503, "no face detector available for enrolment")
            sample_id = enrol_image(g, f, name, image, f"upload:{upload.filename or 'photo'}"[:200])
        else:
            body = request.get_json(silent=True)
            if not isinstance(body, dict) or not isinstance(body.get("event_id"), str):
                return _error(400, 'expected a multipart "file" or JSON {"event_id": "..."}')
            sample_id = _enrol_event(g, f, name, body["event_id"], snapshot_dir())
        person = g.get(name)
        return jsonify({**person.to_dict(), "sample_id": sample_id}), 201

    @bp.patch("/api/faces/<name>")
    def rename(name: str) -> Any:
        body = request.get_json(silent=True)
        if not isinstance(body, dict) or "name" not in body:
            return _error(400, 'expected JSON {"name": "new name"}')
        return jsonify(the_gallery().rename(name, body["name"]).to_dict())

    @bp.delete("/api/faces/<name>")
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


faces_bp = make_faces_blueprint()
