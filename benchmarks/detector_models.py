"""Detector models side by side: milliseconds per inference and person hits on the eval clips.

Every object-detector model of the manifest whose file is found (``--models-dir``, default
../shared/models, then the data directory) runs on the same sampled frames of the evaluation
clips, interleaved frame by frame so that machine load affects them alike. Printed per model:

- ms per ``detect()`` (median) and its ratio to the first model, measured in this one run;
- person *frame* recall: the share of sampled frames inside a required visit with a person
  box at or above the threshold (full frame, no motion regions, no tracker: this is the
  model's share of the job, not the pipeline's recall);
- false person frames: sampled frames with a person box where nobody is (empty clips, and
  outside every visit, required or not, with 1 s of margin);
- per required visit: the best person score seen;
- campus clip: person boxes counted against the ground-truth people per frame;
- hits per detector-second: recall-frames found per second of inference.

    python benchmarks/detector_models.py [--fps 2] [--threads 2] [--threshold 0.5 0.65]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import cv2

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
sys.path.insert(0, str(ROOT))

from camwatch.detectors.base import Detection, Detector  # noqa: E402
from camwatch.detectors.factory import ModelSpec, build_detector  # noqa: E402
from camwatch.models import ModelManager, load_manifest  # noqa: E402
from camwatch.paths import default_data_dir  # noqa: E402

MARGIN_S = 1.0


@dataclass
class Sample:
    clip: str
    t: float
    frame: object
    required: list[str]  # required visits in view
    anyone: bool  # some visit (required or not) within the margin
    empty_clip: bool
    people: int | None = None  # campus ground truth at this second


@dataclass
class Tally:
    detect_ms: list[float] = field(default_factory=list)
    visit_frames: dict[float, int] = field(default_factory=dict)  # threshold -> frames with a person
    false_frames: dict[float, int] = field(default_factory=dict)
    best: dict[str, float] = field(default_factory=dict)  # clip:visit -> best person score
    campus_error: dict[float, list[int]] = field(default_factory=dict)


def find_models(models_dir: Path, data_dir: Path) -> list[ModelSpec]:
    manager = ModelManager(data_dir)
    specs = []
    for entry in load_manifest().values():
        if not entry.is_object_detector:
            continue
        for folder in (models_dir, manager.directory):
            path = folder / entry.main.file
            if path.is_file():
                labels = manager.labels_path(entry.name)
                assert labels is not None
                specs.append(ModelSpec(entry.name, path, entry.layout, labels))
                break
    return specs


def sample_clips(eval_dir: Path, fps: float) -> list[Sample]:
    truth = json.loads((eval_dir / "groundtruth.json").read_text())["clips"]
    samples: list[Sample] = []
    for clip, info in truth.items():
        visits = info.get("visits") or []
        per_second = {float(k): int(v) for k, v in (info.get("people_per_frame") or {}).items()}
        cap = cv2.VideoCapture(str(eval_dir / "clips" / clip))
        src_fps = cap.get(cv2.CAP_PROP_FPS) or 25.0
        wanted = set(per_second) if per_second else None
        step, index, next_t = 1.0 / fps, 0, 0.0
        while True:
            ok, frame = cap.read()
            if not ok:
                break
            t = index / src_fps
            index += 1
            due = any(abs(t - s) < 0.5 / src_fps for s in wanted) if wanted is not None else t + 1e-9 >= next_t
            if not due:
                continue
            next_t += step
            samples.append(Sample(
                clip, t, frame,
                required=[v["id"] for v in visits if v["required"] and v["start"] <= t <= v["end"]],
                anyone=any(v["start"] - MARGIN_S <= t <= v["end"] + MARGIN_S for v in visits),
                empty_clip=bool(info.get("expected_zero_person_events")),
                people=per_second.get(round(t)) if per_second else None,
            ))
        cap.release()
    return samples


def run(detectors: dict[str, Detector], samples: list[Sample], thresholds: list[float]) -> dict[str, Tally]:
    tallies = {name: Tally() for name in detectors}
    low = min(thresholds)
    for det in detectors.values():  # warm-up
        det.detect(samples[0].frame, low)  # type: ignore[arg-type]
    for sample in samples:
        for name, det in detectors.items():
            start = time.perf_counter()
            found: list[Detection] = det.detect(sample.frame, low)  # type: ignore[arg-type]
            tally = tallies[name]
            tally.detect_ms.append((time.perf_counter() - start) * 1000)
            scores = [d.score for d in found if d.label == "person"]
            best = max(scores, default=0.0)
            for visit in sample.required:
                key = f"{sample.clip}:{visit}"
                tally.best[key] = max(tally.best.get(key, 0.0), best)
            for t in thresholds:
                hit = best >= t
                if sample.required:
                    tally.visit_frames[t] = tally.visit_frames.get(t, 0) + hit
                if sample.empty_clip or (sample.people is None and not sample.anyone):
                    tally.false_frames[t] = tally.false_frames.get(t, 0) + hit
                if sample.people is not None:
                    tally.campus_error.setdefault(t, []).append(sum(s >= t for s in scores) - sample.people)
    return tallies


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--eval", type=Path, default=SHARED / "eval")
    parser.add_argument("--models-dir", type=Path, default=SHARED / "models")
    parser.add_argument("--data-dir", type=Path, default=None, help="also look for installed models here")
    parser.add_argument("--fps", type=float, default=2.0, help="sampled frames per second of clip")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--threshold", type=float, nargs="+", default=[0.5, 0.65])
    parser.add_argument("--models", nargs="*", default=None, help="only these manifest names")
    args = parser.parse_args()

    specs = find_models(args.models_dir, args.data_dir or default_data_dir())
    if args.models:
        specs = [s for s in specs if s.name in args.models]
    if not specs:
        print("no detector model files found", file=sys.stderr)
        return 1
    detectors = {s.name: build_detector(s, device="cpu", num_threads=args.threads) for s in specs}
    samples = sample_clips(args.eval, args.fps)
    started = time.perf_counter()
    tallies = run(detectors, samples, args.threshold)
    visit_frames = sum(bool(s.required) for s in samples)
    empty_frames = sum(s.empty_clip or (s.people is None and not s.anyone) for s in samples)
    print(f"{len(samples)} sampled frames ({args.fps:g}/s of clip, campus at its ground-truth seconds): "
          f"{visit_frames} inside required visits, {empty_frames} with nobody; {args.threads} thread(s); "
          f"run took {time.perf_counter() - started:.0f} s")
    first = specs[0].name
    base_ms = statistics.median(tallies[first].detect_ms)
    for spec in specs:
        tally, det = tallies[spec.name], detectors[spec.name]
        ms = statistics.median(tally.detect_ms)
        print(f"\n{spec.name}  input {det.input_size[0]}x{det.input_size[1]}  "
              f"detect {ms:.1f} ms median (x{ms / base_ms:.2f} of {first})")
        for t in args.threshold:
            hits = tally.visit_frames.get(t, 0)
            false = tally.false_frames.get(t, 0)
            errors = tally.campus_error.get(t, [])
            bias = statistics.mean(errors) if errors else 0.0
            per_s = hits / (sum(tally.detect_ms) / 1000)
            print(f"  person >= {t:.2f}: visit frames {hits}/{visit_frames} ({hits / max(visit_frames, 1):.0%}), "
                  f"false frames {false}/{empty_frames}, campus count error {bias:+.1f}/frame, "
                  f"{per_s:.2f} visit-frame hits per detector-second")
        print("  best person score per required visit: "
              + ", ".join(f"{k} {v:.2f}" for k, v in sorted(tally.best.items())))
    for det in detectors.values():
        det.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
