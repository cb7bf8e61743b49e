"""Detection quality on real footage: how many of the people a homeowner would see become events.

Runs every clip of a ground-truth file through the whole pipeline (the ``Camwatch`` app as
``camwatch replay --json`` runs it: file played as fast as the pipeline takes it, every
sampled frame processed, so the outcome never depends on the machine's speed) with the
default config, or the camera of ``--config``, and scores the person events by the rule in
``benchmarks/quality_score.py`` (the one of ../shared/eval/README.md). Prints per clip and
in total: required-visit recall, event precision, split visits, events on empty clips,
seconds from visit start to the event and to its first alert (median and p90; the alert is
the pass that announced the event: what sends the notification and the Home Assistant
alert; also of the visit's own event, as an alert for someone else in view at the time counts
for the first), events per visit, frame recall (how much of each visit a confirmed
person is in view), detector calls and CPU seconds; for clips with per-frame people counts,
the confirmed in-view people counted at those frames.

    python benchmarks/detection_quality.py [--groundtruth FILE] [--clips a.mpg b.mp4]
        [--config FILE] [--model NAME] [--model-path FILE] [--set detect.fps=5] [--json]

Face alerts are off in these runs (they do not change person events and need models a
scratch data directory does not have).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
sys.path.insert(0, str(ROOT))

from benchmarks.quality_score import ClipScore, median, percentile, score_clip, totals  # noqa: E402
from camwatch.app import Camwatch  # noqa: E402
from camwatch.config import parse_config  # noqa: E402
from camwatch.config.detector import DetectorConfig  # noqa: E402
from camwatch.config.loader import load_config  # noqa: E402
from camwatch.const import EVENT_END, EVENT_NEW, TOPIC_EVENT  # noqa: E402
from camwatch.models import load_manifest  # noqa: E402

DEFAULT_GROUNDTRUTH = SHARED / "eval" / "groundtruth.json"
SHARED_MODELS = SHARED / "models"
START_TIME = 1767610800.0  # a fixed clock (2026-01-05 11:00 UTC): event time - START_TIME = clip time
CAMERA = "eval"

# Done-when targets (default config, ../shared/eval).
TARGET_RECALL = 0.90
TARGET_PRECISION = 0.95
TARGET_SPLIT = 0.0  # one event per visit: every extra event is an extra notification
TARGET_FIRST_ALERT_P90 = 2.0  # seconds from a visit's start to its first alert, 90th percentile
TARGET_COUNT = 0.20


@dataclass
class ClipRun:
    events: list[tuple[float, float]] = field(default_factory=list)  # person events, clip time
    alerts: list[float | None] = field(default_factory=list)  # per event: clip time it alerted (None: never)
    counts: dict[float, int] = field(default_factory=dict)  # clip time -> confirmed people in view
    frames: int = 0
    detector_calls: int = 0
    cpu_seconds: float = 0.0
    wall_seconds: float = 0.0


def camera_config(args: argparse.Namespace, clip: Path) -> dict[str, Any]:
    """The whole config for one clip: ``--config``'s camera (or the defaults), as replay builds it."""
    if args.config:
        base = load_config(str(args.config))
        data = base.model_dump(mode="python", exclude_none=True)
        name = args.camera or next(iter(base.cameras))
        camera = data["cameras"][name]
    else:
        data, camera = {}, {}
    camera["url"] = str(clip)
    camera.setdefault("source", {}).update({"realtime": False, "loop": False})
    for item in args.set or []:
        key, _, raw = item.partition("=")
        node = camera
        parts = key.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = yaml.safe_load(raw)
    data["cameras"] = {CAMERA: camera}
    detector = data.setdefault("detector", {})
    if args.model:
        detector["model"] = args.model
    name = detector.get("model") or DetectorConfig().model  # the configured model, else the default
    detector["model"] = name
    detector["model_path"] = str(args.model_path or SHARED_MODELS / load_manifest()[name].main.file)
    if args.labels_path:
        detector["labels_path"] = str(args.labels_path)
    data.setdefault("faces", {})["enabled"] = False
    data.setdefault("web", {})["enabled"] = False
    data.setdefault("mqtt", {})["enabled"] = False
    data.pop("data_dir", None)
    return data


