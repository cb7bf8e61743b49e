"""Parsing and checking request parameters: a bad value is a 400 with a message, never a 500."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from werkzeug.exceptions import BadRequest

MAX_LIMIT = 500
DEFAULT_LIMIT = 50
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}

#: Event filters: name → (type, description) — the API, the events page and OpenAPI share them.
EVENT_FILTERS: dict[str, tuple[str, str]] = {
    "camera": ("string", "Camera name; repeat for several."),
    "label": ("string", "Object label (person, car...); repeat for several."),
    "zone": ("string", "Zone the object entered."),
    "after": ("string", "Started at or after: Unix seconds or ISO 8601 (local time when no offset)."),
    "before": ("string", "Started before: Unix seconds or ISO 8601."),
    "has_face": ("boolean", "Only events with (true) or without (false) a face."),
    "sub_label": ("string", "Recognised face name, or 'unknown'."),
    "kind": ("string", "object or anomaly."),
    "subtype": ("string", "Anomaly type (tamper, loitering, unusual_activity...)."),
    "keep": ("boolean", "Only kept (true) or not kept (false) events."),
    "limit": ("integer", f"Page size, 1..{MAX_LIMIT} (default {DEFAULT_LIMIT})."),
    "offset": ("integer", "Events to skip (pagination)."),
    "order": ("string", "desc (newest first, default) or asc."),
}


def parse_time(name: str, value: str) -> float:
    """Unix seconds or ISO 8601 (naive values are local time)."""
    text = value.strip()
    try:
        number = float(text)
    except ValueError:
        pass
    else:
        if not math.isfinite(number) or number < 0:
            raise BadRequest(f"{name}: must be a time (Unix seconds or ISO 8601), got {value!r}")
        return number
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except (ValueError, OverflowError, OSError):
        raise BadRequest(f"{name}: must be a time (Unix seconds or ISO 8601), got {value!r}") from None


def parse_bool(name: str, value: str) -> bool:
    text = value.strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise BadRequest(f"{name}: must be true or false, got {value!r}")


def parse_int(name: str, value: str, minimum: int, maximum: int) -> int:
    try:
        number = int(value.strip())
    except ValueError:
        raise BadRequest(f"{name}: must be an integer, got {value!r}") from None
    if not minimum <= number <= maximum:
        raise BadRequest(f"{name}: must be between {minimum} and {maximum}, got {number}")
    return number


def event_query(args: Any) -> dict[str, Any]:
    """Keyword arguments for ``EventStore.query`` from request args; empty values are ignored."""
    unknown = sorted(set(args.keys()) - set(EVENT_FILTERS) - {"page"})
    if unknown:
        raise BadRequest(f"unknown parameter(s): {', '.join(unknown)} (known: {', '.join(EVENT_FILTERS)})")
    query: dict[str, Any] = {"limit": DEFAULT_LIMIT, "offset": 0}
    for name in ("camera", "label"):
        values = [v.strip() for v in args.getlist(name) if v.strip()]
        if values:
            query[name] = values[0] if len(values) == 1 else values
    for name in ("zone", "sub_label", "kind", "subtype"):
        value = _single(args, name)
        if value:
            query[name] = value
    for name in ("after", "before"):
        value = _single(args, name)
        if value:
            query[name] = parse_time(name, value)
    for name in ("has_face", "keep"):
        value = _single(args, name)
        if value:
            query[name] = parse_bool(name, value)
    if _single(args, "limit"):
        query["limit"] = parse_int("limit", _single(args, "limit"), 1, MAX_LIMIT)
    if _single(args, "offset"):
        query["offset"] = parse_int("offset", _single(args, "offset"), 0, 10**9)
    order = _single(args, "order")
    if order:
        if order not in ("asc", "desc"):
            raise BadRequest(f"order: must be asc or desc, got {order!r}")
        query["order"] = order
    return query


def _single(args: Mapping[str, str], name: str) -> str:
    return (args.get(name) or "").strip()
