"""A new model's first load happens in a second interpreter (a child process).

A corrupt or hostile .tflite can crash the TFLite runtime itself (a segmentation fault is
not an exception); in a child process that costs the child, never the cameras. The child
opens the file, reads its layout from the tensors and checks what camwatch expects of any
model it runs (the bundled label and shape expectations):

* the layout is the signed one, and a plugin decodes it;
* the input is the signed ``input_size`` (when given), square and 3 channels;
* the label map fits the output (YOLOX: one name per class);
* every label the node's cameras track is in the label map;
* a flat grey frame gives no detection at 0.5 — a model that "sees" objects in nothing
  would flood the event log.

It prints one JSON line: ``{"ok": true, "layout": .., "input_size": [w, h], "inference_ms": ..}``
or ``{"ok": false, "reason": ".."}``.

    python -m camwatch.fleet.probe --model F --labels L --layout yolox [--input-size 416x416]
                                   [--track '["person", "car"]'] [--runtime auto]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BLANK_SIZE = (640, 480)
BLANK_THRESHOLD = 0.5


@dataclass(frozen=True)
class ProbeResult:
    ok: bool
    reason: str | None = None
    layout: str | None = None
    input_size: tuple[int, int] | None = None
    inference_ms: float | None = None


def check_model(
    model: Path, labels: Path, layout: str, input_size: tuple[int, int] | None, track: list[str], runtime: str
) -> dict[str, Any]:
    """The checks, in this (child) process."""
    import numpy as np

    from camwatch.detectors.base import ModelError
    from camwatch.detectors.factory import ModelSpec, build_detector, probe_layout
    from camwatch.detectors.labels import load_labels

    try:
        found = probe_layout(model, runtime)
    except ModelError as exc:
        return {"ok": False, "reason": f"wrong layout: {exc}"}
    if found != layout:
        return {"ok": False, "reason": f"wrong layout: the file's tensors are {found}, the manifest says {layout}"}
    names = load_labels(labels)
    missing = [label for label in track if label not in names]
    if missing:
        return {"ok": False, "reason": f"the label map lacks {', '.join(missing)}, which the cameras track"}
    try:
        detector = build_detector(ModelSpec(model.name, model, layout, labels), runtime=runtime, num_threads=1)
    except ModelError as exc:
        return {"ok": False, "reason": str(exc)}
    try:
        width, height = detector.input_size
        if input_size is not None and (width, height) != tuple(input_size):
            return {"ok": False, "reason": f"input is {width}x{height}, the manifest says {input_size[0]}x{input_size[1]}"}
        if width != height:
            return {"ok": False, "reason": f"input {width}x{height} is not square"}
        blank = np.full((BLANK_SIZE[1], BLANK_SIZE[0], 3), 114, np.uint8)
        start = time.perf_counter()
        seen = detector.detect(blank, BLANK_THRESHOLD)
        elapsed = (time.perf_counter() - start) * 1000.0
        if seen:
            labels_seen = ", ".join(sorted({d.label for d in seen}))
            return {"ok": False, "reason": f"finds {len(seen)} object(s) ({labels_seen}) in a blank grey frame"}
    finally:
        detector.close()
    return {"ok": True, "layout": found, "input_size": [width, height], "inference_ms": round(elapsed, 1)}


def run_probe(
    model: Path, labels: Path, layout: str, input_size: tuple[int, int] | None, track: list[str],
    runtime: str = "auto", timeout: float = 120.0,
) -> ProbeResult:  # fmt: skip
    """Run the checks in a child interpreter; a crash or a hang is a refusal, never ours."""
    command = [sys.executable, "-m", "camwatch.fleet.probe", "--model", str(model), "--labels", str(labels),
               "--layout", layout, "--track", json.dumps(track), "--runtime", runtime]  # fmt: skip
    if input_size is not None:
        command += ["--input-size", f"{input_size[0]}x{input_size[1]}"]
    try:
        proc = subprocess.run(command, capture_output=True, timeout=timeout, text=True, check=False)
    except subprocess.TimeoutExpired:
        return ProbeResult(False, f"the test interpreter did not finish within {timeout:g} s")
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        how = f"signal {-proc.returncode}" if proc.returncode < 0 else f"exit code {proc.returncode}"
        tail = (proc.stderr.strip().splitlines() or [""])[-1][:200]
        return ProbeResult(False, f"the model crashed the test interpreter ({how}){': ' + tail if tail else ''}")
    data = json.loads(lines[-1])
    if not data.get("ok"):
        return ProbeResult(False, str(data.get("reason")))
    size = data.get("input_size")
    return ProbeResult(True, None, data.get("layout"), tuple(size) if size else None, data.get("inference_ms"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m camwatch.fleet.probe")
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--labels", type=Path, required=True)
    parser.add_argument("--layout", required=True)
    parser.add_argument("--input-size", default=None)
    parser.add_argument("--track", default="[]", help="JSON list of the labels the cameras track")
    parser.add_argument("--runtime", default="auto")
    args = parser.parse_args(argv)
    size = tuple(int(v) for v in args.input_size.split("x")) if args.input_size else None
    track = [str(label) for label in json.loads(args.track)]
    try:
        result = check_model(args.model, args.labels, args.layout, size, track, args.runtime)  # type: ignore[arg-type]
    except Exception as exc:  # anything else the runtime raises on a bad file
        result = {"ok": False, "reason": f"{type(exc).__name__}: {exc}"[:300]}
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
