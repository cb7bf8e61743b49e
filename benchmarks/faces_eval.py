"""Face recognition through the whole pipeline on a labelled photo set, and on the face clips.

    python benchmarks/faces_eval.py GROUNDTRUTH.json [--models DIR] [--detector FILE]
        [--media DIR] [--config FILE] [--seconds 8] [--near-duplicates] [--no-clips] [--json]
        [--degraded [--face-px 48] [--degrade-tool FILE]]

Needs the ``faces`` extra (dlib). GROUNDTRUTH.json (``../shared/faces-eval/groundtruth.json`` or
your own, photo paths relative to it): ``enrol`` {name: [photos]}, ``probes`` {photo: [names left to right by face centre;
"STRANGER:<name>" = never enrolled]}, optionally ``near_duplicates`` (same format as probes).

Protocol, as a user meets it:

1. Every ``enrol`` photo goes into a fresh gallery the way ``POST /api/faces/<name>`` does it
   (the photo's bytes decoded and searched by the same FaceFinder the web app builds).
2. Every probe photo becomes a still clip (``--seconds`` at 5 fps) and runs through
   ``camwatch replay`` with default settings: camwatch's own person detection, tracking,
   event engine and face step. Nothing is given to the face step but the frames. One setting
   differs for the photos: motion gating is off on their camera. A photo never moves, and
   camwatch never starts a person event for something that has never moved (the rule that
   keeps mannequins and posters out of events); a real visitor moves as they come into view.
3. Where is each face? dlib's HOG face detector (independent of BlazeFace) finds the faces of
   the photo; the listed people are its largest faces, left to right. An event's face is placed
   by finding its saved face crop in the photo (template matching).
4. Per listed face: **right** (its event carries the true name and never another known one),
   **wrong** (a known name that is not theirs, at any time), **uncertain** / **unknown**,
   **not compared** (found, too small to compare), **not found** (no face event on it: "no person"
   when no person event covers the face). Strangers (and faces the file does not list) count as
   **named** when any known name lands on them.
5. Margins, the recogniser alone: each reference face of the probes embedded once and compared
   with each enrolled person (best sample): known (own name; also against the person's first
   enrolled photo only), wrong person (best other name), strangers (best name).

The face clips of ``--media`` (nobody in them is enrolled) report person events, events with a
face, events compared and strangers named.

``--degraded``: the same people at surveillance quality. The measuring protocol's own tool
(``../shared/tools/degrade_faces.py``, called, never copied) makes three copies of every probe (and
near-duplicate) photo with the detail of a ``--face-px`` wide face: ``low`` (down- and up-sampled,
JPEG 40), ``ir`` (grey with sensor noise), ``blur`` (a 5 px horizontal motion blur at that scale);
enrolment photos stay as they are. Each copy goes through the whole pipeline as above, and the
report gives one line per condition: clean, low, ir, blur.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the scoring beside this script
from faces_scoring import (  # noqa: E402
    NO_NAME,
    FaceRow,
    condition_line,
    condition_set,
    label_faces,
    reference_faces,
    score_photo,
    totals,
)

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
DEGRADE_TOOL = SHARED / "tools" / "degrade_faces.py"
CONDITIONS = ("low", "ir", "blur")  # the copies degrade_faces.py makes, by file-name suffix
FACE_MODELS = ("face_detection_short_range.tflite", "face_detection_full_range.tflite")
CLIPS = ("face-demographics-walking.gif", "head-pose-face-detection-female-and-male.gif", "face.jpg")
FPS = 5.0


# ------------------------------------------------------------------ set-up
def prepare(data_dir: Path, models: Path) -> None:
    from camwatch.models import ModelManager

    manager = ModelManager(data_dir)
    for name in FACE_MODELS:
        manager.import_file(models / name)


def enrol_all(data_dir: Path, base: Path, enrol: dict[str, list[str]]) -> list[dict]:
    """Enrol like POST /api/faces/<name> with a file: decode the bytes, find, embed, store."""
    from camwatch.config.faces import FacesConfig
    from camwatch.faces.embedder import load_embedder
    from camwatch.faces.enrol import FaceFinder, decode_image, enrol_image
    from camwatch.faces.gallery import FaceGallery, GalleryError
    from camwatch.faces.stage import resolve_model

    faces = FacesConfig()
    finder = FaceFinder(
        list(dict.fromkeys([resolve_model(data_dir, faces.model), resolve_model(data_dir, faces.face_camera_model)])),
        faces.min_score,
    )
    gallery = FaceGallery(data_dir, load_embedder("dlib"))
    report = []
    for name, photos in enrol.items():
        for photo in photos:
            try:
                image = decode_image((base / photo).read_bytes())
                enrol_image(gallery, finder, name, image, f"upload:{Path(photo).name}")
                report.append({"name": name, "photo": photo, "enrolled": True})
            except GalleryError as exc:
                report.append({"name": name, "photo": photo, "enrolled": False, "error": str(exc)})
    gallery.close()
    return report


def still_clip(image: np.ndarray, path: Path, seconds: float) -> Path:
    """The photo as a still MJPEG clip (any frame size) at 5 fps."""
    h, w = image.shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), FPS, (w, h))
    if not writer.isOpened():
        raise RuntimeError(f"cannot write {path}")
    for _ in range(max(1, int(seconds * FPS))):
        writer.write(image)
    writer.release()
    return path


def default_detector_file() -> str:
    """File name of camwatch's default detector model (what a user runs without choosing one)."""
    from camwatch.const import DEFAULT_DETECTOR_MODEL
    from camwatch.models import load_manifest

    return load_manifest()[DEFAULT_DETECTOR_MODEL].main.file


