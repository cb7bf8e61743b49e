"""`camwatch models list | pull [NAME] | import PATH|FOLDER | verify | keygen | sign`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from camwatch.cli.common import CliError, add_config_argument, data_dir_for
from camwatch.cli.models_sign import add_actions as add_signing_actions

if TYPE_CHECKING:
    from camwatch.config import CamwatchConfig
    from camwatch.models import ModelManager


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
    imp = actions.add_parser(
        "import", help="install a local model file, or every known model in a folder, after checking its SHA-256 (offline)"
    )
    imp.add_argument("path", type=Path, help="a model file, or a folder holding model files")
    imp.add_argument("--name", default=None, help="manifest model the file is (default: found by hash/file name)")
    imp.add_argument("--sha256", default=None, help="expected SHA-256 when the manifest has none (one file only)")
    imp.set_defaults(func=import_command)
    actions.add_parser("verify", help="check installed models against their SHA-256").set_defaults(
        func=verify_command
    )
    add_signing_actions(actions)


def _config(args: argparse.Namespace) -> CamwatchConfig | None:
    """The configuration, or None before `camwatch init` wrote one; a broken one is an error."""
    from camwatch.config import config_path, load_config

    if args.config or config_path(None).exists():
        return load_config(args.config)
    return None


def _manager(args: argparse.Namespace, config: CamwatchConfig | None) -> ModelManager:
    from camwatch.models import ModelManager

    return ModelManager(Path(args.data_dir) if args.data_dir else data_dir_for(config))


def configured_models(config: CamwatchConfig | None) -> list[str]:
    """The manifest models a configuration runs: its detector, and the face models when faces are on."""
    from camwatch.config.detector import DetectorConfig
    from camwatch.config.faces import FacesConfig
    from camwatch.model_install import models_in_use

    return models_in_use(config.detector if config else DetectorConfig(), config.faces if config else FacesConfig())


def _still_missing(manager: ModelManager, config: CamwatchConfig | None) -> str:
    """One line saying whether the configuration has every model it uses."""
    from camwatch.model_install import missing_files, missing_message

    missing = missing_files(manager, configured_models(config))
    return missing_message(manager, missing) if missing else "every model the configuration uses is installed"


def list_command(args: argparse.Namespace) -> int:
    from camwatch.models import print_table

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
    from camwatch.model_install import missing_files, missing_message
    from camwatch.models import ModelError

    config = _config(args)
    manager = _manager(args, config)
    names = [args.name] if args.name else configured_models(config)
    if args.url and len(names) != 1:
        raise CliError("--url needs a model NAME")
    failed = []
    for name in names:  # every model is tried: one message then names every file still missing
        manager.get(name)  # an unknown name is an error at once
        print(f"pulling {name} …", file=sys.stderr)
        try:
            path = manager.pull(
                name, edgetpu=args.edgetpu, sha256=args.sha256, url=args.url, retries=args.retries, progress=sys.stderr
            )
        except ModelError as exc:
            print(f"{name}: {exc}", file=sys.stderr)
            failed.append(name)
            continue
        print(f"{name}: verified and installed at {path}")
    if failed:
        missing = missing_files(manager, failed)
        if args.edgetpu or not missing:
            raise CliError(f"not installed: {', '.join(failed)} (see above)")
        raise CliError(missing_message(manager, missing))
    return 0


def import_command(args: argparse.Namespace) -> int:
    config = None if args.data_dir else _config(args)
    manager = _manager(args, config)
    if args.path.is_dir():
        if args.name or args.sha256:
            raise CliError("--name and --sha256 apply to one file; give the file instead of the folder")
        return _import_folder(manager, args.path, config)
    if not args.path.exists():
        raise CliError(f"no such file or folder: {args.path}")
    path = manager.import_file(args.path, name=args.name, sha256=args.sha256)
    print(f"imported {args.path} → {path} (SHA-256 verified)")
    return 0


def _import_folder(manager: ModelManager, folder: Path, config: CamwatchConfig | None) -> int:
    from camwatch.model_install import IMPORTED, MODEL_SUFFIX, REFUSED, import_folder
    from camwatch.models import print_table

    rows = import_folder(manager, folder)
    if not rows:
        raise CliError(f"no model file (*{MODEL_SUFFIX}) in {folder}")
    print(f"models directory: {manager.directory}")
    print_table([{"file": r.file, "model": r.model or "-", "result": r.result + (f": {r.reason}" if r.reason else "")}
                 for r in rows])
    imported = sum(r.result == IMPORTED for r in rows)
    print(f"{imported} imported (SHA-256 verified); {_still_missing(manager, config)}")
    return 1 if any(r.result == REFUSED for r in rows) else 0


def verify_command(args: argparse.Namespace) -> int:
    from camwatch.model_install import missing_files, missing_message
    from camwatch.models import print_table

    config = None if args.data_dir else _config(args)
    manager = _manager(args, config)
    rows = manager.verify()
    print(f"models directory: {manager.directory}")
    print_table(rows)
    missing = missing_files(manager, configured_models(config))
    if missing:
        print(missing_message(manager, missing), file=sys.stderr)
    bad = [r for r in rows if r["status"] == "mismatch"]
    if bad:
        print(f"{len(bad)} model file(s) do not match their SHA-256: run `camwatch models pull NAME` again", file=sys.stderr)
    return 1 if bad or missing else 0
