"""Zones: named polygons with the labels they care about."""

from __future__ import annotations

import re

from pydantic import Field, field_validator

from camwatch.config.base import Section

#: Zone names end up in MQTT topics, Home Assistant entity ids and URLs: lower case letters,
#: digits and ``_`` (no ``#``, ``+`` or ``/``, which MQTT reads as wildcards and levels).
#: The zones editor and the config loader apply the same rule.
ZONE_NAME = re.compile(r"^[a-z0-9][a-z0-9_]{0,63}$")
ZONE_NAME_RULE = "1 to 64 lower case letters, digits and _ (starting with a letter or digit)"


def check_zone_name(name: object) -> str:
    if not isinstance(name, str) or not ZONE_NAME.match(name):
        raise ValueError(f"zone name {name!r} must be {ZONE_NAME_RULE}")
    return name


class ZoneConfig(Section):
    coordinates: list[tuple[float, float]] = Field(
        title="Polygon",
        description="Polygon corners as [x, y]: shares of the frame when every value lies in 0..1, else pixels.",
    )
    objects: list[str] = Field(
        default_factory=list, title="Labels", description="Labels this zone cares about; empty means every tracked label."
    )
    inertia: int = Field(
        3, ge=1, le=100, title="Inertia", description="Consecutive frames inside (or outside) before entry (or exit) counts."
    )
    loitering_time: float = Field(
        0, ge=0, title="Loitering time", description="Seconds in the zone before a loitering alert; 0 disables it."
    )
    enabled: bool = Field(True, title="Enabled", description="A disabled zone is ignored (switchable over MQTT).")

    @field_validator("coordinates")
    @classmethod
    def _polygon(cls, value: list[tuple[float, float]]) -> list[tuple[float, float]]:
        if len(value) < 3:
            raise ValueError(f"a zone needs at least 3 points, got {len(value)}")
        return value
