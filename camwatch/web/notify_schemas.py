"""JSON Schemas of the notification API (destinations, the page link, test messages) for
the OpenAPI document (:mod:`camwatch.web.openapi`).
"""

from __future__ import annotations

from typing import Any

from camwatch.config.notify import FILTER_RULES
from camwatch.web.limits import MAX_ITEMS, MAX_URL_LENGTH, WEB_URL_PATTERN
from camwatch.web.schema_parts import (
    APPRISE_FORMAT,
    APPRISE_RULE,
    BOOLEAN,
    NUMBER,
    STRING,
    nullable,
    ref,
)


def apprise_url(max_length: int = MAX_URL_LENGTH) -> dict[str, Any]:
    return {"type": "string", "minLength": 1, "maxLength": max_length, "format": APPRISE_FORMAT,
            "description": APPRISE_RULE}


_NAMES = {key: {"type": "array", "maxItems": MAX_ITEMS,
                "items": {"type": "string", "pattern": rule.pattern, "description": f"A {rule.what}: {rule.rule}."}}
          for key, rule in FILTER_RULES.items()}

NOTIFY_SCHEMAS: dict[str, Any] = {
    "Destination": {
        "type": "object",
        "properties": {"name": STRING, "service": STRING, "enabled": BOOLEAN, "cameras": {"type": "array"},
                       "labels": {"type": "array"}, "zones": {"type": "array"}, "only_armed": BOOLEAN,
                       "attach_snapshot": BOOLEAN, "min_interval": NUMBER, "status": {"type": "object"}},
        "required": ["name", "service", "enabled", "cameras", "labels", "zones", "status"],
        "not": {"required": ["url"]},
    },
    "NotifySummary": {
        "type": "object",
        "properties": {"writable": BOOLEAN, "link": ref("NotifyLink"), "settings": {"type": "object"},
                       "destinations": {"type": "array", "items": ref("Destination")}, "choices": {"type": "object"}},
        "required": ["writable", "link", "settings", "destinations", "choices"],
    },
    "NotifyLink": {
        "type": "object",
        "properties": {"web_url": nullable(STRING),
                       "from": nullable({"enum": ["notify.web_url", "mqtt.web_url"]})},
        "required": ["web_url", "from"],
    },
    "NotifySettingsEdit": {
        "type": "object",
        "properties": {"web_url": nullable({"type": "string", "pattern": WEB_URL_PATTERN, "maxLength": MAX_URL_LENGTH,
                                            "description": "The address this page is opened at; null: no link."})},
        "required": ["web_url"],
        "additionalProperties": False,
    },
    "DestinationEdit": {
        "type": "object",
        "properties": {
            "url": {"anyOf": [apprise_url(), {"const": ""}],
                    "description": "A new address; left out or empty: the stored one stays (a new destination "
                                   "needs one)."},
            "enabled": BOOLEAN, "only_armed": BOOLEAN, "attach_snapshot": BOOLEAN,
            **_NAMES,
            "min_interval": {"type": "number", "minimum": 0, "maximum": 86400},
        },
        "additionalProperties": False,
    },
    "NotifyTest": {
        "type": "object",
        "properties": {"name": {**STRING, "description": "A saved destination (when no url is given)."},
                       "url": {"anyOf": [apprise_url(), {"const": ""}]}},
        "additionalProperties": False,
    },
    "NotifyTestResult": {"type": "object", "properties": {"ok": BOOLEAN, "error": nullable(STRING),
                                                          "service": STRING},
                         "required": ["ok", "error", "service"]},
}
