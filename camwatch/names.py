"""The rules for names: the ones that become MQTT topic levels, file names and URL parts
(cameras, zones, labels, notification destinations, nodes), and the ones people type and
other people read (face names, API token names).

Every check takes the whole string (``fullmatch``): Python's ``$`` also matches before a
closing newline, and a name ending in ``\\n`` put into an MQTT topic makes the broker drop
the connection. ``.`` and ``..`` are never names: as a URL path segment a browser removes
them, and as a file name they are this directory and the one above.

Display names: whitespace runs collapse to one space; the result must be 1 to ``max_length``
printable characters. ``str.isprintable`` refuses control characters (NUL, tabs, newlines,
ESC) and the Unicode format characters, among them the bidirectional overrides and isolates
(U+202A–U+202E, U+2066–U+2069) that can make a name display as something else.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

#: Never a name: "this directory" and "the one above" (in a path or a URL).
DOT_NAMES = frozenset({".", ".."})


class InvalidName(ValueError):
    """A name that breaks the rule; the message says which part."""


@dataclass(frozen=True)
class NameRule:
    """A name's form: ``body`` is the regular expression without anchors, ``rule`` says it in words."""

    what: str
    body: str
    rule: str
    _regex: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_regex", re.compile(self.body, re.ASCII))

    @property
    def pattern(self) -> str:
        """The rule anchored for JSON Schema (ECMAScript, where ``$`` is the very end)."""
        return f"^{self.body}$"

    def matches(self, value: object) -> bool:
        """``value`` is a string that is a name of this kind, as a whole."""
        return isinstance(value, str) and value not in DOT_NAMES and self._regex.fullmatch(value) is not None

    # A rule has no partial match: ``match`` and ``fullmatch`` (as on a compiled pattern,
    # which the node name once was) both mean the whole string.
    match = fullmatch = matches

    def check(self, value: object) -> str:
        """``value`` when it is a name of this kind, else :class:`InvalidName` saying the rule."""
        if not self.matches(value):
            raise InvalidName(f"{self.what} {value!r} must be {self.rule}")
        return value  # type: ignore[return-value]


_SLUG_RULE = "1-64 lower case letters, digits and _ (starting with a letter or digit)"
#: Cameras, zones and notification destinations: MQTT topic levels, Home Assistant ids, URLs.
CAMERA_NAME = NameRule("camera name", r"[a-z0-9][a-z0-9_]{0,63}", _SLUG_RULE)
ZONE_NAME = NameRule("zone name", r"[a-z0-9][a-z0-9_]{0,63}", _SLUG_RULE)
DESTINATION_NAME = NameRule("destination name", r"[a-z0-9][a-z0-9_]{0,63}", _SLUG_RULE)
#: Detector labels as the models name them ("person", "traffic light", "cell phone").
LABEL_NAME = NameRule("label", r"[a-z0-9][a-z0-9 _-]{0,63}",
                      "1-64 lower case letters, digits, space, _ and - (starting with a letter or digit)")
#: A node: a host name label (RFC 1123); no ``_`` keeps ``<node>_<camera>`` unambiguous.
NODE_NAME = NameRule("node name", r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?",
                     "1-63 lower-case letters, digits and '-' (not starting or ending with '-'), like a host name")


def clean_display_name(value: object, max_length: int, what: str = "name") -> str:
    """The cleaned name, or :class:`InvalidName` (a ``ValueError``)."""
    if not isinstance(value, str):
        raise InvalidName(f"{what} must be a string")
    cleaned = " ".join(value.split())
    if not cleaned:
        raise InvalidName(f"{what} must not be empty")
    if len(cleaned) > max_length:
        raise InvalidName(f"{what} is longer than {max_length} characters")
    if not cleaned.isprintable():
        raise InvalidName(f"{what} must not contain control or text-direction characters")
    if cleaned in DOT_NAMES:
        raise InvalidName(f"{what} must not be . or ..")
    return cleaned


_ESCAPES = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


def printable(text: object, max_length: int | None = 200) -> str:
    """``text`` safe to store and show: control and text-direction characters written as
    escapes (``\\x1b``, ``\\u202e``), at most ``max_length`` characters (None: all)."""
    out = []
    for char in str(text)[:max_length]:
        if char.isprintable():
            out.append(char)
        elif char in _ESCAPES:
            out.append(_ESCAPES[char])
        else:
            code = ord(char)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}")
    return "".join(out)
