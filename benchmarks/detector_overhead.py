"""Detector overhead: bare interpreter.invoke() vs the whole Detector.detect() vs decoding.

All three are measured in one run on the same decoded frames of a real clip, interleaved
so that machine load affects them alike. Target: detect() <= 1.10 x bare invoke for the
300x300 SSD.

    python benchmarks/detector_overhead.py [--clip PATH] [--model PATH] [--frames N] [--threads T]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import cv2

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
sys.path.insert(0, str(ROOT))

from camwatch.detectors.plugins.ssd import SsdDetector, load_labels  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clip", type=Path, default=SHARED / "media" / "one-by-one-person-detection.mp4")
    parser.add_argument("--model", type=Path,
                        default=SHARED / "models" / "coco_ssd_mobilenet_v1_1.0_quant_2018_06_29_detect.tflite")
    parser.add_argument("--labels", type=Path, default=ROOT / "models" / "coco_labels.txt")
    parser.add_argument("--frames", type=int, default=200)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--runtime", default="auto")
    args = parser.parse_args()

    cap = cv2.VideoCapture(str(args.clip))
    frames, decode_s = [], []
    while len(frames) < args.frames:
        t = time.perf_counter()
        ok, frame = cap.read()
        decode_s.append(time.perf_counter() - t)
        if not ok:
            cap.release()
            cap = cv2.VideoCapture(str(args.clip))
            continue
        frames.append(frame)
    cap.release()

    det = SsdDetector(args.model, load_labels(args.labels), device="cpu", num_threads=args.threads,
                      runtime=args.runtime)
    tensors = [det.preprocess(f)[0] for f in frames]
    for f in frames[:10]:  # warm-up
        det.detect(f)
    invoke_s, detect_s = [], []
    for frame, tensor in zip(frames, tensors, strict=True):
        t = time.perf_counter()
        det.invoke(tensor)
        invoke_s.append(time.perf_counter() - t)
        t = time.perf_counter()
        det.detect(frame)
        detect_s.append(time.perf_counter() - t)

    def ms(values: list[float]) -> float:
        return statistics.median(values) * 1000

    h, w = frames[0].shape[:2]
    print(f"clip {args.clip.name} ({w}x{h}), {len(frames)} frames, runtime {det.runtime.name} "
          f"{det.runtime.version}, {args.threads} thread(s), model input {det.input_size}")
    print(f"decode (OpenCV/FFmpeg)    median {ms(decode_s):7.2f} ms/frame")
    print(f"bare invoke()             median {ms(invoke_s):7.2f} ms")
    print(f"Detector.detect()         median {ms(detect_s):7.2f} ms  (resize, RGB, invoke, decode boxes)")
    ratio = ms(detect_s) / ms(invoke_s)
    print(f"ratio detect/invoke       {ratio:.3f}  (target <= 1.10: {'PASS' if ratio <= 1.10 else 'FAIL'})")
    print(f"ratio decode/invoke       {ms(decode_s) / ms(invoke_s):.3f}")
    return 0 if ratio <= 1.10 else 1


if __name__ == "__main__":
    sys.exit(main())
