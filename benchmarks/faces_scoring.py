"""Scoring for benchmarks/faces_eval.py: where each face of a probe photo is, which event shows
it, and what each known face and stranger ended up as (right, wrong, unknown...)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

STRANGER = "STRANGER:"
NO_NAME = {None, "unknown", "uncertain"}


@dataclass
class FaceRow:
    photo: str
    truth: str  # a known name, STRANGER:<name>, "unlisted" (a face the file does not list) or "unlocated"
    given: str | None = None  # the event's final name
    category: str = "not found"
    score: float | None = None
    names_seen: list[str] = field(default_factory=list)
    event: str | None = None
    set: str = "probes"  # or "near_duplicates"


# --------------------------------------------------------------- locating
def reference_faces(image: np.ndarray, hog) -> list[tuple[float, float, float, float]]:
    """Faces found by dlib's HOG detector (independent of BlazeFace), in image pixels."""
    scale = min(1.0, 1000.0 / max(image.shape[:2]))
    small = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    found = hog(cv2.cvtColor(small, cv2.COLOR_BGR2RGB), 1)
    return [(r.left() / scale, r.top() / scale, r.right() / scale, r.bottom() / scale) for r in found]


def locate_crop(image: np.ndarray, crop: np.ndarray) -> tuple[float, float, float, float] | None:
    """Where the event's face crop was cut from the photo: the face box inside it."""
    from camwatch.faces.gallery import inner_face_box

    scale = min(1.0, 48.0 / crop.shape[1])
    photo = cv2.cvtColor(cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2GRAY)
    patch = cv2.cvtColor(cv2.resize(crop, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2GRAY)
    if patch.shape[0] > photo.shape[0] or patch.shape[1] > photo.shape[1]:
        return None
    result = cv2.matchTemplate(photo, patch, cv2.TM_CCOEFF_NORMED)
    _, best, _, (x, y) = cv2.minMaxLoc(result)
    if best < 0.6:
        return None
    fx1, fy1, fx2, fy2 = inner_face_box(crop.shape[1], crop.shape[0])
    x0, y0 = x / scale, y / scale
    return (x0 + fx1, y0 + fy1, x0 + fx2, y0 + fy2)


def _centre_in(box, outer) -> bool:
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    return outer[0] <= cx <= outer[2] and outer[1] <= cy <= outer[3]


def _overlap(a, b) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    smaller = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
    return ix * iy / smaller if smaller > 0 else 0.0


def label_faces(faces: list, truth: list[str]) -> list[tuple[tuple, str]]:
    """The listed people are the largest faces, left to right; other faces are "unlisted"."""
    largest = sorted(faces, key=lambda b: (b[2] - b[0]) * (b[3] - b[1]), reverse=True)[: len(truth)]
    ordered = sorted(largest, key=lambda b: b[0] + b[2])
    labels = dict(zip(map(tuple, ordered), truth, strict=False))
    return [(tuple(b), labels.get(tuple(b), "unlisted")) for b in faces]


# ----------------------------------------------------------------- scoring
def score_photo(photo: str, image: np.ndarray, truth: list[str], events: dict[str, dict], snapshots: Path,
                hog) -> tuple[list[FaceRow], list[str]]:
    notes: list[str] = []
    faces = label_faces(reference_faces(image, hog), truth)
    if len(faces) < len(truth):
        notes.append(f"reference detector found {len(faces)} of {len(truth)} listed faces")
    rows = [FaceRow(photo, label) for _, label in faces]
    located: dict[str, int | None] = {}  # event → the reference face its face crop shows
    for event_id, entry in events.items():
        event = entry["event"]
        if not event.get("has_face"):
            continue
        crop = cv2.imread(str(snapshots / f"{event_id}-face.jpg"))
        box = locate_crop(image, crop) if crop is not None else None
        hit = max(range(len(faces)), key=lambda i: _overlap(box, faces[i][0]), default=None) if box else None
        located[event_id] = hit if hit is not None and _overlap(box, faces[hit][0]) >= 0.3 else -1
        if located[event_id] == -1:
            named = [n for n in entry["names"] if n not in NO_NAME]
            notes.append(f"event {event_id}: face not on a reference face (names {entry['names'] or 'none'})")
            if named:
                rows.append(FaceRow(photo, "unlocated", event.get("sub_label"), "named elsewhere", None, named, event_id))
            continue
        row = rows[hit]
        known = [n for n in entry["names"] if n not in NO_NAME]
        name = event.get("sub_label")
        if row.truth.startswith(STRANGER) or row.truth == "unlisted":
            category = "stranger named" if known else ("unknown" if name else "not compared")
        elif any(n != row.truth for n in known):
            category = "wrong"
        elif name == row.truth:
            category = "right"
        elif name in ("unknown", "uncertain"):
            category = name
        else:
            category = "not compared"
        order = ["not found", "not compared", "unknown", "uncertain", "right", "stranger named", "wrong"]
        if order.index(category) >= order.index(row.category):  # several events on one face: the worst
            row.given, row.category, row.names_seen, row.event = name, category, entry["names"], event_id
            row.score = event.get("sub_label_score")
    # No person: no event's box ever covered the face, or only events that showed another face.
    for index, ((box, _), row) in enumerate(zip(faces, rows, strict=False)):
        if row.category == "not found" and not any(
            _centre_in(box, seen)
            for event_id, e in events.items() if located.get(event_id, index) == index
            for seen in e["boxes"]
        ):
            row.category = "no person"
    return rows, notes


def condition_set(condition: str, kind: str) -> str:
    return condition if kind == "probes" else f"{condition} {kind}"


def totals(rows: list[FaceRow]) -> dict:
    listed = [r for r in rows if r.truth not in ("unlisted", "unlocated") and not r.truth.startswith(STRANGER)]
    others = [r for r in rows if r not in listed]
    count = {c: sum(r.category == c for r in listed)
             for c in ("right", "wrong", "uncertain", "unknown", "not compared", "not found", "no person")}
    count["known faces"] = len(listed)
    count["stranger faces"] = sum(r.truth != "unlocated" for r in others)
    count["strangers named"] = sum(r.category in ("stranger named", "named elsewhere") for r in others)
    return count


def condition_line(name: str, counts: dict) -> str:
    known = counts.get("known faces", 0)
    right = counts.get("right", 0)
    unknown = counts.get("unknown", 0) + counts.get("uncertain", 0) + counts.get("not compared", 0)
    missing = counts.get("not found", 0) + counts.get("no person", 0)
    share = f"{100 * right / known:.0f} %" if known else "-"
    return (f"{name:34s} {known:5d}  {right:3d} ({share})  {counts.get('wrong', 0):3d}  {unknown:5d}  {missing:5d}"
            f"  {counts.get('strangers named', 0)} of {counts.get('stranger faces', 0)}")
