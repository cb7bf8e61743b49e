"""What the pipeline costs: CPU seconds and detector calls, measured in one run, either

- today's defaults against the settings that switch the recall mechanisms off (the pipeline
  as it was before them; target on one-by-one-person-detection.mp4: at most 1.5x), or
- with ``--against DIR``, this code against another checkout of camwatch (the code before a
  change, e.g. ``git archive <commit> | tar -x -C DIR``), both with their default settings
  (target: at most ``--max-ratio``, 1.1x by default).

Each clip is replayed through the whole pipeline (``benchmarks/detection_quality``: the
Camwatch app, the real detector, every sampled frame processed), alternately one way and the
other, ``--repeats`` times each; the medians are compared. With ``--against`` every run is a
process of its own (each checkout's ``benchmarks/detection_quality.py --json``), so the two
codes never share an interpreter; CPU seconds are the process's own count, which the load
of other jobs on the machine changes far less than wall time.

    python benchmarks/recall_cost.py [--clips one-by-one-person-detection.mp4] [--repeats 3]
    python benchmarks/recall_cost.py --against /tmp/camwatch-before [--model NAME] [--repeats 5]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.detection_quality import SHARED, SHARED_MODELS, run_clip  # noqa: E402
from camwatch.config.detector import DetectorConfig  # noqa: E402
from camwatch.models import load_manifest  # noqa: E402

TARGET_CLIP = "one-by-one-person-detection.mp4"
MAX_CPU_RATIO = 1.5
MAX_AGAINST_RATIO = 1.1  # this code against the code before a change
# The settings that switch the recall mechanisms off: regions at least the model input,
# one full frame, a fixed motion threshold, no weak detections, no moving or greyscale
# thresholds, no brightening.
OLD_SETTINGS = [
    "detect.max_upscale=1",
    "detect.region_context=1.2",
    "detect.full_frame_tiles=false",
    "detect.max_regions=64",
    "detect.brighten_dim=false",
    "motion.min_threshold=25",
    "tracking.keep_score=1.0",
    "tracking.greyscale_offset=0",
    "objects.filters.person.moving_threshold=1.0",
]


def _args(settings: list[str]) -> argparse.Namespace:
    return argparse.Namespace(config=None, camera=None, model=None, model_path=None, labels_path=None, set=settings)


def _run_checkout(root: Path, clip: Path, model: str) -> dict:
    """One clip through the checkout at ``root``, in a process of its own; its JSON for the clip."""
    groundtruth = {"clips": {clip.name: {"expected_zero_person_events": False, "visits": None}}}
    spec = Path(os.environ.get("TMPDIR", "/tmp")) / f"camwatch-cost-{os.getpid()}.json"
    spec.write_text(json.dumps(groundtruth), encoding="utf-8")
    model_path = SHARED_MODELS / load_manifest()[model].main.file
    try:
        result = subprocess.run(
            [sys.executable, str(root / "benchmarks" / "detection_quality.py"), "--groundtruth", str(spec),
             "--clips-dir", str(clip.parent), "--model", model, "--model-path", str(model_path), "--json"],
            cwd=root, capture_output=True, text=True, timeout=1800, env={**os.environ, "PYTHONPATH": str(root)},
        )  # fmt: skip
    finally:
        spec.unlink(missing_ok=True)
    if not result.stdout.strip().startswith("{"):
        raise SystemExit(f"{root}: {result.stderr.strip().splitlines()[-1] if result.stderr.strip() else 'no output'}")
    return json.loads(result.stdout)["clips"][clip.name]


def against(args: argparse.Namespace) -> int:
    """This code against the checkout at ``args.against``, alternately, default settings."""
    model = args.model or DetectorConfig().model
    verdicts: list[tuple[str, bool]] = []
    print(f"| clip | code | CPU s (median) | detector calls | person events |  ({model})")
    print("|---|---|---|---|---|")
    for name in args.clips:
        clip = args.media / name
        if not clip.is_file():
            print(f"missing clip {clip}", file=sys.stderr)
            return 2
        cpu: dict[str, list[float]] = {"before": [], "this": []}
        seen: dict[str, dict] = {}
        for _ in range(args.repeats):
            for code, root in (("before", args.against), ("this", ROOT)):
                run = _run_checkout(root, clip, model)
                cpu[code].append(run["cpu_seconds"])
                seen[code] = run
        med = {code: statistics.median(values) for code, values in cpu.items()}
        for code in ("before", "this"):
            print(f"| {name} | {code} | {med[code]:.2f} ({', '.join(f'{v:.1f}' for v in cpu[code])}) | "
                  f"{seen[code]['detector_calls']} | {seen[code]['events']} |", flush=True)
        ratio = med["this"] / max(1e-9, med["before"])
        calls = seen["this"]["detector_calls"] / max(1, seen["before"]["detector_calls"])
        print(f"{name}: CPU {ratio:.2f}x the code before, detector calls {calls:.2f}x")
        verdicts.append((f"{name}: CPU {ratio:.2f}x (target <= {args.max_ratio}x)", ratio <= args.max_ratio))
    for text, ok in verdicts:
        print(f"{'PASS' if ok else 'FAIL'} {text}")
    return 0 if all(ok for _, ok in verdicts) else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--media", type=Path, default=SHARED / "media")
    parser.add_argument("--clips", nargs="*", default=[TARGET_CLIP])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--against", type=Path, default=None, help="another camwatch checkout to compare with")
    parser.add_argument("--model", default=None, help="detector model (with --against; default: camwatch's)")
    parser.add_argument("--max-ratio", type=float, default=MAX_AGAINST_RATIO, help="CPU target with --against")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if args.against is not None:
        return against(args)

    verdicts: list[tuple[str, bool]] = []
    print("| clip | settings | CPU s (median) | detector calls | person events |")
    print("|---|---|---|---|---|")
    for name in args.clips:
        clip = args.media / name
        if not clip.is_file():
            print(f"missing clip {clip}", file=sys.stderr)
            return 2
        cpu: dict[str, list[float]] = {"old": [], "default": []}
        calls: dict[str, int] = {}
        events: dict[str, int] = {}
        for _ in range(args.repeats):
            for mode, settings in (("old", OLD_SETTINGS), ("default", [])):
                run = run_clip(_args(settings), clip)
                cpu[mode].append(run.cpu_seconds)
                calls[mode], events[mode] = run.detector_calls, len(run.events)
        med = {mode: statistics.median(values) for mode, values in cpu.items()}
        for mode in ("old", "default"):
            print(f"| {name} | {mode} | {med[mode]:.2f} ({', '.join(f'{v:.1f}' for v in cpu[mode])}) | "
                  f"{calls[mode]} | {events[mode]} |", flush=True)
        ratio = med["default"] / max(1e-9, med["old"])
        print(f"{name}: CPU {ratio:.2f}x the old settings', detector calls {calls['default'] / max(1, calls['old']):.2f}x")
        if name == TARGET_CLIP:
            verdicts.append((f"{name}: CPU {ratio:.2f}x (target <= {MAX_CPU_RATIO}x)", ratio <= MAX_CPU_RATIO))
    for text, ok in verdicts:
        print(f"{'PASS' if ok else 'FAIL'} {text}")
    return 0 if all(ok for _, ok in verdicts) else 1


if __name__ == "__main__":
    sys.exit(main())
