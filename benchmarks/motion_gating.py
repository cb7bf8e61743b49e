"""Motion gating benchmark: detector calls, CPU and events with and without motion gating.

Each clip runs twice through the real pipeline (``Camwatch`` app, real SSD, default detect
fps): (a) the default config, where the detector only looks where something moves, and
(b) ``motion.enabled: false``, where the detector runs on the whole frame every sampled
frame. Targets on one-by-one-person-detection.mp4: (a) makes at most 35 % of (b)'s
detector calls and loses no event (every (b) person event overlaps an (a) one in time).

    python benchmarks/motion_gating.py [--media DIR] [--model PATH] [--clips a.mp4 b.h264]
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
sys.path.insert(0, str(ROOT))

from camwatch.app import Camwatch  # noqa: E402
from camwatch.config import parse_config  # noqa: E402
from camwatch.const import DEFAULT_DETECT_FPS, EVENT_END, TOPIC_EVENT  # noqa: E402

_LOGGER = logging.getLogger(__name__)

TARGET_CLIP = "one-by-one-person-detection.mp4"
OTHER_CLIPS = ("light-dark.h264", "alternating-light.h264", "total-darkness-to-light.h264", "walking-by.h264")
MAX_CALL_SHARE = 0.35
START_TIME = 1767610800.0  # a fixed clock (2026-01-05 11:00 UTC) keeps event times comparable


@dataclass
class RunResult:
    frames: int = 0
    detector_calls: int = 0
    cpu_seconds: float = 0.0
    wall_seconds: float = 0.0
    events: list[tuple[float, float]] = field(default_factory=list)  # person (start, end), seconds into clip


def run_clip(clip: Path, model: Path, gated: bool, fps: float) -> RunResult:
    """Replay ``clip`` once through the whole pipeline; faces are off (no face models needed)."""
    camera: dict[str, Any] = {
        "url": str(clip),
        "source": {"realtime": False, "loop": False},
        "detect": {"fps": fps},
    }
    if not gated:
        camera["motion"] = {"enabled": False}
    config = parse_config(
        {
            "detector": {"model_path": str(model)},
            "faces": {"enabled": False},
            "web": {"enabled": False},
            "mqtt": {"enabled": False},
            "cameras": {"bench": camera},
        },
        "motion gating benchmark",
    )
    result = RunResult()
    with tempfile.TemporaryDirectory(prefix="camwatch-gating-") as tmp:
        cpu0, wall0 = time.process_time(), time.perf_counter()
        app = Camwatch(config, data_dir=Path(tmp), with_web=False, with_mqtt=False, start_time=START_TIME)

        def collect(_topic: str, message: Any) -> None:
            event = message.event
            if message.type == EVENT_END and event.kind == "object" and event.label == "person":
                result.events.append((event.start_time - START_TIME, (event.end_time or event.start_time) - START_TIME))

        app.bus.subscribe("gating-bench", collect, {TOPIC_EVENT}, maxsize=100000)
        app.start()
        app.wait()
        result.frames = app.workers["bench"].frames_processed
        result.detector_calls = app.pipelines["bench"].detector_calls
        app.stop()
        result.cpu_seconds = time.process_time() - cpu0
        result.wall_seconds = time.perf_counter() - wall0
    result.events.sort()
    return result


def overlaps(a: tuple[float, float], b: tuple[float, float]) -> bool:
    return a[0] <= b[1] and b[0] <= a[1]


def spans(events: list[tuple[float, float]]) -> str:
    return ", ".join(f"{s:.1f}-{e:.1f}" for s, e in events) or "-"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--media", type=Path, default=SHARED / "media")
    parser.add_argument("--model", type=Path,
                        default=SHARED / "models" / "coco_ssd_mobilenet_v1_1.0_quant_2018_06_29_detect.tflite")
    parser.add_argument("--fps", type=float, default=DEFAULT_DETECT_FPS)
    parser.add_argument("--clips", nargs="*", default=[TARGET_CLIP, *OTHER_CLIPS])
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")

    rows = [
        "| clip | mode | frames | detector calls | calls/frame | CPU s | wall s | person events (s into clip) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    verdicts: list[tuple[str, bool]] = []
    for name in args.clips:
        clip = args.media / name
        if not clip.is_file():
            print(f"missing clip {clip}", file=sys.stderr)
            return 2
        gated = run_clip(clip, args.model, True, args.fps)
        full = run_clip(clip, args.model, False, args.fps)
        for mode, run in (("gated", gated), ("full frame", full)):
            rows.append(
                f"| {name} | {mode} | {run.frames} | {run.detector_calls} | "
                f"{run.detector_calls / max(1, run.frames):.2f} | {run.cpu_seconds:.1f} | {run.wall_seconds:.1f} | "
                f"{len(run.events)}: {spans(run.events)} |"
            )
        share = gated.detector_calls / max(1, full.detector_calls)
        lost = [e for e in full.events if not any(overlaps(e, g) for g in gated.events)]
        cpu = gated.cpu_seconds / max(1e-9, full.cpu_seconds)
        print(f"{name}: gated makes {share:.0%} of full-frame detector calls, {cpu:.0%} of its CPU; "
              f"events lost by gating: {spans(lost)}", flush=True)
        if name == TARGET_CLIP:
            verdicts.append((f"{name}: detector calls {share:.1%} of full frame (target <= {MAX_CALL_SHARE:.0%})",
                             share <= MAX_CALL_SHARE))
            verdicts.append((f"{name}: no full-frame event lost by gating ({len(full.events)} checked)",
                             not lost and bool(full.events)))

    print()
    print("\n".join(rows))
    print()
    for text, ok in verdicts:
        print(f"{'PASS' if ok else 'FAIL'} {text}")
    return 0 if all(ok for _, ok in verdicts) else 1


if __name__ == "__main__":
    sys.exit(main())
