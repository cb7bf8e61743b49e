"""Reading what arrives from the broker: any client may publish anything on any topic camwatch reads.

``parse_json`` is the one way camwatch turns a received payload into data. It never raises
anything but :class:`BadPayload`: too large, not UTF-8, not JSON, nested deeper than any
camwatch message (Python's decoder would raise RecursionError), NaN or Infinity (``1e999`` too).

``printable`` makes a received text safe to print on a terminal or in a log line: control
characters (escape sequences among them) and the characters that reorder text
(bidirectional overrides) become ``?``, and it is cut to a length.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

#: Deepest nesting of any JSON message camwatch reads (a status or a manifest has 3 levels).
MAX_DEPTH = 32
#: Largest message a reader of other nodes' retained status takes (a status is ~1 KB).
MAX_STATUS_BYTES = 64 * 1024

_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb]")
_STRINGS = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_OPENERS = b"[{"
_CLOSERS = b"]}"


class BadPayload(ValueError):
    """A received payload camwatch will not use; the message says why in a few words."""


def _depth(raw: bytes) -> int:
    """Deepest bracket nesting outside strings: a cheap look before the decoder recurses."""
    import numpy as np  # only for a payload with many brackets: `camwatch fleet status` starts without it

    outside = _STRINGS.sub(b'""', raw)  # an unterminated string stays: its brackets count (it is no JSON anyway)
    codes = np.frombuffer(outside, dtype=np.uint8)
    openers, closers = np.frombuffer(_OPENERS, dtype=np.uint8), np.frombuffer(_CLOSERS, dtype=np.uint8)
    steps = np.isin(codes, openers).astype(np.int32) - np.isin(codes, closers).astype(np.int32)
    return int(np.cumsum(steps).max()) if steps.size else 0


def _no_constant(name: str) -> Any:
    raise BadPayload(f"{name} is not a number camwatch takes")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise BadPayload(f"{text[:20]} is not a number camwatch takes")
    return value


def parse_json(payload: bytes, max_bytes: int, max_depth: int = MAX_DEPTH) -> Any:
    """The JSON value of ``payload``; BadPayload when it is not one camwatch can use."""
    if len(payload) > max_bytes:
        raise BadPayload(f"{len(payload)} bytes, more than {max_bytes}")
    brackets = payload.count(b"[") + payload.count(b"{")  # fewer than the limit: no need to scan
    if brackets > max_depth and _depth(payload) > max_depth:
        raise BadPayload(f"nested deeper than {max_depth} levels")
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        raise BadPayload("not UTF-8 text") from None
    try:
        return json.loads(text, parse_constant=_no_constant, parse_float=_finite)
    except BadPayload:
        raise
    except ValueError as exc:  # JSONDecodeError
        raise BadPayload(f"not JSON ({getattr(exc, 'msg', exc)})") from None
    except RecursionError:  # the scan above makes this unreachable; kept so nothing escapes
        raise BadPayload("nested too deeply") from None


def printable(value: Any, limit: int = 80) -> str:
    """``value`` as text fit for a terminal: unprintable characters as ``?``, at most ``limit`` long."""
    text = _UNPRINTABLE.sub("?", str(value))
    return text if len(text) <= limit else text[: limit - 1] + "…"
