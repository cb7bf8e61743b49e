"""Face or not: dlib's HOG evidence (``camwatch.faces.verify``) on what BlazeFace takes for faces.

    python benchmarks/face_or_not.py [--media DIR] [--faces-eval DIR] [--detector FILE] [--json]

Sources (every face at BlazeFace score ≥ 0.7, before the check):

* ``backs``: the faces camwatch's face step finds on one-by-one-person-detection.mp4 through the
  whole pipeline (replayed in this process, the check switched off; with the SSD and with YOLOX
  finding the people). Six visitors, all seen from
  behind: every one of these is a back of a head (look at them with ``--dump DIR``);
* ``photos``: the faces-eval photos (enrolment, probes, near-duplicates) and face.jpg, whole photo;
* ``degraded``: the protocol's surveillance-quality copies of the probes (``degrade_faces.py``:
  a 48 px face's detail; as is, grey with noise, motion-blurred);
* ``gifs``: every 4th frame of the two face GIFs; ``walker``: frames 150-320 of walking-by.h264
  (one man passing twice, in profile, blurred).

Per source: how many, the evidence (min / 10th percentile / median / max) and how many reach
``MIN_EVIDENCE``; then every face on the wrong side of it, to look at.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import yaml

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
sys.path.insert(0, str(ROOT))

from camwatch.faces.blazeface import FaceBox  # noqa: E402
from camwatch.faces.verify import MIN_EVIDENCE, FaceCheck  # noqa: E402

FACE_MODELS = ("face_detection_short_range.tflite", "face_detection_full_range.tflite")
Sample = tuple[str, str, np.ndarray, FaceBox]  # source, where, image, face


def pipeline_faces(clip: Path, detector: Path, models: Path) -> list[Sample]:
    """Faces passing the face step's gates on a clip replayed through the whole pipeline, no check."""
    from camwatch.app import Camwatch
    from camwatch.config import load_config
    from camwatch.faces import stage
    from camwatch.models import ModelManager

    found: list[Sample] = []
    passes = stage.FaceStage._passes

    def recording(self, frame, face):  # type: ignore[no-untyped-def]
        self.face_check = None
        ok = passes(self, frame, face)
        if ok:
            found.append(("backs", f"{clip.name} ({detector.stem[:5]}) box {[round(v) for v in face.box]}", frame, face))
        return ok

    stage.FaceStage._passes = recording
    try:
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            raw = {"detector": {"model_path": str(detector)}, "web": {"enabled": False},
                   "cameras": {"cam": {"url": str(clip), "source": {"realtime": False}}}}
            (work / "config.yml").write_text(yaml.safe_dump(raw))
            manager = ModelManager(work / "data")
            for name in FACE_MODELS:
                manager.import_file(models / name)
            app = Camwatch(load_config(work / "config.yml"), config_path=work / "config.yml", data_dir=work / "data",
                           with_web=False, with_mqtt=False, start_time=time.time() - 3600)
            app.start()
            app.wait(900)
            app.stop()
    finally:
        stage.FaceStage._passes = passes
    return found


def still_faces(source: str, images: list[tuple[str, np.ndarray]], models: Path) -> list[Sample]:
    from camwatch.faces.enrol import FaceFinder

    finder = FaceFinder([models / name for name in FACE_MODELS], 0.7, check=False)
    return [(source, where, image, face) for where, image in images for face in finder.faces(image)]


def frames(path: Path, step: int, first: int = 0, last: int = 10**9) -> list[tuple[str, np.ndarray]]:
    capture = cv2.VideoCapture(str(path))
    out, index = [], 0
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        if first <= index < last and index % step == 0:
            out.append((f"{path.name} frame {index}", frame))
        index += 1
    capture.release()
    return out


