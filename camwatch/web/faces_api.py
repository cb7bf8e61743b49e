"""Gallery API of known faces (a Flask blueprint).

    GET    /api/faces                    people: [{name, samples, created}], recognition
    POST   /api/faces          {"name"}  add a person (no face yet)
    /api/faces/unknown..., /api/faces/events/<id>   faces of recorded events (``faces_events``)
    GET    /api/faces/<name>             one person, the ids of their crops, ``sample_list`` (id,
                                         source, created, embedded, url of the crop)
    GET    /api/faces/<name>/<id>.jpg    one enrolled crop
    DELETE /api/faces/<name>/<id>        delete one sample (its embedding and its crop)
    POST   /api/faces/<name>             enrol a face: multipart ``file`` (a photo of one person) or
                                         JSON {"event_ids": [...]} / {"event_id": ...} (the best
                                         faces of those events; the events then carry the name)
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

import numpy as np
from flask import Blueprint, Response, current_app, jsonify, request, send_file, url_for
from werkzeug.datastructures import FileStorage
from werkzeug.routing import BaseConverter

from camwatch.faces.enrol import PHOTO_SIDE, FaceFinder, enrol_image
from camwatch.faces.gallery import Conflict, FaceGallery, GalleryError, NotFound
from camwatch.imaging import ImageRefused, decode_untrusted
from camwatch.names import printable
from camwatch.paths import snapshots_dir
from camwatch.web.faces_events import (
    FacesAccess,
    enrol_events,
    event_ids_of,
    register_event_face_routes,
)

_LOGGER = logging.getLogger(__name__)

MAX_UPLOAD_BYTES = 10 * 1024 * 1024


#: Sample ids are SQLite integers: larger ones are no sample (404), never an overflow.
MAX_SAMPLE_ID = 2**63 - 1


class PersonConverter(BaseConverter):
    """A person's name in a URL: anything but the word ``unknown`` (a reserved name), which is
    the list of unnamed faces — so ``/api/faces/unknown`` allows GET only, and says so."""

    regex = r"(?!unknown$)[^/]+"


def _error(status: int, message: str) -> tuple[Response, int]:
    return jsonify({"error": message}), status


def decode_upload(upload: FileStorage) -> np.ndarray:
    """The one place an uploaded photo is decoded (BGR, shrunk to the enrolment size); GalleryError
    when it is not a readable image, ImageRefused when its header says it is too large to decode."""
    return decode_untrusted(upload.read(MAX_UPLOAD_BYTES + 1), PHOTO_SIDE)


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

    access = FacesAccess(the_gallery, the_finder, snapshot_dir, context)
    register_event_face_routes(bp, access)

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
            image = decode_upload(upload)
            if f is None:
                return _error(503, "no face detector available for enrolment")
            source = f"upload:{printable(upload.filename or 'photo')}"[:200]
            sample_ids = [enrol_image(g, f, name, image, source)]
        else:
            body = request.get_json(silent=True)
            if not isinstance(body, dict) or not ("event_ids" in body or "event_id" in body):
                return _error(400, 'expected a multipart "file" or JSON {"event_ids": ["..."]}')
            sample_ids = enrol_events(access, name, event_ids_of(body))
        person = g.get(name)
        return jsonify({**person.to_dict(), "sample_id": sample_ids[0], "sample_ids": sample_ids}), 201

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


faces_bp = make_faces_blueprint()