def run_clip(args: argparse.Namespace, clip: Path) -> ClipRun:
    config = parse_config(camera_config(args, clip), "detection quality")
    run = ClipRun()
    alerted_at: dict[str, float] = {}  # event id -> clip time of the pass that announced it
    ended: list[tuple[float, float, str]] = []
    with tempfile.TemporaryDirectory(prefix="camwatch-quality-") as tmp:
        cpu0, wall0 = time.process_time(), time.perf_counter()
        app = Camwatch(config, data_dir=Path(tmp), with_web=False, with_mqtt=False, start_time=START_TIME)
        pipeline = app.pipelines[CAMERA]
        process = pipeline.process

        def counting(frame):  # noqa: ANN001, ANN202 - wraps CameraPipeline.process
            result = process(frame)
            for message in result.messages:
                event = message.event
                if message.type == EVENT_NEW and event.kind == "object" and event.label == "person" and event.alerted:
                    alerted_at.setdefault(event.id, frame.ts - START_TIME)
            # in view: what the live picture, counts and occupancy show
            run.counts[round(frame.ts - START_TIME, 3)] = sum(
                1 for o in result.objects if o.label == "person" and o.present
            )
            return result

        pipeline.process = counting  # type: ignore[method-assign]

        def collect(_topic: str, message: Any) -> None:
            event = message.event
            if message.type == EVENT_END and event.kind == "object" and event.label == "person":
                end = event.end_time if event.end_time is not None else event.start_time
                ended.append((event.start_time - START_TIME, end - START_TIME, event.id))

        app.bus.subscribe("quality-bench", collect, {TOPIC_EVENT}, maxsize=100000)
        app.start()
        app.wait()
        run.frames = app.workers[CAMERA].frames_processed
        run.detector_calls = pipeline.detector_calls
        app.stop()
        run.cpu_seconds = time.process_time() - cpu0
        run.wall_seconds = time.perf_counter() - wall0
    for start, end, event_id in sorted(ended):
        run.events.append((start, end))
        run.alerts.append(alerted_at.get(event_id))
    return run


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def _num(value: float | None, fmt: str = "{:.1f}") -> str:
    return "-" if value is None else fmt.format(value)


