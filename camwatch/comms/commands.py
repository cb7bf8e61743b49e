"""MQTT commands: validate ``…/set`` payloads and apply them to ControlState.

Accepted payloads: ``ON``/``OFF`` (any case, what Home Assistant switches send), or JSON
``true``/``false``, or JSON ``{"state": "ON"|"OFF"|true|false}``. Anything else (bad
JSON, unknown camera/feature/zone, wrong type, oversized, not UTF-8) changes nothing and
produces a ``CommandError`` whose message is published on the error topic.

A command with the retain flag is refused too: the broker would replay it at every
(re)connect, so one ``mosquitto_pub -r … armed/set -m OFF`` would disarm camwatch at each
restart, over what the owner set since. The state saved in ``control.json`` wins; the
publisher also clears the retained message (an empty retained publish), and the echo of
that clear is ignored.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from camwatch.comms.inbound import BadPayload, parse_json
from camwatch.comms.log_limit import LogLimit
from camwatch.comms.topics import Topics
from camwatch.control import ControlError, ControlState

_LOGGER = logging.getLogger(__name__)

_WORDS = {"on": True, "off": False, "true": True, "false": False}
_LOG_QUIET_SECONDS = 60.0
_CLEAR_ECHO_SECONDS = 30.0


class CommandError(ValueError):
    """An invalid command; ``reason`` is a short machine-readable kind."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Command:
    camera: str | None
    feature: str
    value: bool


def parse_value(payload: bytes, max_bytes: int) -> bool:
    if len(payload) > max_bytes:
        raise CommandError("oversized", f"payload of {len(payload)} bytes is larger than {max_bytes}")
    try:
        text = payload.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise CommandError("bad_encoding", "payload is not UTF-8 text") from None
    if text.lower() in _WORDS:
        return _WORDS[text.lower()]
    try:
        value: Any = parse_json(payload, max_bytes, max_depth=2)
    except BadPayload as exc:
        raise CommandError("bad_json", f"payload is neither ON/OFF nor valid JSON ({exc})") from None
    if isinstance(value, dict):
        if set(value) != {"state"}:
            raise CommandError("wrong_type", 'a JSON object must be exactly {"state": "ON"|"OFF"}')
        value = value["state"]
        if isinstance(value, str) and value.lower() in _WORDS:
            return _WORDS[value.lower()]
    if isinstance(value, bool):
        return value
    raise CommandError("wrong_type", f"value must be ON/OFF or true/false, got {type(value).__name__}")


class CommandHandler:
    """Turns command messages into ControlState changes; never raises."""

    def __init__(self, topics: Topics, control: ControlState, max_bytes: int) -> None:
        self.topics = topics
        self.control = control
        self.max_bytes = max_bytes
        self.rejected = 0
        self._log_limit = LogLimit(_LOG_QUIET_SECONDS)
        self._cleared: dict[str, float] = {}  # topic → when camwatch cleared a retained command there

    def parse(self, topic: str, payload: bytes) -> Command:
        where = self.topics.parse_command(topic)
        if where is None:
            raise CommandError("unknown_topic", f"not a command topic: {topic}")
        camera, feature = where
        if camera is not None and camera not in self.control.cameras():
            raise CommandError("unknown_camera", f"unknown camera {camera!r}")
        value = parse_value(payload, self.max_bytes)
        return Command(camera, feature, value)

    def handle(self, topic: str, payload: bytes, retained: bool = False) -> dict[str, Any] | None:
        """Apply one command. Returns None when applied (or ignored), else the error answer to publish."""
        if not payload and (retained or self._clear_echo(topic)):
            return None  # an empty retained message only deletes one: nothing to apply
        try:
            if retained:
                self._cleared[topic[:200]] = time.monotonic()
                raise CommandError(
                    "retained",
                    "retained command refused (the broker would replay it at every start): "
                    "publish commands without the retain flag; camwatch keeps its saved state",
                )
            command = self.parse(topic, payload)
            try:
                self.control.set(command.camera, command.feature, command.value)
            except ControlError as exc:
                reason = "unknown_feature" if "unknown" in str(exc) or "no zone" in str(exc) else "wrong_type"
                raise CommandError(reason, str(exc)) from None
        except CommandError as exc:
            self.rejected += 1
            self._log_once(topic, exc)
            return {"topic": topic, "error": exc.reason, "message": str(exc), "time": round(time.time(), 3)}
        return None

    def _clear_echo(self, topic: str) -> bool:
        """The empty message camwatch published to clear a retained command, coming back."""
        when = self._cleared.pop(topic[:200], None)
        if len(self._cleared) > 1000:
            self._cleared.clear()
        return when is not None and time.monotonic() - when < _CLEAR_ECHO_SECONDS

    def _log_once(self, topic: str, exc: CommandError) -> None:
        """One line per kind of bad command and topic per minute: a flood cannot fill the log."""
        if not self._log_limit.due((topic[:200], exc.reason)):
            return
        _LOGGER.warning("rejected MQTT command on %s: %s", topic[:200], exc)
