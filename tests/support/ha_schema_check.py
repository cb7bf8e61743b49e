"""Home Assistant's own MQTT code judges what camwatch published. Runs in the HA venv (scripts/ha_venv.sh).

    .venv-ha/bin/python tests/support/ha_schema_check.py < capture.json > verdict.json

Input: ``{"discovery_prefix": "homeassistant", "messages": [{"topic", "payload" (base64),
"retain"}, ...]}`` — everything a subscriber saw, in order. Output: ``{"problems": [...],
"checked": {...}}``.

Each discovery config goes through what Home Assistant does with it: the discovery topic
pattern and supported components, the origin block, and the platform's
``PLATFORM_SCHEMA_MODERN`` (which, unlike ``DISCOVERY_SCHEMA``, refuses a key Home Assistant
would silently drop) and ``DISCOVERY_SCHEMA``. Then every message camwatch published on a
topic the config points at is read as that platform reads it: templates rendered by Home
Assistant's template engine (a HomeAssistant object that is never started), availability
against ``payload_available``/``payload_not_available``, binary sensors and switches
against their on/off payloads, numeric sensors as numbers, the event platform's JSON and
``event_types``, the update platform's ``MQTT_JSON_UPDATE_SCHEMA``, JSON attributes as an
object, images against their content type. Only the Python standard library and
``homeassistant`` are imported: nothing of camwatch.
"""

from __future__ import annotations

import asyncio
import base64
import importlib
import json
import sys
import tempfile
from collections import defaultdict
from typing import Any

import voluptuous as vol
from homeassistant.components.mqtt import discovery
from homeassistant.components.mqtt.const import SUPPORTED_COMPONENTS
from homeassistant.components.mqtt.update import MQTT_JSON_UPDATE_SCHEMA
from homeassistant.components.sensor import NON_NUMERIC_DEVICE_CLASSES
from homeassistant.core import HomeAssistant
from homeassistant.helpers import frame
from homeassistant.helpers.template import Template

NONE = "None"  # PAYLOAD_NONE: a state Home Assistant takes as "unknown"
IMAGE_MAGIC = {"image/jpeg": b"\xff\xd8\xff", "image/png": b"\x89PNG"}


