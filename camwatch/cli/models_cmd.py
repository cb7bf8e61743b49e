"""`camwatch models list | pull [NAME] | import PATH | verify | keygen | sign`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from camwatch.cli.common import CliError, add_config_argument, data_dir_for
from camwatch.cli.models_sign import add_actions as add_signing_actions
from camwatch.config import CamwatchConfig, load_config
from camwatch.config.detector import DetectorConfig
from camwatch.config.faces import FacesConfig
from camwatch.config.loader import config_path
from camwatch.models import ModelManager, print_table


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("models", help="list, download, import and verify models")
    add_config_argument(parser)
    parser.add_argument("--data-dir", default=None, help="data directory (default: config data_dir or $CAMWATCH_DATA)")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    actions.add_parser("list", help="models in the manifest and whether they are installed").set_defaults(
        func=list_command
    )
    pull = actions.add_parser(
        "pull", help="download a model (without NAME: the models the configuration uses) and check its SHA-256"
    )
    pull.add_argument("name", nargs="?", default=None)
    pull.add_argument("--edgetpu", action="store_true", help="download the Edge TPU build")
    pull.add_argument("--sha256", default=None, help="expected SHA-256 when the manifest has none")
    pull.add_argument("--url", default=None, help="download from this URL (a local mirror) instead")
    pull.add_argument("--retries", type=int, default=3)
    pull.set_defaults(func=pull_command)
    imp = actions.add_parser("import", help="install a local model file after checking its SHA-256 (offline)")
    imp.add_argument("path", type=Path)
    imp.add_argument("--name", default=None, help="manifest model the file is (default: found by hash/file name)")
    imp.add_argument("--sha256", default=None, help="expected SHA-256 when the manifest has none")
    imp.set_defaults(func=import_command)
    actions.add_parser("verify", help="check installed models against their SHA-256").set_defaults(
        func=verify_command
    )
    add_signing_actions(actions)


def _config(args: argparse.Namespace) -> CamwatchConfig | None:
    """The configuration, or None before `camwatch init` wrote one; a broken one is an error."""
    if args.config or config_path(None).exists():
        return load_config(args.config)
    return None


def _manager(args: argparse.Namespace, config: CamwatchConfig | None) -> ModelManager:
    return ModelManager(Path(args.data_dir) if args.data_dir else data_dir_for(config))


def configured_models(config: CamwatchConfig | None) -> list[str]:
    """The manifest models a configuration runs: its detector, and the face models when faces are on."""
    detector = config.detector if config else DetectorConfig()
    faces = config.faces if config else FacesConfig()
    names = [] if detector.model_path else [detector.model]
    if faces.enabled:
        names += [faces.model, faces.face_camera_model]
    return list(dict.fromkeys(names))


def list_command(args: argparse.Namespace) -> int:
    config = _config(args)
    manager = _manager(args, config)
    in_use = set(configured_models(config))
    rows = [
        {
            "name": e.name + (" *" if e.name in in_use else ""),
            "layout": e.layout,
            "status": manager.status(e.name),
            "edgetpu": ("yes" if e.edgetpu else "no"),
            "licence": e.licence.split(" (")[0],
            "file": e.main.file,
        }
        for e in manager.entries.values()
    ]
    print(f"models directory: {manager.directory}  (* = used by the configuration)")
    print_table(rows)
    return 0


def pull_command(args: argparse.Namespace) -> int:
    config = _config(args)
    manager = _manager(args, config)
    names = [args.name] if args.name else configured_models(config)
    if args.url and len(names) != 1:
        raise CliError("--url needs a model NAME")
    for name in names:
        print(f"pulling {name} …", file=sys.stderr)
        path = manager.pull(
            name, edgetpu=args.edgetpu, sha256=args.sha256, url=args.url, retries=args.retries, progress=sys.stderr
        )
        print(f"{name}: verified and installed at {path}")
    return 0


def import_command(args: argparse.Namespace) -> int:
    manager = _manager(args, None if args.data_dir else _config(args))
    path = manager.import_file(args.path, name=args.name, sha256=args.sha256)
    print(f"imported {args.path} → {path} (SHA-256 verified)")
    return 0


def verify_command(args: argparse.Namespace) -> int:
    manager = _manager(args, None if args.data_dir else _config(args))
    rows = manager.verify()
    print(f"models directory: {manager.directory}")
    print_table(rows)
    bad = [r for r in rows if r["status"] == "mismatch"]
    if bad:
        print(f"{len(bad)} model file(s) do not match their SHA-256: run `camwatch models pull NAME` again", file=sys.stderr)
        return 1
    return 0
