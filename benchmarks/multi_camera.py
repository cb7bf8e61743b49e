"""Many cameras in one process: four file-backed 640x480 cameras at 5 fps, in real time.

    python benchmarks/multi_camera.py [--minutes 10] [--fps 5] [--interval 10] [--json out.json]

Each camera plays a real clip (scaled to 640x480 into a temporary directory) in real time
and in a loop, through the whole pipeline (motion, shared detector, tracker, events, store,
faces, tamper). Every ``--interval`` seconds it samples, per camera, the input (decoded),
processed and skipped fps and the lag of the newest processed frame behind the wall clock,
and for the process the CPU % (2 cores → up to 200 %) and resident memory. It prints a table
over time, then PASS/FAIL lines: real time held, no growing backlog, memory flat.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import psutil

from camwatch.app import Camwatch
from camwatch.config import parse_config
from camwatch.models import ModelManager
from camwatch.sources.base import Frame

SHARED = Path(os.environ.get("CAMWATCH_SHARED", "/work/shared"))
CLIPS = {  # camera name -> real clip (scaled to 640x480 when it is not already)
    "walkway": "walking-by.h264",
    "hall": "one-by-one-person-detection.mp4",
    "office": "light-dark.h264",
    "highway": "highway_cctv_video02.avi",
}
FACE_MODELS = ("face_detection_short_range.tflite", "face_detection_full_range.tflite")
MIN_FPS_RATIO = 0.9  # processed fps must stay above 90 % of the detect fps
MAX_LAG_S = 2.0  # newest processed frame at most this far behind real time
MAX_MEMORY_SLOPE = 1.0  # MB per minute, least squares over the samples after the warm-up
WARMUP_S = 180.0  # models, SQLite page cache, first snapshots and face crops: the start-up climb


def make_clips(media: Path, out_dir: Path) -> dict[str, Path]:
    clips: dict[str, Path] = {}
    for name, clip in CLIPS.items():
        target = out_dir / f"{name}.mp4"
        subprocess.run(
            ["ffmpeg", "-loglevel", "error", "-y", "-i", str(media / clip), "-vf", "scale=640:480",
             "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", "-an", str(target)],
            check=True,
        )
        clips[name] = target
    return clips


def build_app(clips: dict[str, Path], data_dir: Path, fps: float) -> Camwatch:
    manager = ModelManager(data_dir)
    for face_model in FACE_MODELS:
        manager.import_file(SHARED / "models" / face_model)
    config = parse_config({
        "detector": {"model_path": str(SHARED / "models" / "coco_ssd_mobilenet_v1_1.0_quant_2018_06_29_detect.tflite")},
        "mqtt": {"enabled": False},
        "web": {"enabled": False},
        "cameras": {
            name: {"url": str(path), "detect": {"fps": fps}, "source": {"realtime": True, "loop": True}}
            for name, path in clips.items()
        },
    })
    return Camwatch(config, data_dir=data_dir, with_web=False, with_mqtt=False)


class LagProbe:
    """Records, per camera, how far the newest processed frame is behind the wall clock."""

    def __init__(self, app: Camwatch) -> None:
        self.lag: dict[str, float] = {}
        for name, pipeline in app.pipelines.items():
            pipeline.process = self._wrap(name, pipeline.process)  # type: ignore[method-assign]

    def _wrap(self, name: str, process: Any) -> Any:
        def measured(frame: Frame) -> Any:
            result = process(frame)
            self.lag[name] = time.time() - frame.ts
            return result

        return measured


def slope_mb_per_min(samples: list[dict[str, Any]]) -> tuple[float, float, float]:
    """Mean RSS of the first and last third and the slope between them (MB/min)."""
    third = max(1, len(samples) // 3)
    first, last = samples[:third], samples[-third:]
    m_first = statistics.fmean(s["rss_mb"] for s in first)
    m_last = statistics.fmean(s["rss_mb"] for s in last)
    t_first = statistics.fmean(s["t"] for s in first)
    t_last = statistics.fmean(s["t"] for s in last)
    minutes = max((t_last - t_first) / 60.0, 1e-6)
    return m_first, m_last, (m_last - m_first) / minutes


def steady_slope(samples: list[dict[str, Any]], warmup: float = WARMUP_S) -> float:
    """Least-squares RSS slope (MB/min) over the samples taken after ``warmup`` seconds."""
    late = [s for s in samples if s["t"] >= warmup] or samples
    if len(late) < 2:
        return 0.0
    mt = statistics.fmean(s["t"] for s in late)
    mr = statistics.fmean(s["rss_mb"] for s in late)
    var = sum((s["t"] - mt) ** 2 for s in late)
    cov = sum((s["t"] - mt) * (s["rss_mb"] - mr) for s in late)
    return 60.0 * cov / var if var else 0.0


def run(minutes: float, fps: float, interval: float, json_path: Path | None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    proc = psutil.Process()
    with tempfile.TemporaryDirectory(prefix="camwatch-bench-") as tmp:
        tmp_dir = Path(tmp)
        clips = make_clips(SHARED / "media", tmp_dir)
        app = build_app(clips, tmp_dir / "data", fps)
        probe = LagProbe(app)
        names = list(app.pipelines)
        samples: list[dict[str, Any]] = []
        header = f"{'t(s)':>6} {'load':>5} {'cpu%':>6} {'rss MB':>7} " + " ".join(
            f"{n[:7] + ' in/proc/skip/lag':>28}" for n in names
        )
        print(f"{len(names)} cameras at {fps:g} fps for {minutes:g} min, "
              f"{psutil.cpu_count()} cores, detector {app.state.detector.get('runtime')}", flush=True)
        print(header, flush=True)
        app.start()
        start = time.monotonic()
        proc.cpu_percent(None)
        stop = threading.Event()
        try:
            while not stop.wait(interval):
                elapsed = time.monotonic() - start
                stats = app.stats()
                cams = stats["cameras"]
                sample = {
                    "t": round(elapsed, 1),
                    "cpu_percent": round(proc.cpu_percent(None), 1),
                    "rss_mb": round(proc.memory_info().rss / 1e6, 1),
                    "load": round(os.getloadavg()[0], 1),
                    "cameras": {
                        n: {
                            "input_fps": cams[n]["input_fps"],
                            "processed_fps": cams[n]["processed_fps"],
                            "skipped_fps": cams[n]["skipped_fps"],
                            "skipped_total": cams[n]["skipped_total"],
                            "online": cams[n]["online"],
                            "lag_s": round(probe.lag.get(n, float("nan")), 2),
                            "frames_processed": app.workers[n].frames_processed,
                        }
                        for n in names
                    },
                }
                samples.append(sample)
                row = f"{sample['t']:>6.0f} {sample['load']:>5.1f} {sample['cpu_percent']:>6.1f} {sample['rss_mb']:>7.1f} " + " ".join(
                    "{:>28}".format(
                        f"{c['input_fps']:.1f}/{c['processed_fps']:.2f}/{c['skipped_total']}/{c['lag_s']:.2f}"
                    )
                    for c in sample["cameras"].values()
                )
                print(row, flush=True)
                if elapsed >= minutes * 60:
                    break
        finally:
            duration = time.monotonic() - start
            totals = {n: (app.workers[n].frames_processed, app.workers[n].source.skipped,
                          app.workers[n].source.frames_decoded) for n in names}
            detector_calls = app.detector.calls
            busy = app.detector.busy_seconds
            app.stop()
    return report(samples, totals, duration, fps, detector_calls, busy, json_path)


def report(
    samples: list[dict[str, Any]],
    totals: dict[str, tuple[int, int, int]],
    duration: float,
    fps: float,
    detector_calls: int,
    detector_busy: float,
    json_path: Path | None,
) -> int:
    if len(samples) < 3:
        print("FAIL: too few samples (run at least 30 s)")
        return 1
    steady = samples[1:]  # the first interval includes start-up
    ok = True
    print("\nsummary")
    print(f"{'camera':<10} {'processed':>9} {'mean fps':>8} {'min fps':>7} {'skipped':>7} {'max lag s':>9}")
    cams: dict[str, Any] = {}
    for name, (processed, skipped, decoded) in totals.items():
        fps_values = [s["cameras"][name]["processed_fps"] for s in steady]
        lags = [s["cameras"][name]["lag_s"] for s in steady]
        cams[name] = {"frames_processed": processed, "frames_decoded": decoded, "skipped": skipped,
                      "mean_fps": round(processed / duration, 2), "min_sample_fps": min(fps_values),
                      "max_lag_s": max(lags)}
        print(f"{name:<10} {processed:>9} {processed / duration:>8.2f} {min(fps_values):>7.2f} "
              f"{skipped:>7} {max(lags):>9.2f}")
    cpu = [s["cpu_percent"] for s in steady]
    m_first, m_last, slope = slope_mb_per_min(steady)
    print(f"CPU: mean {statistics.fmean(cpu):.0f} %, max {max(cpu):.0f} % (2 cores = 200 %); "
          f"detector {detector_calls} calls, busy {100 * detector_busy / duration:.0f} % of the time")
    load = [s["load"] for s in steady]
    print(f"machine load average (1 min, all processes): mean {statistics.fmean(load):.1f}, max {max(load):.1f}")
    print(f"RSS: first third {m_first:.1f} MB, last third {m_last:.1f} MB, slope {slope:+.2f} MB/min "
          "(start-up climb included)")
    late_slope = steady_slope(steady)
    print(f"RSS after the {WARMUP_S:.0f} s warm-up: least-squares slope {late_slope:+.2f} MB/min")

    held = all(c["mean_fps"] >= MIN_FPS_RATIO * fps for c in cams.values())
    print(f"{'PASS' if held else 'FAIL'}: real time held (every camera >= {MIN_FPS_RATIO * fps:.1f} fps processed)")
    no_backlog = all(c["max_lag_s"] <= MAX_LAG_S for c in cams.values())
    print(f"{'PASS' if no_backlog else 'FAIL'}: no growing backlog (newest processed frame <= {MAX_LAG_S:g} s behind)")
    flat = late_slope <= MAX_MEMORY_SLOPE
    print(f"{'PASS' if flat else 'FAIL'}: memory flat after warm-up (slope {late_slope:+.2f} <= "
          f"{MAX_MEMORY_SLOPE:g} MB/min)")
    ok = held and no_backlog and flat
    if json_path is not None:
        json_path.write_text(json.dumps({
            "duration_s": round(duration, 1), "fps": fps, "cameras": cams, "samples": samples,
            "cpu_mean": round(statistics.fmean(cpu), 1), "cpu_max": max(cpu),
            "rss_first_third_mb": round(m_first, 1), "rss_last_third_mb": round(m_last, 1),
            "rss_slope_mb_per_min": round(slope, 3), "rss_steady_slope_mb_per_min": round(late_slope, 3),
            "load_mean": round(statistics.fmean(load), 1), "detector_calls": detector_calls, "pass": ok,
        }, indent=1))
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="how long to run (default 10)")
    parser.add_argument("--fps", type=float, default=5.0, help="detect fps per camera (default 5)")
    parser.add_argument("--interval", type=float, default=10.0, help="seconds between samples (default 10)")
    parser.add_argument("--json", type=Path, default=None, help="also write the samples and summary here")
    args = parser.parse_args(argv)
    return run(args.minutes, args.fps, args.interval, args.json)


if __name__ == "__main__":
    sys.exit(main())
