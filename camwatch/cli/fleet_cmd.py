"""`camwatch fleet status | publish FILE | clear`: the integrator's view of many nodes on one broker."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from camwatch.cli.common import CliError, add_config_argument, load

if TYPE_CHECKING:
    from camwatch.config.mqtt import MqttConfig


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("fleet", help="status of every node on the broker; publish signed model updates")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    status = actions.add_parser("status", help="one line per node: online, version, model, cameras, disk, update")
    add_config_argument(status)
    status.add_argument("--json", action="store_true", help="print the retained messages as JSON")
    status.add_argument("--timeout", type=float, default=5.0, help="seconds to wait for the broker")
    status.set_defaults(func=status_command)
    publish = actions.add_parser("publish", help="publish a signed manifest as the retained desired model")
    add_config_argument(publish)
    publish.add_argument("file", type=Path, help="output of `camwatch models sign`")
    publish.set_defaults(func=publish_command)
    clear = actions.add_parser("clear", help="remove the retained desired model (nodes keep what they run)")
    add_config_argument(clear)
    clear.add_argument("--node", default=None, help="this node's desired model (default: the fleet's)")
    clear.set_defaults(func=clear_command)


def _mqtt(args: argparse.Namespace) -> MqttConfig:
    return load(args, cameras=()).mqtt


def status_command(args: argparse.Namespace) -> int:
    from camwatch.fleet.reader import read_fleet, render_table

    try:
        nodes = read_fleet(_mqtt(args), timeout=args.timeout)
    except ConnectionError as exc:
        raise CliError(str(exc)) from None
    now = time.time()
    if args.json:  # JSON escapes every control character: nothing received reaches the terminal raw
        data = {name: {"available": v.available, "state": v.state(now), "status": v.status,
                       "model_state": v.model_state, "problems": v.problems}
                for name, v in nodes.items()}  # fmt: skip
        print(json.dumps(data, indent=1, ensure_ascii=True))
    else:
        sys.stdout.write(render_table(nodes, now))
    return 0


def _publish_retained(config: MqttConfig, topic: str, payload: bytes) -> None:
    import uuid

    from camwatch.comms.client import MqttConfigError, MqttConnection

    try:
        connection = MqttConnection(config, f"camwatch-fleet-publish-{uuid.uuid4().hex[:8]}", None, quiet=True)
    except MqttConfigError as exc:
        raise CliError(str(exc)) from None
    connection.start()
    try:
        if not connection.connected.wait(10):
            raise CliError(f"cannot reach the MQTT broker {connection.where}: {connection.last_error or 'timed out'}")
        if not connection.publish_wait(topic, payload, timeout=10, retain=True):
            raise CliError(f"the broker did not acknowledge the message on {topic}")
    finally:
        connection.stop()


def publish_command(args: argparse.Namespace) -> int:
    from camwatch.comms.topics import Topics
    from camwatch.fleet.manifest import FLEET_TARGET, ManifestError, parse_manifest

    try:
        payload = args.file.read_bytes()
        manifest = parse_manifest(json.loads(json.loads(payload)["manifest"]))
    except (OSError, ValueError, KeyError, TypeError, ManifestError) as exc:
        raise CliError(f"{args.file} is not a signed manifest from `camwatch models sign`: {exc}") from None
    config = _mqtt(args)
    topics = Topics(config.topic_prefix, config.discovery_prefix, manifest.target if manifest.target != FLEET_TARGET
                    else "fleet-publisher")  # fmt: skip
    topic = topics.fleet_model_desired if manifest.for_fleet else topics.model_desired
    _publish_retained(config, topic, payload)
    print(f"published {manifest.label} as the desired model on {topic} (retained)")
    return 0


def clear_command(args: argparse.Namespace) -> int:
    from camwatch.comms.topics import Topics
    from camwatch.node import check_node_name

    config = _mqtt(args)
    if args.node:
        try:
            check_node_name(args.node)
        except ValueError as exc:
            raise CliError(str(exc)) from None
    topics = Topics(config.topic_prefix, config.discovery_prefix, args.node or "fleet-publisher")
    topic = topics.model_desired if args.node else topics.fleet_model_desired
    _publish_retained(config, topic, b"")
    print(f"cleared the retained desired model on {topic}")
    return 0
