"""`camwatch detect PATH`: run the detector on an image or a video and print the detections."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from camwatch.cli.common import CliError, add_config_argument, data_dir_for, load

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"}


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("detect", help="run the detector on an image or video and print detections")
    parser.add_argument("path", help="image or video file, or a stream URL (rtsp://, http://)")
    add_config_argument(parser)
    parser.add_argument("--json", action="store_true", help="one JSON object per frame")
    parser.add_argument("--threshold", type=float, default=0.5, help="minimum score (default 0.5)")
    parser.add_argument("--fps", type=float, default=None, help="sample a video at this rate (default: every frame)")
    parser.add_argument("--model", default=None, help="manifest model to use instead of the configured one")
    parser.add_argument(
        "--model-path", type=Path, default=None, help="a .tflite detector file (SSD or YOLOX, read from the file)"
    )
    parser.add_argument("--labels", type=Path, default=None, help="label file (default: the model's own)")
    parser.add_argument("--device", default=None, help="auto, cpu, usb, usb:N or pci")
    parser.add_argument("--max-frames", type=int, default=None, help="stop after this many processed frames")
    parser.set_defaults(func=detect_command)


def _detector_config(args: argparse.Namespace):
    from pydantic import ValidationError

    from camwatch.config.detector import DetectorConfig
    from camwatch.config.loader import config_path

    config = None
    if args.config or config_path(None).exists():
        config = load(args, cameras=())  # the detector settings only: no camera is opened
    base = config.detector if config else DetectorConfig()
    changes: dict = {}
    if args.model:
        changes.update(model=args.model, model_path=None, labels_path=None)
    if args.model_path:
        changes.update(model_path=args.model_path, labels_path=None)
    if args.labels:
        changes["labels_path"] = args.labels
    if args.device:
        changes["device"] = args.device
    try:
        detector = DetectorConfig.model_validate({**base.model_dump(), **changes})
    except ValidationError as exc:
        raise CliError("; ".join(e["msg"].removeprefix("Value error, ") for e in exc.errors())) from None
    return detector, data_dir_for(config)


def detect_command(args: argparse.Namespace) -> int:
    import cv2

    from camwatch.detectors.factory import create_detector
    from camwatch.secrets import redact_url
    from camwatch.sources.base import SourceKind, source_kind

    if not 0 <= args.threshold <= 1:
        raise CliError(f"--threshold must be between 0 and 1, got {args.threshold}")
    is_stream = source_kind(args.path) is SourceKind.STREAM
    path = Path(args.path)
    if not is_stream and not path.is_file():
        raise CliError(f"no such file: {args.path}")
    det_config, data_dir = _detector_config(args)
    detector = create_detector(det_config, data_dir)
    out = sys.stdout
    if not is_stream and path.suffix.lower() in IMAGE_SUFFIXES:
        image = cv2.imread(str(path))
        if image is None:
            raise CliError(f"cannot decode image {args.path}")
        _print(out, args, 0, 0.0, detector.detect(image, args.threshold))
        return 0
    params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, 5000, cv2.CAP_PROP_READ_TIMEOUT_MSEC, 3000]
    cap = cv2.VideoCapture(args.path, cv2.CAP_FFMPEG, params)
    if not cap.isOpened():
        what = f"cannot connect to {redact_url(args.path)} within 5 s" if is_stream else f"cannot open video {args.path}"
        raise CliError(what)
    src_fps = cap.get(cv2.CAP_PROP_FPS) or 25.0
    step = max(1.0, src_fps / args.fps) if args.fps else 1.0
    index, processed, next_pick = 0, 0, 0.0
    try:
        while True:
            ok, frame = cap.read()
            if not ok:
                break
            if index + 1e-9 >= next_pick:
                next_pick += step
                _print(out, args, index, index / src_fps, detector.detect(frame, args.threshold))
                processed += 1
                if args.max_frames and processed >= args.max_frames:
                    break
            index += 1
    finally:
        cap.release()
    if processed == 0:
        raise CliError(f"no frame could be decoded from {args.path}")
    if not args.json:
        print(f"# {processed} frames, mean inference {detector.inference_ms:.1f} ms", file=sys.stderr)
    return 0


def _print(out, args, index: int, t: float, detections) -> None:
    if args.json:
        out.write(json.dumps({"frame": index, "time": round(t, 3), "detections": [d.to_dict() for d in detections]}) + "\n")
        return
    if not detections:
        out.write(f"frame {index} ({t:.2f}s): no detections\n")
    for d in detections:
        x1, y1, x2, y2 = (round(v) for v in d.box)
        out.write(f"frame {index} ({t:.2f}s): {d.label} {d.score:.2f} [{x1}, {y1}, {x2}, {y2}]\n")