def photo_config(config: Path | None, work: Path) -> Path:
    """``config`` (or the defaults) with motion gating off on the camera replay uses: a photo
    never moves, and camwatch never confirms a person who has never moved."""
    import yaml

    data = yaml.safe_load(config.read_text()) if config is not None else None
    data = data if isinstance(data, dict) else {}
    cameras = data.get("cameras") or {"photo": {"url": "photo"}}
    name = next(iter(cameras))
    camera = cameras[name] or {}
    camera.setdefault("motion", {})["enabled"] = False
    data["cameras"] = {name: camera}
    path = work / "photo-config.yml"
    path.write_text(yaml.safe_dump(data))
    return path


def replay(clip: Path, data_dir: Path, detector: Path, config: Path | None) -> list[dict]:
    """The messages ``camwatch replay --json`` prints for the clip (summary dropped)."""
    # Start at the present: events dated in the past would be removed by retention mid-run.
    start = time.strftime("%Y-%m-%dT%H:%M:%S")
    args = [sys.executable, "-m", "camwatch", "replay", str(clip), "--json", "--model-path", str(detector),
            "--start-time", start, "--data-dir", str(data_dir)]
    if config is not None:
        args += ["--config", str(config)]
    result = subprocess.run(args, capture_output=True, text=True, timeout=900, env=os.environ.copy())
    if result.returncode != 0:
        raise RuntimeError(f"replay of {clip.name} failed: {result.stderr[-2000:]}")
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    return [m for m in lines if "summary" not in m]


def person_events(messages: list[dict]) -> dict[str, dict]:
    """Person events by id: the last state seen, every name given and every box on the way."""
    events: dict[str, dict] = {}
    for message in messages:
        event = message["event"]
        if event.get("kind", "object") != "object" or event["label"] != "person":
            continue
        entry = events.setdefault(event["id"], {"names": [], "boxes": []})
        entry["event"] = event
        if event.get("box"):
            entry["boxes"].append(event["box"])
        name = event.get("sub_label")
        if name is not None and name not in entry["names"]:
            entry["names"].append(name)
    return events


def margins(base: Path, data_dir: Path, probes: dict[str, list[str]], hog) -> dict:
    """The recogniser alone: similarity of each reference face to each enrolled person."""
    from camwatch.faces.embedder import load_embedder
    from camwatch.faces.gallery import FaceGallery
    from camwatch.faces.quality import clip_box, sharpness

    embedder = load_embedder("dlib")
    gallery = FaceGallery(data_dir, embedder)
    names, vectors, kinds = gallery._embeddings()
    people = sorted(set(names))
    first = {p: vectors[names.index(p)][None, :] for p in people}  # each person's first enrolled photo (no view)
    known: list[float] = []
    known_one: list[float] = []
    wrong: list[float] = []
    strangers: list[float] = []
    for photo, truth in probes.items():
        image = cv2.imread(str(base / photo))
        for box, label in label_faces(reference_faces(image, hog), truth):
            vector = embedder.embed(image, box)
            x1, y1, x2, y2 = clip_box(box, image.shape[1], image.shape[0])
            best = gallery.scores(vector, sharpness(image[y1:y2, x1:x2]))  # the score naming uses
            if label in people:
                known.append(best[label])
                known_one.append(float(embedder.similarity(vector, first[label])[0]))
                wrong.append(max(v for p, v in best.items() if p != label))
            else:
                strangers.append(max(best.values()))
    gallery.close()

    def stats(values: list[float]) -> dict:
        if not values:
            return {"n": 0}
        return {"n": len(values), "min": round(min(values), 3), "median": round(statistics.median(values), 3),
                "max": round(max(values), 3)}

    return {"known": stats(known), "known_first_photo_only": stats(known_one), "wrong_person": stats(wrong),
            "strangers": stats(strangers), "enrolled_photos": {p: [n for n, k in zip(names, kinds, strict=True)
                                                                  if k == 0].count(p) for p in people}}