def render(scores: list[ClipScore], runs: dict[str, ClipRun], show_events: bool) -> str:
    lines = [
        "| clip | required | found | recall | events | false | precision | split | events per visit | "
        "first alert s (median) | first alert s (p90) | frame recall | detector calls | frames | CPU s |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for s in scores:
        run = runs[s.clip]
        note = " (empty)" if s.empty_clip else (" (counts)" if not s.scored else "")
        lines.append(
            f"| {s.clip}{note} | {s.required} | {s.found} | {_pct(s.recall)} | {s.events} | "
            f"{s.false_events if s.scored else '-'} | {_pct(s.precision) if s.scored else '-'} | {s.split_visits} | "
            f"{' '.join(str(v.events) for v in s.per_visit) or '-'} | {_num(median(s.first_alerts))} | "
            f"{_num(percentile(s.first_alerts, 90))} | {_pct(s.frame_recall)} | {run.detector_calls} | {run.frames} | "
            f"{run.cpu_seconds:.1f} |"
        )
    t = totals(scores)
    lines.append(
        f"| **total** | {t.required} | {t.found} | {_pct(t.recall)} | {t.events} | {t.false_events} | "
        f"{_pct(t.precision)} | {t.split_visits} ({_pct(t.split_share)}) | {t.visit_events} / {t.found} | "
        f"{_num(median(t.first_alerts))} | {_num(percentile(t.first_alerts, 90))} | "
        f"{_pct(t.to_dict()['frame_recall_mean'])} | "
        f"{sum(r.detector_calls for r in runs.values())} | {sum(r.frames for r in runs.values())} | "
        f"{sum(r.cpu_seconds for r in runs.values()):.1f} |"
    )
    out = ["\n".join(lines), ""]
    for s in scores:
        if s.counts:
            d = s.to_dict()
            pairs = " ".join(f"{sec:g}s:{c if c is not None else '?'}/{t_}" for sec, t_, c in s.counts)
            out.append(
                f"{s.clip}: in-view people counted/truth {pairs}; sum ratio {_num(d['count_ratio'], '{:.2f}')}, "
                f"frames within ±{TARGET_COUNT:.0%}: {_pct(d['counts_within'])}"
            )
        if s.per_visit:
            out.append(f"{s.clip}: per visit " + ", ".join(
                f"{v.id}: {v.events} event(s), first alert {_num(v.first_alert)} s"
                + (f" (its own event's {_num(v.own_alert)} s)" if v.own_alert != v.first_alert else "")
                for v in s.per_visit))
        if s.missed:
            out.append(f"{s.clip}: missed required visits {', '.join(s.missed)}")
        if s.unalerted:
            out.append(f"{s.clip}: found without an alert of their own {', '.join(s.unalerted)}")
        if s.false_spans:
            out.append(f"{s.clip}: false events " + ", ".join(f"{a:.1f}-{b:.1f}" for a, b in s.false_spans))
        if show_events:
            run = runs[s.clip]
            spans = ", ".join(
                f"{a:.1f}-{b:.1f}" + (f" (alert {al:.1f})" if al is not None else "")
                for (a, b), al in zip(run.events, run.alerts, strict=True)
            ) or "-"
            out.append(f"{s.clip}: person events {spans}")
    out.append(
        f"empty clips: {t.empty_clip_events} person event(s); split visits {t.split_visits} of {t.found} found, "
        f"merged {t.merged_visits}"
    )
    out.append(f"first alert of each visit's own event: median {_num(median(t.own_alerts))} s, "
               f"p90 {_num(percentile(t.own_alerts, 90))} s (an alert for someone else in view does not count)")
    return "\n".join(out)


def verdicts(scores: list[ClipScore]) -> list[tuple[str, bool]]:
    t = totals(scores)
    out = []
    if t.recall is not None:
        out.append((f"required-visit recall {t.recall:.0%} (target >= {TARGET_RECALL:.0%})", t.recall >= TARGET_RECALL))
    if t.events:
        precision = t.precision or 0.0
        out.append((f"precision {precision:.0%} (target >= {TARGET_PRECISION:.0%})", precision >= TARGET_PRECISION))
    if t.found:
        share = t.split_share or 0.0
        out.append((f"split visits {share:.0%} (target <= {TARGET_SPLIT:.0%})", share <= TARGET_SPLIT))
        out.append((f"{t.merged_visits} merged visits (target 0)", t.merged_visits == 0))
        out.append((f"{t.unalerted_visits} found visits without an alert of their own (target 0)",
                    t.unalerted_visits == 0))
    p90 = percentile(t.first_alerts, 90)
    if p90 is not None:
        out.append((f"first alert p90 {p90:.1f} s (target <= {TARGET_FIRST_ALERT_P90:g} s)",
                    p90 <= TARGET_FIRST_ALERT_P90))
    if any(s.empty_clip for s in scores):
        out.append((f"{t.empty_clip_events} person events on empty clips (target 0)", t.empty_clip_events == 0))
    for s in scores:
        ratio = s.to_dict()["count_ratio"]
        if s.counts and ratio is not None:
            out.append((f"{s.clip}: in-view count {ratio:.2f}x the truth (target within ±{TARGET_COUNT:.0%})",
                        abs(ratio - 1.0) <= TARGET_COUNT))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--groundtruth", type=Path, default=DEFAULT_GROUNDTRUTH, help="ground-truth JSON file")
    parser.add_argument("--clips-dir", type=Path, default=None,
                        help="clips folder (default: the file's clips_dir, else clips/ beside it)")
    parser.add_argument("--clips", nargs="*", default=None, help="only these clips (file names)")
    parser.add_argument("--config", type=Path, default=None, help="config file whose camera settings to use")
    parser.add_argument("--camera", default=None, help="camera of --config (default: the first)")
    parser.add_argument("--model", default=None, help="detector model name from the manifest")
    parser.add_argument("--model-path", type=Path, default=None, help="detector file (default: the model's file in ../shared/models)")
    parser.add_argument("--labels-path", type=Path, default=None, help="label file for --model-path")
    parser.add_argument("--set", action="append", metavar="KEY=VALUE",
                        help="camera setting for this run, e.g. tracking.min_hits=3 (repeatable)")
    parser.add_argument("--events", action="store_true", help="also list every person event")
    parser.add_argument("--json", action="store_true", help="one JSON document instead of the table")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")

    document = json.loads(args.groundtruth.read_text(encoding="utf-8"))
    truth = document["clips"]
    clips_dir = args.clips_dir or args.groundtruth.resolve().parent / document.get("clips_dir", "clips")
    names = args.clips or list(truth)
    unknown = [n for n in names if n not in truth]
    if unknown:
        print(f"not in {args.groundtruth}: {', '.join(unknown)}", file=sys.stderr)
        return 2
    scores: list[ClipScore] = []
    runs: dict[str, ClipRun] = {}
    for name in names:
        clip = clips_dir / name
        if not clip.is_file():
            print(f"missing clip {clip}", file=sys.stderr)
            return 2
        run = run_clip(args, clip)
        runs[name] = run
        scores.append(score_clip(name, truth[name], run.events, run.counts, run.alerts))
        if not args.json:
            s = scores[-1]
            print(f"# {name}: {len(run.events)} person events, found {s.found}/{s.required}, "
                  f"{run.detector_calls} detector calls, {run.cpu_seconds:.1f} CPU s", file=sys.stderr, flush=True)
    checks = verdicts(scores)
    if args.json:
        doc = {
            "clips": {
                s.clip: {
                    **s.to_dict(),
                    "event_spans": [[round(a, 2), round(b, 2)] for a, b in runs[s.clip].events],
                    "event_alerts": [None if a is None else round(a, 2) for a in runs[s.clip].alerts],
                    "detector_calls": runs[s.clip].detector_calls,
                    "frames": runs[s.clip].frames,
                    "cpu_seconds": round(runs[s.clip].cpu_seconds, 2),
                    "wall_seconds": round(runs[s.clip].wall_seconds, 2),
                }
                for s in scores
            },
            "total": {
                **totals(scores).to_dict(),
                "detector_calls": sum(r.detector_calls for r in runs.values()),
                "frames": sum(r.frames for r in runs.values()),
                "cpu_seconds": round(sum(r.cpu_seconds for r in runs.values()), 2),
            },
            "checks": [{"check": text, "pass": ok} for text, ok in checks],
            "settings": args.set or [],
            "config": str(args.config) if args.config else None,
        }
        print(json.dumps(doc, indent=1))
    else:
        print(render(scores, runs, args.events))
        print()
        for text, ok in checks:
            print(f"{'PASS' if ok else 'FAIL'} {text}")
    return 0 if all(ok for _, ok in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
