"""Zones: named polygons with the labels they care about."""

from __future__ import annotations

from pydantic import Field, field_validator

from camwatch.config.base import Section
from camwatch.names import LABEL_NAME, ZONE_NAME

#: Zone names and the labels a zone cares about end up in MQTT topics, Home Assistant entity
#: ids and URLs (no ``#``, ``+`` or ``/``, which MQTT reads as wildcards and levels; no newline,
#: which makes the broker drop the connection). The zones editor and the config loader apply
#: the same rules (camwatch.names).
ZONE_NAME_RULE = ZONE_NAME.rule


def check_zone_name(name: object) -> str:
    return ZONE_NAME.check(name)


def check_labels(labels: list[str]) -> list[str]:
    for label in labels:
        LABEL_NAME.check(label)
    return labels


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

    @field_validator("objects")
    @classmethod
    def _labels(cls, value: list[str]) -> list[str]:
        return check_labels(value)

    @field_validator("coordinates")
    @classmethod
    def _polygon(cls, value: list[tuple[float, float]]) -> list[tuple[float, float]]:
        if len(value) < 3:
            raise ValueError(f"a zone needs at least 3 points, got {len(value)}")
        return value
