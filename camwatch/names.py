"""The rule for names people type and other people read (face names, API token names).

Whitespace runs collapse to one space; the result must be 1 to ``max_length`` printable
characters. ``str.isprintable`` refuses control characters (NUL, tabs, newlines, ESC) and
the Unicode format characters, among them the bidirectional overrides and isolates
(U+202A–U+202E, U+2066–U+2069) that can make a name display as something else.
"""

from __future__ import annotations


class InvalidName(ValueError):
    """A name that breaks the rule; the message says which part."""


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
    return cleaned