def run_clips(media: Path, data_dir: Path, work: Path, detector: Path, config: Path | None, seconds: float) -> list:
    out = []
    for name in CLIPS:
        path = media / name
        if not path.is_file():
            out.append({"clip": name, "error": "missing"})
            continue
        used = config
        if path.suffix.lower() in (".jpg", ".jpeg", ".png", ".bmp"):
            path = still_clip(cv2.imread(str(path)), work / f"{path.stem}.avi", seconds)
            used = photo_config(config, work)
        ends = list(person_events(replay(path, data_dir, detector, used)).values())
        out.append({
            "clip": name,
            "person_events": len(ends),
            "with_face": sum(bool(e["event"].get("has_face")) for e in ends),
            "compared": sum(bool(e["names"]) for e in ends),
            "strangers_named": sum(any(n not in NO_NAME for n in e["names"]) for e in ends),
            "names": sorted({n for e in ends for n in e["names"]}),
        })
    return out


# ------------------------------------------------------------------- main
def degraded_set(groundtruth: Path, work: Path, near_duplicates: bool, face_px: int, tool: Path) -> tuple[Path, dict]:
    """The protocol tool's degraded copies of the probes (and near-duplicates): their ground truth,
    and each copy's (condition, set) by file name."""
    spec = json.loads(groundtruth.read_text())
    sets = {photo: "probes" for photo in spec["probes"]}
    if near_duplicates:
        sets.update({photo: "near_duplicates" for photo in spec.get("near_duplicates", {})})
    source = work / "to-degrade.json"
    every = {**spec["probes"], **(spec.get("near_duplicates", {}) if near_duplicates else {})}
    source.write_text(json.dumps({"enrol": spec["enrol"], "probes": every}))
    out = work / "degraded"
    result = subprocess.run([sys.executable, str(tool), str(groundtruth.parent), str(source), str(out), str(face_px)],
                            capture_output=True, text=True, timeout=900)
    if result.returncode != 0:
        raise RuntimeError(f"{tool.name} failed: {result.stderr[-2000:]}")
    tags: dict[str, tuple[str, str]] = {}
    for photo, kind in sets.items():
        stem = str(Path(photo).with_suffix("")).replace("/", "__")
        for condition in CONDITIONS:
            tags[f"{stem}-{condition}.jpg"] = (condition, kind)
    return out / "groundtruth.json", tags


