"""Naming people from recorded events: which of an event's faces to enrol, why none may do,
grouping unnamed faces of the same person, and moving a wrongly named event's sample.

An event keeps its best few faces (``faces.event_faces``). Naming an event enrols the good ones
— wide enough to be compared (``recognition_min_size``) and sharp enough (``min_sharpness``) —
best first, up to ``ENROL_PER_NAMING``. A face that is neither is refused with the reason, since
a sample that can never match only makes the homeowner believe the name will stick.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from camwatch.faces.crops import inner_face_box
from camwatch.faces.enrol import FaceFinder
from camwatch.faces.event_faces import Candidate
from camwatch.faces.gallery import FaceGallery
from camwatch.faces.people import GalleryError
from camwatch.faces.quality import sharpness

_LOGGER = logging.getLogger(__name__)

#: Faces enrolled when the homeowner names an event (or a group of events): the best ones, each
#: unlike those already chosen (a walker's faces differ from frame to frame; near copies add nothing).
ENROL_PER_NAMING = 5
NEAR_COPY = 0.85
#: Two unnamed events whose best faces are at least this similar are shown as one person.
#: Stricter than naming (0.5): a wrong group would enrol one person's face under another's name.
GROUP_SIMILARITY = 0.6


@dataclass(frozen=True)
class SampleRules:
    """What makes a face a usable sample: compared at all, and not a smear."""

    min_width: float
    min_sharpness: float

    def reason(self, width: float, sharp: float) -> str | None:
        """Why this face is not a good sample, in the homeowner's words; None when it is."""
        if width < self.min_width:
            return (f"the face is too small to recognise later ({width:.0f} px wide; faces are compared from "
                    f"{self.min_width:.0f} px): name a closer face of this person or add a photo")
        if sharp < self.min_sharpness:
            return "the face is too blurred to recognise later: name a sharper face of this person or add a photo"
        return None


@dataclass
class Group:
    """Unnamed events that show the same person (best face first)."""

    events: list[str]
    best: Candidate | None
    embeddings: list[np.ndarray] = field(default_factory=list, repr=False)


def legacy_candidate(crop_path: Path, event_id: str) -> Candidate | None:
    """The single face crop of an event recorded without candidates (older camwatch)."""
    crop = cv2.imread(str(crop_path)) if crop_path.is_file() else None
    if crop is None:
        return None
    x1, y1, x2, y2 = inner_face_box(crop.shape[1], crop.shape[0])
    inner = crop[int(y1) : int(y2), int(x1) : int(x2)]
    return Candidate(0.0, x2 - x1, sharpness(inner), 0.0, crop, None, None, crop_path, event_id)


def enrol_candidates(
    gallery: FaceGallery, finder: FaceFinder | None, name: str, candidates: list[Candidate], rules: SampleRules,
    source: str,
) -> list[int]:
    """Enrol the best good candidates as ``name``; GalleryError saying why when none is good."""
    good = [c for c in sorted(candidates, key=lambda c: c.quality, reverse=True) if rules.reason(c.width, c.sharpness) is None]
    if not good:
        best = max(candidates, key=lambda c: (c.width, c.sharpness), default=None)
        if best is None:
            raise GalleryError("this event has no face to enrol")
        raise GalleryError(f"not added: {rules.reason(best.width, best.sharpness)}")
    ids = []
    for candidate in _varied(good, gallery)[:ENROL_PER_NAMING]:
        where = f"event:{candidate.event_id}" if candidate.event_id else source
        crop = candidate.crop_bgr if candidate.crop_bgr.size else gallery.events.crop(candidate)
        if crop is None:
            continue
        face = finder.find(crop) if finder is not None else None
        # The crop was cut with CROP_MARGIN around the face: fall back to that box.
        box = face.box if face is not None else inner_face_box(crop.shape[1], crop.shape[0])
        ids.append(gallery.enrol(name, crop, box, where))
    if not ids:
        raise GalleryError("the faces of this event are no longer on the device")
    return ids


def _varied(candidates: list[Candidate], gallery: FaceGallery) -> list[Candidate]:
    """Best first, leaving out near copies of a face already chosen."""
    if gallery.embedder is None:
        return candidates
    chosen: list[Candidate] = []
    for candidate in candidates:
        vectors = [c.embedding for c in chosen if c.embedding is not None]
        if candidate.embedding is not None and vectors and float(
            gallery.embedder.similarity(candidate.embedding, np.stack(vectors)).max()
        ) >= NEAR_COPY:
            continue
        chosen.append(candidate)
    return chosen


def group_unnamed(events: list[str], candidates: dict[str, list[Candidate]], similarity) -> list[Group]:
    """Events (newest first) grouped by the person their faces show. An event joins the first
    group whose faces it matches at GROUP_SIMILARITY; events without an embedding stay alone."""
    groups: list[Group] = []
    for event_id in events:
        faces = candidates.get(event_id, [])
        vectors = [c.embedding for c in faces if c.embedding is not None]
        best = faces[0] if faces else None
        home = None
        if vectors:
            for group in groups:
                if group.embeddings and max(
                    float(similarity(v, np.stack(group.embeddings)).max()) for v in vectors
                ) >= GROUP_SIMILARITY:
                    home = group
                    break
        if home is None:
            groups.append(Group([event_id], best, list(vectors)))
            continue
        home.events.append(event_id)
        home.embeddings.extend(vectors)
        if best is not None and (home.best is None or best.quality > home.best.quality):
            home.best = best
    return groups
