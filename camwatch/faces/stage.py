"""The face step of a camera's pipeline: find, gate, assign and recognise faces on tracked people.

For each confirmed person (on every frame the detector saw them until their face is found,
then at most once per ``person_interval``), the region where their face can be
(``faces.heads``: the upper part of a standing person, the whole box of a close-up; between
re-detections, where their speed puts them) is searched with BlazeFace short and full range at a scale that suits the models
(``faces.search``). Face cameras (doorbells) also search the whole frame. Every face found is
then given to the person whose expected head it fits best — among all tracked people, so a box
that spans two people does not hand one person's face to the other — and a face that fits no
one's head is dropped (BlazeFace also finds dogs' faces), and so is one that dlib's face detector does
not also take for a face (``faces.verify``: BlazeFace finds the back of a head too). A person's first faces are all compared
with the gallery, then one per interval or a clearly better one, and their best compared faces are
kept with the event (``faces.event_faces``) for naming it later. Names come from several agreeing
recognitions or one sure one (``faces.naming``). Faces that pass the quality gates come back as
``FaceResult``; the caller records them on the person's event.
"""

from __future__ import annotations

import logging
import math
import sqlite3
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from camwatch.config.root import CamwatchConfig
from camwatch.detectors.base import Box
from camwatch.faces.blazeface import BlazeFaceDetector, FaceBox
from camwatch.faces.embedder import FaceEmbedder, load_embedder
from camwatch.faces.event_faces import KEEP_PER_EVENT, Candidate
from camwatch.faces.gallery import CROP_MARGIN, FaceGallery
from camwatch.faces.heads import (
    UNSEEN_PENALTY,
    FaceMemory,
    assign,
    fresh,
    head_cost,
    memory_region,
    search_region,
    where_now,
)
from camwatch.faces.naming import UNCERTAIN, UNKNOWN, NameVotes
from camwatch.faces.quality import QualityGate, clip_box, face_quality, sharpness
from camwatch.faces.search import FaceSearch, merge_faces
from camwatch.faces.verify import FaceCheck, load_face_check
from camwatch.geometry import grow
from camwatch.models import ModelError, ModelManager
from camwatch.track.model import TrackedObject

_LOGGER = logging.getLogger(__name__)

#: A face this many times better (``face_quality``) than the best one compared so far is compared
#: at once, before ``recognition_interval``: a visitor is named from the sharpest faces of the
#: visit, not from whichever came first.
BETTER_FACE = 1.5
#: A person not named yet has this many faces compared as they come (every search that finds one),
#: not one per ``recognition_interval``: a walker shows a usable face for a second or two, each
#: frame at another angle (measured on walking-by.h264: 0.5-0.8 between frames of one walk).
EAGER_COMPARISONS = 6

__all__ = ["UNCERTAIN", "UNKNOWN", "FaceResult", "FaceStage", "resolve_model"]
_AUTO = object()


@dataclass
class FaceResult:
    """A face that passed the gates, on the tracked person ``object_id``.

    ``name`` is the person's name so far: a known name (several recognitions agreed),
    ``"unknown"`` (compared with the gallery, not named), ``"uncertain"`` (two known people
    matched this track), or None when never compared (no embedder, face too small).
    ``name_score`` is the best similarity of the known name.
    """

    object_id: str
    score: float
    box: Box
    crop_bgr: np.ndarray = field(repr=False)
    name: str | None = None
    name_score: float | None = None


@dataclass
class _PersonState:
    votes: NameVotes
    last_search: float = float("-inf")
    last_recognition: float = float("-inf")
    memory: FaceMemory | None = None
    best_compared: float = 0.0  # quality of the best face compared so far
    candidates: list[Candidate] = field(default_factory=list)  # best compared faces, best first


def resolve_model(data_dir: Path, name: str) -> Path:
    """Path of a manifest model in the data directory, or ModelError with the fix."""
    manager = ModelManager(data_dir)
    path = manager.path(name)
    if not path.is_file():
        raise ModelError(f"face model {name} is missing at {path}: run `camwatch models pull {name}`")
    return path