def photo_set(faces_eval: Path, media: Path, work: Path) -> tuple[list, list]:
    truth = json.loads((faces_eval / "groundtruth.json").read_text())
    names = sorted({p for v in truth["enrol"].values() for p in v} | set(truth["probes"]) | set(truth["near_duplicates"]))
    photos = [(p, cv2.imread(str(faces_eval / p))) for p in names] + [("face.jpg", cv2.imread(str(media / "face.jpg")))]
    to_degrade = {"enrol": truth["enrol"], "probes": {**truth["probes"], **truth["near_duplicates"]}}
    (work / "to-degrade.json").write_text(json.dumps(to_degrade))
    subprocess.run([sys.executable, str(SHARED / "tools" / "degrade_faces.py"), str(faces_eval),
                    str(work / "to-degrade.json"), str(work / "degraded"), "48"], check=True, capture_output=True)
    degraded = [(p.name, cv2.imread(str(p))) for p in sorted((work / "degraded").glob("*-*.jpg"))
                if p.stem.rsplit("-", 1)[-1] in ("low", "ir", "blur")]
    return photos, degraded


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--media", type=Path, default=SHARED / "media")
    parser.add_argument("--faces-eval", type=Path, default=SHARED / "faces-eval")
    parser.add_argument("--models", type=Path, default=SHARED / "models")
    parser.add_argument("--detector", type=Path, nargs="+", help="person detector(s) of the replay",
                        default=[SHARED / "models" / "coco_ssd_mobilenet_v1_1.0_quant_2018_06_29_detect.tflite",
                                 SHARED / "models" / "yolox_nano_ti_lite_320_full_integer_quant.tflite"])
    parser.add_argument("--dump", type=Path, default=None, help="save each face's chip here (source-index-evidence.png)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    samples = [s for d in args.detector for s in pipeline_faces(args.media / "one-by-one-person-detection.mp4", d, args.models)]
    with tempfile.TemporaryDirectory() as tmp:
        photos, degraded = photo_set(args.faces_eval, args.media, Path(tmp))
    samples += still_faces("photos", photos, args.models) + still_faces("degraded", degraded, args.models)
    gifs = frames(args.media / "face-demographics-walking.gif", 4) + frames(
        args.media / "head-pose-face-detection-female-and-male.gif", 4)
    samples += still_faces("gifs", gifs, args.models)
    samples += still_faces("walker", frames(args.media / "walking-by.h264", 1, 150, 320), args.models)

    from camwatch.faces.verify import upright_chip

    check = FaceCheck()
    report: dict[str, dict] = {}
    odd: list[str] = []
    started = time.perf_counter()
    for i, (source, where, image, face) in enumerate(samples):
        evidence = check.evidence(image, face)
        values = report.setdefault(source, {"evidence": []})["evidence"]
        values.append(evidence)
        if (evidence >= MIN_EVIDENCE) == (source == "backs"):
            odd.append(f"{source:8s} {where}  BlazeFace {face.score:.2f}, {face.width:.0f} px wide, evidence {evidence:.2f}")
        if args.dump:
            args.dump.mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(args.dump / f"{source}-{i:03d}-{evidence:.2f}.png"), upright_chip(image, face))
    per_face_ms = 1000 * (time.perf_counter() - started) / max(1, len(samples))
    for entry in report.values():
        v = np.asarray(entry.pop("evidence"))
        entry.update(n=int(v.size), min=float(v.min()), p10=float(np.percentile(v, 10)), median=float(np.median(v)),
                     max=float(v.max()), passing=int((v >= MIN_EVIDENCE).sum()))
    if args.json:
        print(json.dumps({"min_evidence": MIN_EVIDENCE, "sources": report, "odd": odd, "ms_per_face": per_face_ms}))
        return 0
    print(f"{'source':9s} {'faces':>5s} {'min':>6s} {'p10':>6s} {'median':>6s} {'max':>6s}  passing (evidence >= {MIN_EVIDENCE})")
    for source, e in report.items():
        print(f"{source:9s} {e['n']:5d} {e['min']:6.2f} {e['p10']:6.2f} {e['median']:6.2f} {e['max']:6.2f}  {e['passing']}")
    print("on the wrong side (backs passing, others refused):")
    for line in odd:
        print("  " + line)
    print(f"check: {per_face_ms:.1f} ms per face")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