def evaluate(groundtruth: Path, models: Path, detector: Path, media: Path | None, config: Path | None = None,
             seconds: float = 8.0, near_duplicates: bool = False, clips: bool = True, keep: Path | None = None,
             tags: dict[str, tuple[str, str]] | None = None) -> dict:
    import dlib

    spec = json.loads(groundtruth.read_text())
    base = groundtruth.parent
    probes = {photo: ("probes", truth) for photo, truth in spec["probes"].items()}
    if near_duplicates:
        probes.update({photo: ("near_duplicates", truth) for photo, truth in spec.get("near_duplicates", {}).items()})
    if tags:  # degraded copies: the set is "<condition>" or "<condition> near_duplicates"
        probes = {photo: (condition_set(*tags[photo]) if photo in tags else "probes", truth)
                  for photo, (_, truth) in probes.items()}
    hog = dlib.get_frontal_face_detector()
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="faces-eval-") as tmp:
        work = keep or Path(tmp)
        data_dir = work / "data"
        data_dir.mkdir(parents=True, exist_ok=True)
        prepare(data_dir, models)
        enrolment = enrol_all(data_dir, base, spec["enrol"])
        rows: list[FaceRow] = []
        notes: dict[str, list[str]] = {}
        still = photo_config(config, work)
        for photo, (kind, truth) in probes.items():
            image = cv2.imread(str(base / photo))
            if image is None:
                notes[photo] = ["cannot read the photo"]
                continue
            clip = still_clip(image, work / "probe.avi", seconds)
            events = person_events(replay(clip, data_dir, detector, still))
            photo_rows, photo_notes = score_photo(photo, image, truth, events, data_dir / "snapshots", hog)
            for row in photo_rows:
                row.set = kind
            rows += photo_rows
            if photo_notes:
                notes[photo] = photo_notes
        result = {
            "enrolment": enrolment,
            "faces": [asdict(r) for r in rows],
            "totals": {kind: totals([r for r in rows if r.set == kind]) for kind in dict.fromkeys(r.set for r in rows)},
            "notes": notes,
            "margins": margins(base, data_dir, spec["probes"], hog),
            "clips": run_clips(media, data_dir, work, detector, config, seconds) if clips and media else [],
        }
    result["seconds"] = round(time.monotonic() - began, 1)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("groundtruth", type=Path, help="ground-truth JSON (photo paths relative to it)")
    parser.add_argument("--models", type=Path, default=SHARED / "models", help="folder of the BlazeFace models")
    parser.add_argument("--detector", type=Path, default=None, help="person detector .tflite (default: the default model's file in --models)")
    parser.add_argument("--media", type=Path, default=SHARED / "media", help="folder of the face clips")
    parser.add_argument("--config", type=Path, default=None, help="camwatch config whose camera settings replay uses")
    parser.add_argument("--seconds", type=float, default=8.0, help="length of each still clip")
    parser.add_argument("--near-duplicates", action="store_true", help="also probe the near-duplicate photos")
    parser.add_argument("--no-clips", action="store_true", help="skip the clips of --media")
    parser.add_argument("--keep", type=Path, default=None, help="keep the data directory here")
    parser.add_argument("--degraded", action="store_true", help="also run the protocol's degraded copies of the probes")
    parser.add_argument("--face-px", type=int, default=48, help="face width whose detail the degraded copies keep")
    parser.add_argument("--degrade-tool", type=Path, default=DEGRADE_TOOL, help="the protocol's degrade_faces.py")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    detector = args.detector or args.models / default_detector_file()
    result = evaluate(args.groundtruth, args.models, detector, args.media,
                      args.config, args.seconds, args.near_duplicates, not args.no_clips, args.keep)
    if args.degraded:
        with tempfile.TemporaryDirectory(prefix="faces-degraded-") as tmp:
            degraded, tags = degraded_set(args.groundtruth, Path(tmp), args.near_duplicates, args.face_px, args.degrade_tool)
            low = evaluate(degraded, args.models, detector, None, args.config, args.seconds, False, False, None, tags)
        result["degraded"] = {"face_px": args.face_px, "faces": low["faces"], "totals": low["totals"],
                              "margins": low["margins"],
                              "notes": low["notes"], "enrolment": low["enrolment"], "seconds": low["seconds"]}
    if args.json:
        json.dump(result, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    print_report(result)
    return 0


def print_report(result: dict) -> None:
    for entry in result["enrolment"]:
        if not entry["enrolled"]:
            print(f"enrolment FAILED: {entry['name']} from {entry['photo']}: {entry['error']}")
    print(f"{'photo':42s} {'truth':30s} {'given':16s} {'score':>6s}  category")
    for row in result["faces"]:
        score = f"{row['score']:.3f}" if row["score"] is not None else ""
        print(f"{row['photo'][-42:]:42s} {row['truth'][:30]:30s} {str(row['given'])[:16]:16s} {score:>6s}  {row['category']}")
    for photo, notes in result["notes"].items():
        for note in notes:
            print(f"note {photo}: {note}")
    for kind, counts in result["totals"].items():
        print(f"totals ({kind}):", ", ".join(f"{k} {v}" for k, v in counts.items()))
    print("margins (similarity, recogniser alone):", json.dumps(result["margins"]))
    for clip in result["clips"]:
        print("clip:", json.dumps(clip))
    print(f"{result['seconds']} s")
    if "degraded" in result:
        degraded = result["degraded"]
        for row in degraded["faces"]:
            if row["category"] != "right":
                print(f"degraded: {row['photo'][-48:]:48s} {row['truth'][:24]:24s} {str(row['given'])[:16]:16s} {row['category']}")
        print(f"condition (face detail {degraded['face_px']} px)  known  right  wrong  unknown  not found  strangers named")
        for name, counts in [("clean", result["totals"].get("probes", {})), *degraded["totals"].items()]:
            print(condition_line(name, counts))
        print(f"{degraded['seconds']} s")


if __name__ == "__main__":
    raise SystemExit(main())
