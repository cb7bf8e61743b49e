"""The building blocks of the API's JSON Schemas: shared rules, formats and small helpers.

Request schemas say exactly what the API accepts: a body that matches is taken (2xx, or
404/409 for a missing or clashing resource), one that does not is a 400. Rules that JSON
Schema cannot state on its own (the printable-name rule of face and token names) are
named by a ``format`` and spelled out in the description.
"""

from __future__ import annotations

from typing import Any

from camwatch.names import CAMERA_NAME, DESTINATION_NAME

#: Event ids (camwatch.events.model.new_event_id) in URLs: a digit first, then the file-name rule.
EVENT_ID_URL_PATTERN = r"[0-9][A-Za-z0-9._-]{0,127}"
EVENT_ID_PATTERN = f"^{EVENT_ID_URL_PATTERN}$"
NAME_FORMAT = "camwatch-name"
NAME_RULE = (
    "1 to 64 printable characters after runs of white space collapse to one space: no control "
    "or text-direction characters"
)
APPRISE_FORMAT = "apprise-url"
APPRISE_RULE = ("An address Apprise has a service for (ntfy://topic, tgram://token/chat, mailto://user@example.com, "
                "json://host/path...): each service checks its own form. It holds keys: it is stored in a 0600 file "
                "and never sent back.")
CAMERA_NAME_PATTERN = CAMERA_NAME.pattern
DESTINATION_NAME_PATTERN = DESTINATION_NAME.pattern
MAX_SAMPLE_ID = 2**63 - 1

STRING = {"type": "string"}
NUMBER = {"type": "number"}
INTEGER = {"type": "integer"}
BOOLEAN = {"type": "boolean"}


def nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [schema, {"type": "null"}]}


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def display_name(max_length: int, extra: str = "") -> dict[str, Any]:
    return {"type": "string", "minLength": 1, "maxLength": max_length, "format": NAME_FORMAT,
            "description": NAME_RULE + extra}

