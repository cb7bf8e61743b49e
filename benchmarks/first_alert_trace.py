"""Why a visit's first alert comes when it does: a per-frame trace of the pipeline.

Replays one clip exactly as ``benchmarks/detection_quality.py`` does (the Camwatch app,
every sampled frame processed) and prints, for each sampled frame from ``--from`` to
``--to`` seconds of clip time:

- the motion boxes and the regions the detector looked at (and how much each was enlarged);
- every person box the detector returned in those regions down to ``--floor`` (0.1), also
  the ones the pipeline drops, so "not detected" (no box) is told apart from "detected
  below a threshold";
- each tracked person: hits, median score, travel (own heights), detections on moving
  pixels, the share of its box moving now, confirmed or not, and the frame it was announced on.

It ends with one line per object: when it was first seen, when it reached ``min_hits``,
when it first had the median score and the travel that confirm, and when it was announced.
The pipeline's behaviour is unchanged: the detector is asked for boxes down to the floor,
and the regions get exactly the boxes they would have got at the pipeline's own threshold.

    python benchmarks/first_alert_trace.py CLIP --from 0 --to 7 [--groundtruth FILE]
        [--set detect.fps=5] [--model NAME]
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.detection_quality import (  # noqa: E402
    CAMERA,
    DEFAULT_GROUNDTRUTH,
    START_TIME,
    camera_config,
)
from camwatch.app import Camwatch  # noqa: E402
from camwatch.config import parse_config  # noqa: E402
from camwatch.const import EVENT_NEW  # noqa: E402
from camwatch.detectors.base import Detection  # noqa: E402


@dataclass
class ObjectHistory:
    first_seen: float
    min_hits_at: float | None = None
    announced_at: float | None = None
    best_median: float = 0.0
    best_travel: float = 0.0
    lines: list[str] = field(default_factory=list)


def _box(b: Any) -> str:
    return "(" + ",".join(f"{v:.0f}" for v in b) + ")"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("clip", help="clip file name (in the ground truth's clips folder) or a path")
    parser.add_argument("--groundtruth", type=Path, default=DEFAULT_GROUNDTRUTH)
    parser.add_argument("--from", dest="start", type=float, default=0.0, help="clip seconds to start printing")
    parser.add_argument("--to", dest="end", type=float, default=1e9, help="clip seconds to stop printing")
    parser.add_argument("--floor", type=float, default=0.1, help="lowest person score to print")
    parser.add_argument("--model", default=None)
    parser.add_argument("--set", action="append", metavar="KEY=VALUE")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")

    clip = Path(args.clip)
    if not clip.is_file():
        import json

        document = json.loads(args.groundtruth.read_text(encoding="utf-8"))
        clip = args.groundtruth.resolve().parent / document.get("clips_dir", "clips") / args.clip
    if not clip.is_file():
        print(f"no such clip: {args.clip}", file=sys.stderr)
        return 2
    run_args = argparse.Namespace(config=None, camera=None, model=args.model, model_path=None, labels_path=None,
                                  set=args.set)
    config = parse_config(camera_config(run_args, clip), "first alert trace")
    histories: dict[str, ObjectHistory] = {}
    with tempfile.TemporaryDirectory(prefix="camwatch-trace-") as tmp:
        app = Camwatch(config, data_dir=Path(tmp), with_web=False, with_mqtt=False, start_time=START_TIME)
        pipeline = app.pipelines[CAMERA]
        detector = pipeline.detector
        model_side = detector.input_size[0]
        raw: list[tuple[tuple[int, int, int, int], Detection]] = []
        inner = detector.detect_region

        def detect_region(frame, region, threshold=None):  # noqa: ANN001, ANN202 - wraps Detector.detect_region
            found = inner(frame, region, min(args.floor, threshold if threshold is not None else 1.0))
            raw.extend((region, d) for d in found if d.label == "person")
            return [d for d in found if threshold is None or d.score >= threshold]

        detector.detect_region = detect_region  # type: ignore[method-assign]
        process = pipeline.process
        min_hits = config.cameras[CAMERA].tracking.min_hits

        def traced(frame):  # noqa: ANN001, ANN202 - wraps CameraPipeline.process
            raw.clear()
            result = process(frame)
            t = frame.ts - START_TIME
            for obj in result.objects:
                if obj.label != "person":
                    continue
                h = histories.setdefault(obj.id, ObjectHistory(obj.first_seen - START_TIME))
                if h.min_hits_at is None and obj.hits >= min_hits:
                    h.min_hits_at = t
                h.best_median = max(h.best_median, obj.median_score)
                h.best_travel = max(h.best_travel, obj.travel)
            for message in result.messages:
                event = message.event
                if message.type == EVENT_NEW and event.kind == "object" and event.label == "person":
                    h = histories.setdefault(event.id, ObjectHistory(event.start_time - START_TIME))
                    h.announced_at = t
            if not args.start <= t <= args.end:
                return result
            print(f"t={t:6.2f}  motion {len(result.motion_boxes)}: "
                  + " ".join(_box(b) for b in result.motion_boxes[:6]))
            for region in result.regions:
                side = region[2] - region[0]
                print(f"    region {_box(region)} x{model_side / max(1, side):.1f}")
            for region, det in sorted(raw, key=lambda rd: -rd[1].score):
                print(f"    person {det.score:.2f} {_box(det.box)} h={det.box[3] - det.box[1]:.0f}px in {_box(region)}")
            for obj in result.objects:
                if obj.label != "person":
                    continue
                state = "CONFIRMED" if obj.confirmed else "tentative"
                share = pipeline.motion.moving_share(obj.box) if pipeline.motion is not None else None
                seen = "seen" if obj.seen_this_frame else f"unseen misses={obj.misses}"
                print(f"    obj {obj.id[-6:]} {state} {seen} hits={obj.hits} median={obj.median_score:.2f} "
                      f"last={obj.score:.2f} travel={obj.travel:.2f} motion={obj.motion_hits}/{obj.motion_checks} "
                      f"moving now={'-' if share is None else f'{share:.0%}'} "
                      f"box={_box(obj.box)} age={t - (obj.first_seen - START_TIME):.1f}s")
            for message in result.messages:
                event = message.event
                if message.type == EVENT_NEW and event.kind == "object":
                    print(f"    ** EVENT NEW {event.label} {event.id[-6:]} start={event.start_time - START_TIME:.2f} "
                          f"alerted={event.alerted}")
            return result

        pipeline.process = traced  # type: ignore[method-assign]
        app.start()
        app.wait()
        app.stop()
    print("\nobjects (clip seconds): first seen, min_hits reached, announced; best median, best travel")
    for oid, h in sorted(histories.items(), key=lambda kv: kv[1].first_seen):
        if h.first_seen > args.end:
            continue
        print(f"  {oid[-6:]} first {h.first_seen:.2f} hits@{_num(h.min_hits_at)} announced@{_num(h.announced_at)} "
              f"median {h.best_median:.2f} travel {h.best_travel:.2f}")
    return 0


def _num(v: float | None) -> str:
    return "-" if v is None else f"{v:.2f}"


if __name__ == "__main__":
    sys.exit(main())
