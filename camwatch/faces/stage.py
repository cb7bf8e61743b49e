"""The face step of a camera's pipeline: find, gate and recognise faces on tracked people.

For each confirmed person seen in the frame, at most once per ``person_interval``, the
upper part of the person's box is cut from the full-resolution frame and searched with
BlazeFace. Face cameras (doorbells) also search the whole frame; such a face is given to
the person whose box holds it, and a face with no person around it is dropped (BlazeFace
also finds dogs' faces). Faces that pass the quality gates come back as ``FaceResult``;
the caller records them on the person's event.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from camwatch.config.root import CamwatchConfig
from camwatch.detectors.base import Box
from camwatch.faces.blazeface import BlazeFaceDetector, FaceBox
from camwatch.faces.embedder import FaceEmbedder, load_embedder
from camwatch.faces.gallery import CROP_MARGIN, FaceGallery
from camwatch.faces.quality import QualityGate, clip_box
from camwatch.geometry import covered_share, grow
from camwatch.models import ModelError, ModelManager
from camwatch.track.model import TrackedObject

_LOGGER = logging.getLogger(__name__)

UNKNOWN = "unknown"
_AUTO = object()


@dataclass
class FaceResult:
    """A face that passed the gates, on the tracked person ``object_id``.

    ``name`` is the recognised person, ``"unknown"`` when the face was compared with the
    gallery and matched nobody, or None when it was not compared (no embedder, face too
    small for recognition). ``name_score`` is the similarity of the recognised name.
    """

    object_id: str
    score: float
    box: Box
    crop_bgr: np.ndarray = field(repr=False)
    name: str | None = None
    name_score: float | None = None


@dataclass
class _PersonState:
    last_search: float = float("-inf")
    last_recognition: float = float("-inf")
    name: str | None = None
    name_score: float | None = None


def resolve_model(data_dir: Path, name: str) -> Path:
    """Path of a manifest model in the data directory, or ModelError with the fix."""
    manager = ModelManager(data_dir)
    path = manager.path(name)
    if not path.is_file():
        raise ModelError(f"face model {name} is missing at {path}: run `camwatch models pull {name}`")
    return path


class FaceStage:
    """Face detection, quality gates and recognition for one camera."""

    def __init__(
        self,
        config: CamwatchConfig,
        camera: str,
        data_dir: Path,
        *,
        model_path: Path | None = None,
        face_camera_model_path: Path | None = None,
        embedder: FaceEmbedder | None | object = _AUTO,
        gallery: FaceGallery | None = None,
    ) -> None:
        faces = config.faces
        cam = config.cameras[camera].faces
        self.camera = camera
        self.config = faces
        self.face_camera = cam.face_camera
        self.person_interval = cam.person_interval if cam.person_interval is not None else faces.person_interval
        self.gate = QualityGate(
            min_score=cam.min_score if cam.min_score is not None else faces.min_score,
            min_size=cam.min_size if cam.min_size is not None else faces.min_size,
            min_sharpness=faces.min_sharpness,
        )
        self.detector = BlazeFaceDetector(
            model_path or resolve_model(data_dir, faces.model), num_threads=faces.num_threads
        )
        self.frame_detector: BlazeFaceDetector | None = None
        if self.face_camera:
            self.frame_detector = BlazeFaceDetector(
                face_camera_model_path or resolve_model(data_dir, faces.face_camera_model),
                num_threads=faces.num_threads,
            )
        if embedder is _AUTO:
            embedder = load_embedder(faces.embedder) if faces.recognition else None
        self.embedder: FaceEmbedder | None = embedder  # type: ignore[assignment]
        self.gallery = gallery
        if self.gallery is None and self.embedder is not None:
            self.gallery = FaceGallery(data_dir, self.embedder)
        self._people: dict[str, _PersonState] = {}
        self.rejected: Counter[str] = Counter()  # gate name → faces rejected, for stats
        self.searches = 0

    # ------------------------------------------------------------------ main
    def process(self, frame_bgr: np.ndarray, objects: list[TrackedObject], ts: float) -> list[FaceResult]:
        """Faces on the confirmed people in this frame (at most one per person)."""
        persons = [o for o in objects if o.label == "person" and o.confirmed and not o.ended]
        self._forget({o.id for o in persons})
        persons = [o for o in persons if o.seen_this_frame]
        height, width = frame_bgr.shape[:2]
        candidates: dict[str, list[FaceBox]] = {}

        due = [p for p in persons if ts - self._state(p.id).last_search >= self.person_interval]
        if self.frame_detector is not None and due:
            for face in self.frame_detector.detect(frame_bgr, self.gate.min_score):
                owner = self._owner(face.box, due)
                if owner is None:
                    self.rejected["no_person"] += 1
                    continue
                candidates.setdefault(owner.id, []).append(face)
        for person in due:
            self._state(person.id).last_search = ts
            if person.id in candidates:
                continue
            region = clip_box(self._search_region(person.box), width, height)
            if region[2] - region[0] < 8 or region[3] - region[1] < 8:
                continue
            self.searches += 1
            candidates[person.id] = self.detector.detect_region(frame_bgr, region, self.gate.min_score)

        by_id = {p.id: p for p in persons}
        results = []
        for object_id, faces in candidates.items():
            # A face seen from several overlapping people belongs to the smallest box around it.
            owned = [f for f in faces if (self._owner(f.box, persons) or by_id[object_id]).id == object_id]
            self.rejected["other_person"] += len(faces) - len(owned)
            result = self._best(frame_bgr, by_id[object_id], owned, ts)
            if result is not None:
                results.append(result)
        return results

    def _search_region(self, box: Box) -> Box:
        x1, y1, x2, y2 = box
        w, h = x2 - x1, y2 - y1
        return (x1 - 0.1 * w, y1 - 0.05 * h, x2 + 0.1 * w, y1 + self.config.upper_fraction * h)

    @staticmethod
    def _owner(face: Box, persons: list[TrackedObject]) -> TrackedObject | None:
        """The smallest person box holding the face, if any."""
        holding = [p for p in persons if covered_share(face, p.box) >= 0.8]
        return min(holding, key=lambda p: p.area) if holding else None

    def _best(
        self, frame_bgr: np.ndarray, person: TrackedObject, faces: list[FaceBox], ts: float
    ) -> FaceResult | None:
        height, width = frame_bgr.shape[:2]
        # The person's own face is the largest in the upper part of their box.
        for face in sorted(faces, key=lambda f: (f.width * f.height, f.score), reverse=True):
            x1, y1, x2, y2 = clip_box(face.box, width, height)
            reason = self.gate.reject_reason(face.score, face.box, frame_bgr[y1:y2, x1:x2], person.box)
            if reason is not None:
                self.rejected[reason] += 1
                continue
            cx1, cy1, cx2, cy2 = clip_box(grow(face.box, CROP_MARGIN), width, height)
            result = FaceResult(person.id, face.score, face.box, frame_bgr[cy1:cy2, cx1:cx2].copy())
            self._recognise(frame_bgr, face, result, ts)
            return result
        return None

    # ----------------------------------------------------------- recognition
    def _recognise(self, frame_bgr: np.ndarray, face: FaceBox, result: FaceResult, ts: float) -> None:
        state = self._state(result.object_id)
        small = min(face.width, face.height) < self.config.recognition_min_size
        if self.embedder is None or self.gallery is None or small:
            result.name, result.name_score = state.name, state.name_score
            return
        if ts - state.last_recognition >= self.config.recognition_interval:
            state.last_recognition = ts
            match = self.gallery.best_match(self.embedder.embed(frame_bgr, face.box))
            if match is not None and match.score >= self.config.recognition_threshold:
                name, score = match.name, match.score
            else:
                name, score = UNKNOWN, None
            # A known name sticks to the track; a better score for it replaces the old one.
            if name != UNKNOWN and (state.name in (None, UNKNOWN) or (score or 0) > (state.name_score or 0)):
                if state.name != name:
                    _LOGGER.info("%s: person %s recognised as %s (%.2f)", self.camera, result.object_id, name, score)
                state.name, state.name_score = name, score
            elif state.name is None:
                state.name, state.name_score = UNKNOWN, None
        result.name, result.name_score = state.name, state.name_score

    # ----------------------------------------------------------------- state
    def _state(self, object_id: str) -> _PersonState:
        state = self._people.get(object_id)
        if state is None:
            state = self._people[object_id] = _PersonState()
        return state

    def _forget(self, live: set[str]) -> None:
        for object_id in [i for i in self._people if i not in live]:
            del self._people[object_id]

    def describe(self) -> dict:
        """Figures for stats."""
        return {
            "searches": self.searches,
            "rejected": dict(self.rejected),
            "inference_ms": round(self.detector.inference_ms, 2),
            "recognition": self.embedder.name if self.embedder else None,
        }

    def close(self) -> None:
        self.detector.close()
        if self.frame_detector is not None:
            self.frame_detector.close()