class FaceStage:
    """Face detection, quality gates, assignment and recognition for one camera."""

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
        face_check: FaceCheck | None | object = _AUTO,
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
        short_path = model_path or resolve_model(data_dir, faces.model)
        full_path = face_camera_model_path or resolve_model(data_dir, faces.face_camera_model)
        self.detector = BlazeFaceDetector(short_path, num_threads=faces.num_threads)
        detectors = [self.detector]
        if Path(full_path) != Path(short_path):
            detectors.append(BlazeFaceDetector(full_path, num_threads=faces.num_threads))
        self.search = FaceSearch(detectors)
        #: The model of the whole-frame pass of face cameras (None on other cameras).
        self.frame_detector: BlazeFaceDetector | None = detectors[-1] if self.face_camera else None
        if embedder is _AUTO:
            embedder = load_embedder(faces.embedder) if faces.recognition else None
        self.embedder: FaceEmbedder | None = embedder  # type: ignore[assignment]
        # A second opinion on every face BlazeFace finds: it takes backs of heads for faces.
        self.face_check: FaceCheck | None = load_face_check() if face_check is _AUTO else face_check  # type: ignore[assignment]
        self.gallery = gallery
        if self.gallery is None and self.embedder is not None:
            self.gallery = FaceGallery(data_dir, self.embedder)
        self._people: dict[str, _PersonState] = {}
        self.rejected: Counter[str] = Counter()  # why faces were dropped, for stats
        self.searches = 0

    # ------------------------------------------------------------------ main
    def process(self, frame_bgr: np.ndarray, objects: list[TrackedObject], ts: float) -> list[FaceResult]:
        """Faces on the confirmed people in this frame (at most one per person)."""
        people = [o for o in objects if o.label == "person" and not o.ended]
        self._forget({o.id for o in people if o.confirmed})
        # A confirmed person is re-detected only now and then, and a walker's face may be in
        # view for a second: until a face of theirs is found, every frame where the detector
        # saw them is searched. Otherwise at most once per ``person_interval``: where they
        # were seen or should be now, and where their face was a moment ago.
        now = {p.id: where_now(p.box, p.velocity, p.last_seen, ts, p.seen_this_frame) for p in people}
        due = [p for p in people if p.confirmed and self._search_due(p, now[p.id], ts)]
        if not due:
            return []
        height, width = frame_bgr.shape[:2]
        size = (width, height)
        found: list[FaceBox] = []
        if self.face_camera:
            found += self.search.find(frame_bgr, None, self.gate.min_score)
        for person in due:
            state = self._state(person.id)
            state.last_search = ts
            self.searches += 1
            # Where the face was a moment ago first (small, quick); the whole region when it is not there.
            near: list[FaceBox] = []
            if state.memory is not None and fresh(state.memory, ts):
                region = memory_region(state.memory, ts, math.hypot(*person.velocity))
                near = self.search.find(frame_bgr, clip_box(region, width, height), self.gate.min_score)
            box = now[person.id]
            if not near and box is not None:
                region = search_region(box, size, self.config.upper_fraction)
                near = self.search.find(frame_bgr, clip_box(region, width, height), self.gate.min_score)
            found += near
        faces = [f for f in merge_faces(found) if self._passes(frame_bgr, f)]
        owners = self._assign(faces, people, now, size, ts)
        results = []
        for person in due:
            index = owners.get(person.id)
            if index is None:
                continue
            face = faces[index]
            state = self._state(person.id)
            state.memory = FaceMemory(((face.box[0] + face.box[2]) / 2, (face.box[1] + face.box[3]) / 2), face.width, ts)
            cx1, cy1, cx2, cy2 = clip_box(grow(face.box, CROP_MARGIN), width, height)
            result = FaceResult(person.id, face.score, face.box, frame_bgr[cy1:cy2, cx1:cx2].copy())
            self._recognise(frame_bgr, face, result, ts)
            results.append(result)
        return results

    def _search_due(self, person: TrackedObject, box_now: Box | None, ts: float) -> bool:
        state = self._state(person.id)
        if state.memory is None and person.seen_this_frame:
            return True
        return (box_now is not None or fresh(state.memory, ts)) and ts - state.last_search >= self.person_interval

    def _passes(self, frame_bgr: np.ndarray, face: FaceBox) -> bool:
        height, width = frame_bgr.shape[:2]
        x1, y1, x2, y2 = clip_box(face.box, width, height)
        reason = self.gate.reject_reason(face.score, face.box, frame_bgr[y1:y2, x1:x2])
        if reason is None and self.face_check is not None and not self.face_check.is_face(frame_bgr, face):
            reason = "not_a_face"
        if reason is not None:
            self.rejected[reason] += 1
        return reason is None

    def _assign(
        self,
        faces: list[FaceBox],
        people: list[TrackedObject],
        now: dict[str, Box | None],
        size: tuple[int, int],
        ts: float,
    ) -> dict[str, int]:
        """Person id → index of their face, among every tracked person (confirmed or not)."""
        costs: dict[tuple[int, str], float] = {}
        for index, face in enumerate(faces):
            for person in people:
                state = self._people.get(person.id)
                cost = head_cost(
                    face.box, now[person.id] or person.box, size, self.config.upper_fraction,
                    memory=state.memory if state else None, ts=ts, speed=math.hypot(*person.velocity),
                )
                if cost is not None:
                    # Where a person seen in this frame and one only remembered both fit, the seen one wins.
                    costs[(index, person.id)] = cost + (0.0 if person.seen_this_frame else UNSEEN_PENALTY)
        owners = assign(costs)
        fitting = {index for index, _ in costs}
        self.rejected["no_person"] += len(faces) - len(fitting)
        self.rejected["other_person"] += len(fitting - set(owners.values()))
        return owners

    # ----------------------------------------------------------- recognition
    def _recognise(self, frame_bgr: np.ndarray, face: FaceBox, result: FaceResult, ts: float) -> None:
        state = self._state(result.object_id)
        small = min(face.width, face.height) < self.config.recognition_min_size
        height, width = frame_bgr.shape[:2]
        x1, y1, x2, y2 = clip_box(face.box, width, height)
        sharp = sharpness(frame_bgr[y1:y2, x1:x2])
        quality = face_quality(face.score, face.width, sharp)
        eager = state.votes.name in (None, UNKNOWN) and state.votes.compared < EAGER_COMPARISONS
        due = eager or ts - state.last_recognition >= self.config.recognition_interval or (
            quality >= BETTER_FACE * state.best_compared)
        if self.embedder is not None and self.gallery is not None and not small and due:
            state.last_recognition = ts
            state.best_compared = max(state.best_compared, quality)
            before = state.votes.name
            embedding = self.embedder.embed(frame_bgr, face.box)
            match = self.gallery.best_match(embedding, sharp)
            _LOGGER.debug("%s: person %s face %s (quality %.2f) best match %s", self.camera, result.object_id,
                          [round(v) for v in face.box], quality, match)
            if match is not None and match.score >= self.config.recognition_threshold:
                state.votes.add(match.name, match.score)
            else:
                state.votes.add(None)
            after = state.votes.name
            if after != before and after not in (None, UNKNOWN):
                matched = ", ".join(f"{n} x{c}" for n, c in state.votes.counts.items())
                _LOGGER.info("%s: person %s is %s (matches: %s)", self.camera, result.object_id, after, matched)
            self._keep_candidate(result.object_id, state, Candidate(quality, face.width, sharp, ts, result.crop_bgr, embedding))
        result.name, result.name_score = state.votes.name, state.votes.score

    def _keep_candidate(self, object_id: str, state: _PersonState, candidate: Candidate) -> None:
        """Keep the visit's best compared faces, and store them with the event when they change."""
        if len(state.candidates) >= KEEP_PER_EVENT and candidate.quality <= state.candidates[-1].quality:
            return
        state.candidates = sorted([*state.candidates, candidate], key=lambda c: c.quality, reverse=True)[:KEEP_PER_EVENT]
        try:
            self.gallery.events.save(object_id, self.camera, state.candidates)  # type: ignore[union-attr]
        except (OSError, sqlite3.Error) as exc:  # a full disk: the event keeps its single face crop
            _LOGGER.warning("%s: cannot keep the faces of event %s: %s", self.camera, object_id, exc)

    # ----------------------------------------------------------------- state
    def _state(self, object_id: str) -> _PersonState:
        state = self._people.get(object_id)
        if state is None:
            state = self._people[object_id] = _PersonState(NameVotes(self.config.name_votes, self.config.sure_threshold))
        return state

    def _forget(self, live: set[str]) -> None:
        for object_id in [i for i in self._people if i not in live]:
            del self._people[object_id]

    def describe(self) -> dict:
        """Figures for stats."""
        return {
            "searches": self.searches,
            "rejected": dict(self.rejected),
            "inference_ms": round(self.search.inference_ms, 2),
            "recognition": self.embedder.name if self.embedder else None,
        }

    def close(self) -> None:
        self.search.close()
