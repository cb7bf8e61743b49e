"""`camwatch run`: watch every configured camera until SIGINT/SIGTERM."""

from __future__ import annotations

import argparse

from camwatch.cli.common import add_config_argument, load


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("run", help="run camwatch (capture, detect, track, events, web UI, MQTT)")
    add_config_argument(parser)
    parser.add_argument("--no-web", action="store_true", help="do not serve the web UI")
    parser.add_argument("--no-mqtt", action="store_true", help="do not publish to MQTT")
    parser.set_defaults(func=run_command)


def run_command(args: argparse.Namespace) -> int:
    from camwatch.app import Camwatch
    from camwatch.config import config_path

    config = load(args)
    app = Camwatch(
        config, config_path=config_path(args.config), with_web=not args.no_web, with_mqtt=not args.no_mqtt
    )
    return app.run_forever()