class Checker:
    def __init__(self, hass: HomeAssistant, discovery_prefix: str) -> None:
        self.hass = hass
        self.prefix = discovery_prefix + "/"
        self.problems: list[str] = []
        self.checked: dict[str, int] = defaultdict(int)
        self._templates: dict[str, Template] = {}

    def problem(self, where: str, what: str) -> None:
        self.problems.append(f"{where}: {what}")

    def render(self, template: str | None, payload: bytes) -> str:
        """As MqttValueTemplate does: ``value`` and ``value_json`` from the payload."""
        text = payload.decode("utf-8")
        if not template:
            return text
        if template not in self._templates:
            self._templates[template] = Template(template, self.hass)
        return str(self._templates[template].async_render_with_possible_json_value(text, "<no value>"))

    # ------------------------------------------------------------ configs
    def config(self, topic: str, payload: bytes) -> dict[str, Any] | None:
        match = discovery.TOPIC_MATCHER.match(topic[len(self.prefix) :])
        if not match:
            self.problem(topic, "not a discovery topic Home Assistant matches")
            return None
        component = match.group("component")
        if component not in SUPPORTED_COMPONENTS:
            self.problem(topic, f"component {component!r} is not one Home Assistant's MQTT supports")
            return None
        try:
            raw = json.loads(payload)
        except ValueError as exc:
            self.problem(topic, f"config is not JSON ({exc})")
            return None
        if not isinstance(raw, dict):
            self.problem(topic, "config is not a JSON object")
            return None
        if not discovery._valid_origin_info(raw):
            self.problem(topic, f"origin refused: {raw.get('origin')}")
        platform = importlib.import_module(f"homeassistant.components.mqtt.{component}")
        try:
            validated = platform.PLATFORM_SCHEMA_MODERN(dict(raw))
            platform.DISCOVERY_SCHEMA(dict(raw))
        except vol.Invalid as exc:
            self.problem(topic, f"schema: {exc}")
            return None
        self.checked["configs"] += 1
        self.checked[f"configs {component}"] += 1
        return {"component": component, **validated}

    # ------------------------------------------------------------ states
    def states(self, topic: str, config: dict[str, Any], by_topic: dict[str, list[bytes]]) -> None:
        for item in config.get("availability") or []:
            for payload in by_topic.get(item["topic"], []):
                value = self.render(_text(item.get("value_template")), payload)
                allowed = {item.get("payload_available", "online"), item.get("payload_not_available", "offline")}
                self._expect(topic, item["topic"], value in allowed, f"availability {value!r} is none of {allowed}")
        attributes = config.get("json_attributes_topic")
        for payload in by_topic.get(attributes, []) if attributes else []:
            value = self.render(_text(config.get("json_attributes_template")), payload)
            self._expect(topic, attributes, isinstance(_json(value), dict), f"attributes {value[:80]!r} not a JSON object")
        component = config["component"]
        state_topic = config.get("image_topic") if component == "image" else config.get("state_topic")
        if not state_topic:
            return
        template = _text(config.get("state_value_template") or config.get("value_template"))
        for payload in by_topic.get(state_topic, []):
            if component == "image":
                magic = IMAGE_MAGIC.get(config.get("content_type", "image/jpeg"), b"")
                self._expect(topic, state_topic, payload.startswith(magic), "image bytes are not its content_type")
                continue
            value = self.render(template, payload)
            ok, why = getattr(self, f"_{component}")(config, value)
            self._expect(topic, state_topic, ok, why)

    def _expect(self, entity: str, topic: str, ok: bool, why: str) -> None:
        self.checked["states"] += 1
        self.checked[f"states on {topic.rsplit('/', 1)[-1]}"] += 1
        if not ok:
            self.problem(entity, f"{topic}: {why}")

    def _binary_sensor(self, config: dict[str, Any], value: str) -> tuple[bool, str]:
        allowed = {config["payload_on"], config["payload_off"], NONE}
        return value in allowed, f"{value!r} is none of {sorted(allowed)}"

    def _switch(self, config: dict[str, Any], value: str) -> tuple[bool, str]:
        allowed = {config.get("state_on") or config["payload_on"], config.get("state_off") or config["payload_off"], NONE}
        return value in allowed, f"{value!r} is none of {sorted(allowed)}"

    def _sensor(self, config: dict[str, Any], value: str) -> tuple[bool, str]:
        numeric = (config.get("state_class") is not None or config.get("unit_of_measurement") is not None
                   or (config.get("device_class") is not None and config["device_class"] not in NON_NUMERIC_DEVICE_CLASSES))  # fmt: skip
        if not numeric or value == NONE:
            return len(value) <= 255, f"state of {len(value)} characters"
        try:
            float(value)
        except ValueError:
            return False, f"{value!r} is not a number (the sensor is numeric)"
        return True, ""

    def _event(self, config: dict[str, Any], value: str) -> tuple[bool, str]:
        data = _json(value)
        if not isinstance(data, dict) or "event_type" not in data:
            return False, f"{value[:80]!r} is not a JSON object with event_type"
        return str(data["event_type"]) in config["event_types"], f"event_type {data['event_type']!r} not in event_types"

    def _update(self, config: dict[str, Any], value: str) -> tuple[bool, str]:
        data = _json(value)
        if not isinstance(data, dict):
            return False, f"{value[:80]!r} is not a JSON object"
        try:
            MQTT_JSON_UPDATE_SCHEMA(data)
        except vol.Invalid as exc:
            return False, f"MQTT_JSON_UPDATE_SCHEMA: {exc}"
        return True, ""


def _text(template: Any) -> str | None:
    """A validated template is a Template object; its source text."""
    return None if template is None else getattr(template, "template", str(template))


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


async def check(capture: dict[str, Any]) -> dict[str, Any]:
    hass = HomeAssistant(tempfile.mkdtemp(prefix="ha-check-"))
    frame.async_setup(hass)
    checker = Checker(hass, capture.get("discovery_prefix", "homeassistant"))
    by_topic: dict[str, list[bytes]] = defaultdict(list)
    configs: list[tuple[str, bytes]] = []
    for message in capture["messages"]:
        payload = base64.b64decode(message["payload"])
        if message["topic"].startswith(checker.prefix) and message["topic"].endswith("/config"):
            if payload:  # an empty config removes an entity
                configs.append((message["topic"], payload))
        elif payload:  # an empty retained message deletes it; nobody reads it as a state
            by_topic[message["topic"]].append(payload)
    latest: dict[str, dict[str, Any]] = {}
    for topic, payload in configs:  # every config published, not only the last one
        validated = checker.config(topic, payload)
        if validated is not None:
            latest[topic] = validated
    for topic, config in latest.items():
        checker.states(topic, config, by_topic)
    await hass.async_stop(force=True)
    return {"problems": checker.problems, "checked": dict(checker.checked)}


def main() -> int:
    capture = json.load(sys.stdin)
    json.dump(asyncio.run(check(capture)), sys.stdout, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
