"""`camwatch config check [FILE]`: validate and print the effective config, secrets masked."""

from __future__ import annotations

import argparse
import sys


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("config", help="validate and show the configuration")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    check = actions.add_parser("check", help="validate a config file and print the effective config")
    check.add_argument("file", nargs="?", default=None, help="config file (default: --config, $CAMWATCH_CONFIG, /etc/camwatch/config.yml)")
    check.add_argument("--config", "-c", default=None, help=argparse.SUPPRESS)
    check.add_argument("--quiet", "-q", action="store_true", help="only report problems")
    check.set_defaults(func=check_command)


def check_command(args: argparse.Namespace) -> int:
    import yaml

    from camwatch.config import config_path, load_config, masked_dump

    path = config_path(args.file or args.config)
    config = load_config(path)  # ConfigError → printed by run_command, exit 1
    if not args.quiet:
        sys.stdout.write(f"# {path}: valid. Effective configuration (defaults filled in, secrets masked):\n")
        sys.stdout.write(yaml.safe_dump(masked_dump(config), sort_keys=False, default_flow_style=None))
    else:
        sys.stdout.write(f"{path}: valid\n")
    return 0
