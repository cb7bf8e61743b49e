"""`camwatch replay FILE`: run a recording through the whole pipeline as fast as possible.

Prints the events (JSON lines with --json) and a summary. Integrators use it to tune zones
and thresholds on their own footage before going live. Nothing is written to the live data
directory unless --data-dir says so.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from camwatch.cli.common import CliError, data_dir_for, load
from camwatch.const import TOPIC_EVENT

if TYPE_CHECKING:
    from camwatch.config import CamwatchConfig


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("replay", help="run a recording through the whole pipeline and print the events")
    parser.add_argument("file", type=Path, help="video file")
    parser.add_argument("--config", "-c", default=None, help="config file whose camera settings to use")
    parser.add_argument("--camera", default=None, help="camera of the config to take settings from (default: first)")
    parser.add_argument("--json", action="store_true", help="events as JSON lines, then a JSON summary")
    parser.add_argument("--data-dir", type=Path, default=None, help="keep the store and snapshots here")
    parser.add_argument("--model-path", type=Path, default=None, help="detector .tflite file (overrides the config)")
    parser.add_argument("--fps", type=float, default=None, help="detect fps (overrides the config)")
    parser.add_argument("--start-time", default=None, help="wall-clock time of the first frame (ISO 8601)")
    parser.set_defaults(func=replay_command)


def _replay_config(args: argparse.Namespace) -> tuple[CamwatchConfig, str]:
    from camwatch.config import parse_config

    if args.config:
        base = load(args, cameras=())  # the recording replaces the camera: its secrets are never used
        data = base.model_dump(mode="python", exclude_none=True)
        names = list(base.cameras)
        if not names and not args.camera:  # detector, motion and event settings only
            camera = "replay"
            data["cameras"] = {camera: {"url": str(args.file)}}
        else:
            camera = args.camera or names[0]
            if camera not in base.cameras:
                listed = ", ".join(names) or "none"
                raise CliError(f"no camera {camera!r} in {args.config} (cameras: {listed})")
            data["cameras"] = {camera: data["cameras"][camera]}
    else:
        if args.camera and not args.camera.replace("_", "").isalnum():
            raise CliError("--camera must be lower case letters, digits and _")
        camera = args.camera or "replay"
        data = {"cameras": {camera: {"url": str(args.file)}}}
    cam = data["cameras"][camera]
    cam["url"] = str(args.file)
    cam.setdefault("source", {}).update({"realtime": False, "loop": False})
    if args.fps:
        cam.setdefault("detect", {})["fps"] = args.fps
    if args.model_path:
        data.setdefault("detector", {})["model_path"] = str(args.model_path)
    data.setdefault("web", {})["enabled"] = False
    data.setdefault("mqtt", {})["enabled"] = False
    data.pop("notify", None)  # replaying a recording must not message anyone's phone
    data.pop("data_dir", None)
    return parse_config(data, "replay config"), camera


def replay_command(args: argparse.Namespace) -> int:
    if not args.file.is_file():
        raise CliError(f"no such file: {args.file}")
    start_time = None
    if args.start_time:
        try:
            start_time = datetime.fromisoformat(args.start_time).timestamp()
        except ValueError:
            raise CliError(f"--start-time must be ISO 8601 (e.g. 2026-11-24T03:12), got {args.start_time!r}") from None
    if start_time is None:
        start_time = float(int(time.time()))
    config, camera = _replay_config(args)
    base_config = load(args, cameras=()) if args.config else None
    from camwatch.app import Camwatch  # once the arguments and the config are known good

    with tempfile.TemporaryDirectory(prefix="camwatch-replay-") as tmp:
        data_dir = args.data_dir or Path(tmp)
        if args.data_dir is None:
            # A scratch store, but the installed models (detector, faces) of the live data dir.
            installed = data_dir_for(base_config) / "models"
            if installed.is_dir():
                (data_dir / "models").symlink_to(installed, target_is_directory=True)
        app = Camwatch(config, data_dir=data_dir, with_web=False, with_mqtt=False,
                       start_time=start_time)
        seen: list[dict[str, Any]] = []

        def printer(topic: str, message: Any) -> None:
            data = message.to_dict()
            seen.append(data)
            if args.json:
                sys.stdout.write(json.dumps(data) + "\n")
            else:
                ev = data["event"]
                sys.stdout.write(_describe(data["type"], ev, start_time) + "\n")
            sys.stdout.flush()

        app.bus.subscribe("replay-printer", printer, {TOPIC_EVENT}, maxsize=100000)
        began = time.monotonic()
        app.start()
        app.wait()
        worker = app.workers[camera]
        app.stop()
        summary = {
            "file": str(args.file),
            "camera": camera,
            "start_time": start_time,
            "frames_decoded": worker.source.frames_decoded,
            "frames_processed": worker.frames_processed,
            "frame_errors": worker.frame_errors,
            "detector_calls": app.pipelines[camera].detector_calls,
            "events": _count(seen),
            "seconds": round(time.monotonic() - began, 2),
        }
        if args.json:
            sys.stdout.write(json.dumps({"summary": summary}) + "\n")
        else:
            sys.stdout.write(
                f"# {summary['frames_processed']} frames processed, {summary['detector_calls']} detector calls, "
                f"events: {summary['events'] or 'none'}, {summary['seconds']} s\n"
            )
    return 0


def _count(messages: list[dict[str, Any]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for m in messages:
        if m["type"] == "new":
            ev = m["event"]
            key = ev["label"] if ev.get("kind", "object") == "object" else f"anomaly:{ev.get('subtype')}"
            counts[key] = counts.get(key, 0) + 1
    return counts


def _describe(kind: str, ev: dict[str, Any], start: float) -> str:
    t = (ev["end_time"] if kind == "end" else ev["start_time"]) - start
    what = ev["label"] if ev.get("kind", "object") == "object" else f"{ev.get('subtype')} ({ev.get('severity')})"
    extra = f" zones={ev['zones_entered']}" if ev.get("zones_entered") else ""
    if ev.get("has_face"):
        extra += f" face={ev.get('sub_label') or 'seen'} ({ev.get('face_score') or 0:.2f})"
    if ev.get("description"):
        extra += f" — {ev['description']}"
    return f"{t:10.2f}s {kind:6s} {ev['camera']} {what} {ev.get('top_score', 0):.2f} id={ev['id']}{extra}"
