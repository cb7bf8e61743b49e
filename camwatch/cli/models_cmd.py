"""`camwatch models list | pull [NAME] | import PATH | verify`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from camwatch.cli.common import CliError, add_config_argument, data_dir_for
from camwatch.config import ConfigError, load_config
from camwatch.models import ModelManager, print_table


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("models", help="list, download, import and verify models")
    add_config_argument(parser)
    parser.add_argument("--data-dir", default=None, help="data directory (default: config data_dir or $CAMWATCH_DATA)")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    actions.add_parser("list", help="models in the manifest and whether they are installed").set_defaults(
        func=list_command
    )
    pull = actions.add_parser("pull", help="download a model (all CPU models without NAME) and check its SHA-256")
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


def _manager(args: argparse.Namespace) -> ModelManager:
    if args.data_dir:
        return ModelManager(Path(args.data_dir))
    config = None
    if args.config:
        config = load_config(args.config)
    else:
        try:
            config = load_config(None)
        except ConfigError:
            config = None  # no config yet: use the default data directory
    return ModelManager(data_dir_for(config))


def list_command(args: argparse.Namespace) -> int:
    manager = _manager(args)
    rows = [
        {
            "name": e.name,
            "kind": e.kind,
            "status": manager.status(e.name),
            "edgetpu": ("yes" if e.edgetpu else "no"),
            "file": e.main.file,
        }
        for e in manager.entries.values()
    ]
    print(f"models directory: {manager.directory}")
    print_table(rows)
    return 0


def pull_command(args: argparse.Namespace) -> int:
    manager = _manager(args)
    names = [args.name] if args.name else [n for n, e in manager.entries.items() if e.main.url]
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
    manager = _manager(args)
    path = manager.import_file(args.path, name=args.name, sha256=args.sha256)
    print(f"imported {args.path} → {path} (SHA-256 verified)")
    return 0


def verify_command(args: argparse.Namespace) -> int:
    manager = _manager(args)
    rows = manager.verify()
    print(f"models directory: {manager.directory}")
    print_table(rows)
    bad = [r for r in rows if r["status"] == "mismatch"]
    if bad:
        print(f"{len(bad)} model file(s) do not match their SHA-256: run `camwatch models pull NAME` again", file=sys.stderr)
        return 1
    return 0
