"""Face recognition benchmark on our media: identification accuracy, false accepts, speed.

    python benchmarks/face_recognition.py [--models DIR] [--media DIR] [--threshold 0.5] [--json]

Protocol: the two people of head-pose-face-detection-female-and-male.gif (left and right
half of the frame) are enrolled from frames 0, 20 and 40 through the real gallery; every
other frame's face of each person is a probe (correct when the best match is that person
at or above the threshold). face.jpg (2 faces) and grace_hopper.bmp (1) are strangers
(a false accept when any known person matches at or above the threshold); every probe is
also compared with the *other* person alone (impostor trials). Faces are found by
BlazeFace short range, as on a person's crop in the pipeline.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from camwatch.faces.blazeface import BlazeFaceDetector
from camwatch.faces.embedder import load_embedder
from camwatch.faces.gallery import FaceGallery
from camwatch.faces.quality import clip_box, sharpness

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
GIF = "head-pose-face-detection-female-and-male.gif"
STRANGERS = ("face.jpg", "grace_hopper.bmp")
ENROL_FRAMES = (0, 20, 40)
PEOPLE = {"person_left": (0, 240), "person_right": (240, 480)}  # x range of each person


def read_frames(path: Path) -> list[np.ndarray]:
    capture = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame)
    capture.release()
    return frames


def evaluate(
    models: Path, media: Path, threshold: float | None = None, embedder_kind: str = "dlib", probe_step: int = 1
) -> dict:
    """Run the protocol; ``probe_step`` > 1 probes only every n-th frame (quicker)."""
    embedder = load_embedder(embedder_kind)
    if embedder is None:
        raise RuntimeError("no face embedder installed: pip install 'camwatch[faces]'")
    threshold = embedder.default_threshold if threshold is None else threshold
    detector = BlazeFaceDetector(models / "face_detection_short_range.tflite")
    frames = read_frames(media / GIF)
    if not frames:
        raise RuntimeError(f"cannot decode {media / GIF}")

    def face_of(frame: np.ndarray, x_range: tuple[int, int]):  # best face in that half
        faces = detector.detect_region(frame, (x_range[0], 0, x_range[1], frame.shape[0]), 0.7)
        return faces[0] if faces else None

    embed_ms: list[float] = []

    def detail(image: np.ndarray, box) -> float:  # the face's sharpness, as the face step measures it
        x1, y1, x2, y2 = clip_box(box, image.shape[1], image.shape[0])
        return sharpness(image[y1:y2, x1:x2])

    def embed(image: np.ndarray, box) -> np.ndarray:
        started = time.perf_counter()
        vector = embedder.embed(image, box)
        embed_ms.append((time.perf_counter() - started) * 1000.0)
        return vector

    with tempfile.TemporaryDirectory() as tmp:
        gallery = FaceGallery(Path(tmp), embedder)
        for name, x_range in PEOPLE.items():
            for index in ENROL_FRAMES:
                face = face_of(frames[index], x_range)
                if face is None:
                    raise RuntimeError(f"no face for {name} in enrolment frame {index}")
                gallery.enrol(name, frames[index], face.box, f"{GIF}#{index}")
        names = [p.name for p in gallery.people()]

        probes = correct = missed_faces = impostor_trials = impostor_accepts = 0
        genuine: list[float] = []
        impostor: list[float] = []
        for index, frame in enumerate(frames):
            if index in ENROL_FRAMES or index % probe_step:
                continue
            for name, x_range in PEOPLE.items():
                face = face_of(frame, x_range)
                if face is None:
                    missed_faces += 1
                    continue
                vector = embed(frame, face.box)
                probes += 1
                scores = gallery.scores(vector, detail(frame, face.box))  # the score naming uses
                best = max(scores, key=scores.__getitem__)
                if best == name and scores[best] >= threshold:
                    correct += 1
                genuine.append(scores[name])
                for other in names:
                    if other != name:
                        score = scores[other]
                        impostor.append(score)
                        impostor_trials += 1
                        impostor_accepts += score >= threshold
        strangers = stranger_accepts = 0
        stranger_scores: list[float] = []
        for file in STRANGERS:
            image = cv2.imread(str(media / file))
            for face in detector.detect(image, 0.7):
                strangers += 1
                match = gallery.best_match(embed(image, face.box), detail(image, face.box))
                score = match.score if match else 0.0
                stranger_scores.append(score)
                stranger_accepts += score >= threshold
        gallery.close()

    return {
        "embedder": embedder.name,
        "threshold": threshold,
        "enrolled": {n: len(ENROL_FRAMES) for n in names},
        "probes": probes,
        "probe_faces_missed": missed_faces,
        "identification_accuracy": correct / probes if probes else 0.0,
        "strangers": strangers,
        "stranger_false_accepts": stranger_accepts,
        "impostor_trials": impostor_trials,
        "impostor_false_accept_rate": impostor_accepts / impostor_trials if impostor_trials else 0.0,
        "genuine_similarity_min": min(genuine) if genuine else None,
        "impostor_similarity_max": max(impostor + stranger_scores) if impostor or stranger_scores else None,
        "embed_ms_median": statistics.median(embed_ms) if embed_ms else None,
        "detect_ms": detector.inference_ms,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=Path, default=SHARED / "models")
    parser.add_argument("--media", type=Path, default=SHARED / "media")
    parser.add_argument("--threshold", type=float, default=None)
    parser.add_argument("--probe-step", type=int, default=1, help="probe every n-th frame only")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    result = evaluate(args.models, args.media, args.threshold, probe_step=args.probe_step)
    if args.json:
        json.dump(result, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    for key, value in result.items():
        shown = f"{value:.3f}" if isinstance(value, float) else value
        print(f"{key:28s} {shown}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
