"""What the recall mechanisms cost: CPU seconds and detector calls, today's defaults against the
settings that switch them off (the pipeline as it was before them), measured in one run.

Each clip is replayed through the whole pipeline (``benchmarks/detection_quality.run_clip``:
the Camwatch app, real SSD, every sampled frame processed), alternately with the old and the
default settings, ``--repeats`` times each; the medians are compared. Target on
one-by-one-person-detection.mp4: CPU per camera at most 1.5x the old settings'.

    python benchmarks/recall_cost.py [--clips one-by-one-person-detection.mp4] [--repeats 3]
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.detection_quality import SHARED, run_clip  # noqa: E402

TARGET_CLIP = "one-by-one-person-detection.mp4"
MAX_CPU_RATIO = 1.5
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--media", type=Path, default=SHARED / "media")
    parser.add_argument("--clips", nargs="*", default=[TARGET_CLIP])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")

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
