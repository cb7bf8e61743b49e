"""Tamper benchmark: detection delay per tamper type and false alarms per hour on real clips.

    python benchmarks/tamper.py [--media DIR] [--fps 5]

Every real clip runs unmodified (false alarms: tamper states firing; ``view_dark`` is
counted apart, it is a low-severity notice) and, where it is long enough, with each kind
of tampering applied from 6 s on (delay from the moment the tampering is complete).
"""

from __future__ import annotations

import argparse
import logging
import statistics
import time
from pathlib import Path

from camwatch.anomaly.simulate import EXPECTED_STATE, KINDS, Scenario, sample_clip
from camwatch.anomaly.tamper import TamperDetector
from camwatch.config.anomaly import TamperConfig

ROOT = Path(__file__).resolve().parent.parent
VIDEO_SUFFIXES = {".mp4", ".h264", ".avi", ".gif", ".mkv"}
START = 6.0
RAMP = 1.5


def _clips(media: Path) -> list[Path]:
    return sorted(p for p in media.iterdir() if p.suffix.lower() in VIDEO_SUFFIXES)


def false_alarms(clips: list[Path], fps: float) -> tuple[list[str], float, int, int, list[float]]:
    rows, seconds, alarms, dark, cost = [], 0.0, 0, 0, []
    for clip in clips:
        detector = TamperDetector(TamperConfig(), camera=clip.stem)
        fired: list[str] = []
        last = 0.0
        for ts, frame in sample_clip(clip, fps):
            t0 = time.perf_counter()
            changes = detector.update(frame, ts)
            cost.append((time.perf_counter() - t0) * 1000)
            fired += [c.state for c in changes if c.active]
            last = ts
        seconds += last
        tamper = [s for s in fired if s != "view_dark"]
        alarms += len(tamper)
        dark += len(fired) - len(tamper)
        rows.append(f"| {clip.name} | {last:.0f} | {len(tamper)} | {fired.count('view_dark')} | {', '.join(tamper) or '-'} |")
    return rows, seconds, alarms, dark, cost


def delays(clips: list[Path], fps: float) -> dict[str, list[tuple[str, float | None, str]]]:
    config = TamperConfig()
    out: dict[str, list[tuple[str, float | None, str]]] = {k: [] for k in KINDS}
    for clip in clips:
        for kind in KINDS:
            expected = EXPECTED_STATE[kind]
            scenario = Scenario(kind, START, 0.0 if kind == "freeze" else RAMP)
            limit = scenario.complete + getattr(config.persistence, expected) + 3.0
            frames = list(sample_clip(clip, fps, max_seconds=limit))
            if not frames or frames[-1][0] < limit - 0.5:
                continue  # clip too short for this scenario
            detector = TamperDetector(config, camera=clip.stem)
            first = None
            for ts, frame in scenario.apply(iter(frames)):
                hits = [c for c in detector.update(frame, ts) if c.active and c.is_tamper]
                if hits and first is None:
                    first = hits[0]
            if first is None:
                out[kind].append((clip.name, None, "missed"))
            else:
                out[kind].append((clip.name, first.ts - scenario.complete, first.state))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--media", type=Path, default=ROOT.parent / "shared" / "media")
    parser.add_argument("--fps", type=float, default=5.0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    clips = _clips(args.media)
    config = TamperConfig()

    rows, seconds, alarms, dark, cost = false_alarms(clips, args.fps)
    print(f"## False alarms on unmodified clips ({len(clips)} clips, {seconds / 60:.1f} min at {args.fps:g} fps)\n")
    print("| clip | seconds | tamper alerts | view_dark notices | states |\n|---|---|---|---|---|")
    print("\n".join(rows))
    per_hour = alarms / (seconds / 3600) if seconds else 0.0
    print(f"\nTamper false alarms: {alarms} in {seconds / 3600:.3f} h = {per_hour:.1f} per hour; view_dark notices: {dark}.")
    print(f"Cost per sampled frame (incl. resize): median {statistics.median(cost):.2f} ms, p95 {sorted(cost)[int(0.95 * len(cost))]:.2f} ms.\n")

    print(f"## Detection delay after the tampering is complete (start {START:g} s, ramp {RAMP:g} s)\n")
    print("| tamper | expected state | persistence (s) | clips | detected as expected | delay median / max (s) |\n|---|---|---|---|---|---|")
    for kind, results in delays(clips, args.fps).items():
        expected = EXPECTED_STATE[kind]
        good = [d for _, d, state in results if d is not None and state == expected]
        wrong = [f"{clip}: {state}" for clip, _, state in results if state != expected]
        span = f"{statistics.median(good):.1f} / {max(good):.1f}" if good else "-"
        print(f"| {kind} | {expected} | {getattr(config.persistence, expected):g} | {len(results)} | {len(good)} | {span} |" + (f" {'; '.join(wrong)}" if wrong else ""))


if __name__ == "__main__":
    main()
