"""The `camwatch` command line. Each command lives in its own module with ``register()``.

Every command module is imported to build the parser (the command list, ``--help``), so at
its top it imports only what ``register()`` needs; what a command runs with (the config
models, OpenCV, the detector, MQTT, the app) is imported inside the command. A
`camwatch config check` then starts in a fraction of the time, which on a Raspberry Pi
is seconds per call (tests/test_cli_startup.py lists what each light command loads)."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from camwatch import __version__

_LOGGER = logging.getLogger(__name__)

COMMAND_MODULES = (
    "camwatch.cli.run_cmd",
    "camwatch.cli.replay_cmd",
    "camwatch.cli.detect_cmd",
    "camwatch.cli.config_cmd",
    "camwatch.cli.models_cmd",
    "camwatch.cli.init_cmd",
    "camwatch.cli.doctor_cmd",
    "camwatch.cli.fleet_cmd",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="camwatch",
        description="Privacy-first camera monitor: detections, events and alerts; raw video stays on the device.",
    )
    parser.add_argument("--version", action="version", version=f"camwatch {__version__}")
    parser.add_argument("--log-level", default=None, help="override the configured log level (debug, info, …)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ImportError as exc:  # an optional command whose module is absent
            _LOGGER.debug("command module %s unavailable: %s", name, exc)
            continue
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    from camwatch.cli.common import run_command

    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    return run_command(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
