"""`camwatch models keygen` and `camwatch models sign`: the integrator's side of signed model updates."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from camwatch.cli.common import CliError

if TYPE_CHECKING:
    from camwatch.fleet.manifest import ModelManifest


def add_actions(actions: argparse._SubParsersAction) -> None:
    keygen = actions.add_parser("keygen", help="create an Ed25519 signing key for model updates")
    keygen.add_argument("--out", type=Path, required=True, help="private key file to create (PEM, mode 600)")
    keygen.set_defaults(func=keygen_command)
    sign = actions.add_parser("sign", help="sign a model manifest for nodes to install over MQTT")
    sign.add_argument("--key", type=Path, required=True, help="private key from `camwatch models keygen`")
    sign.add_argument("--file", type=Path, required=True, help="the model file the URL serves (hashed, sized, checked)")
    sign.add_argument("--url", required=True, help="where nodes download it (http or https)")
    sign.add_argument("--version", type=int, required=True, help="must be higher than every version signed before")
    sign.add_argument("--name", default=None, help="model name (default: the file name without .tflite)")
    sign.add_argument("--layout", default=None, help="ssd or yolox (default: read from the file)")
    sign.add_argument("--labels", type=Path, default=None, help="label file (default: COCO for the layout)")
    sign.add_argument("--target", default=None, help="a node name, or * for every node (default)")
    sign.add_argument("--rollout-window", type=int, default=0,
                      help="seconds over which nodes spread their downloads (default 0: at once)")  # fmt: skip
    sign.add_argument("--skip-check", action="store_true",
                      help="sign without loading the file (to test that nodes refuse a bad model)")  # fmt: skip
    sign.add_argument("--out", type=Path, default=None, help="write the signed manifest here (default: stdout)")
    sign.set_defaults(func=sign_command)


def keygen_command(args: argparse.Namespace) -> int:
    from camwatch.fleet.signing import generate_key, write_private_key

    pair = generate_key()
    try:
        write_private_key(args.out, pair)
    except (FileExistsError, OSError) as exc:
        raise CliError(str(exc)) from None
    print(f"private key written to {args.out} (keep it off the boards; mode 600)", file=sys.stderr)
    print("put this public key in each node's config:", file=sys.stderr)
    print(f"updates:\n  keys:\n    - {pair.public}")
    return 0


def _checked(args: argparse.Namespace) -> tuple[str, tuple[int, int] | None]:
    """The file's layout and input size, read from it; refuses one the node would refuse."""
    from camwatch.detectors.base import ModelError
    from camwatch.detectors.factory import DEFAULT_LABELS, build_detector, probe_layout
    from camwatch.detectors.factory import ModelSpec as DetectorSpec

    try:
        layout = probe_layout(args.file)
    except ModelError as exc:
        raise CliError(f"{args.file}: {exc} (use --skip-check to sign it anyway)") from None
    if args.layout and args.layout != layout:
        raise CliError(f"{args.file} is a {layout} model, not {args.layout} (use --skip-check to sign it anyway)")
    labels = args.labels or DEFAULT_LABELS[layout]
    try:
        detector = build_detector(DetectorSpec(args.file.name, args.file, layout, labels), num_threads=1)
    except ModelError as exc:
        raise CliError(f"{exc} (use --skip-check to sign it anyway)") from None
    size = detector.input_size
    detector.close()
    return layout, size


def sign_command(args: argparse.Namespace) -> int:
    from camwatch.detectors.base import ModelError
    from camwatch.detectors.factory import DEFAULT_LABELS
    from camwatch.detectors.labels import load_labels
    from camwatch.fleet.manifest import FLEET_TARGET, ManifestError, parse_manifest
    from camwatch.fleet.signing import load_private_key, sign_manifest
    from camwatch.models import sha256_of

    if not args.file.is_file():
        raise CliError(f"no such file: {args.file}")
    if args.skip_check:
        if not args.layout:
            raise CliError("--skip-check needs --layout")
        layout, size = args.layout, None
    else:
        layout, size = _checked(args)
    labels_path = args.labels or DEFAULT_LABELS.get(layout)
    if labels_path is None:
        raise CliError(f"no default label file for layout {layout!r}: pass --labels")
    target = FLEET_TARGET if args.target is None else args.target
    try:
        key = load_private_key(args.key)
        manifest = parse_manifest({
            "name": args.name or args.file.name.removesuffix(".tflite"), "version": args.version, "url": args.url,
            "sha256": sha256_of(args.file), "size": args.file.stat().st_size, "layout": layout,
            "labels": load_labels(labels_path), "input_size": list(size) if size else None, "target": target,
            "rollout_window": args.rollout_window, "issued": int(time.time()),
        })  # fmt: skip
    except (ValueError, ManifestError, ModelError, OSError) as exc:
        raise CliError(str(exc)) from None
    text = json.dumps(sign_manifest(manifest, key), indent=1) + "\n"
    if args.out:
        args.out.write_text(text, encoding="utf-8")
        print(f"signed {describe(manifest)} → {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def describe(manifest: ModelManifest) -> str:
    target = "every node" if manifest.for_fleet else f"node {manifest.target}"
    return f"{manifest.label} ({manifest.layout}, {manifest.size} bytes) for {target}"
