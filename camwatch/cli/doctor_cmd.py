"""`camwatch doctor [--config PATH] [--timeout S] [--json]`: check the installation."""

from __future__ import annotations

import argparse

from camwatch.cli.common import add_config_argument


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "doctor",
        help="check runtime, Edge TPU, models, cameras, MQTT, disk and clock",
        description=(
            "Check this installation and print a table with a fix for each problem. "
            "Exit code: 0 all checks passed, 1 at least one failed, 2 warnings only."
        ),
    )
    add_config_argument(parser)
    parser.add_argument(
        "--timeout", type=_positive, default=10.0, help="seconds allowed per network check (default 10)"
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.set_defaults(func=doctor_command)


def doctor_command(args: argparse.Namespace) -> int:
    from camwatch.service.doctor import run_doctor

    return run_doctor(args.config, timeout=args.timeout, as_json=args.json)
