"""What the gallery hands out: people, their samples, a match, and its errors."""

from __future__ import annotations

from dataclasses import dataclass


class GalleryError(ValueError):
    """A gallery request that cannot be done (bad name, unknown person, no face...)."""


class NotFound(GalleryError):
    """No such person."""


class Conflict(GalleryError):
    """The name is already taken."""


@dataclass(frozen=True)
class Person:
    id: int
    name: str
    samples: int
    created: float

    def to_dict(self) -> dict:
        return {"name": self.name, "samples": self.samples, "created": round(self.created, 3)}


@dataclass(frozen=True)
class Sample:
    """One enrolled face: its crop file, where it came from, and whether it can be recognised."""

    id: int
    source: str
    created: float
    embedded: bool

    def to_dict(self) -> dict:
        return {"id": self.id, "source": self.source, "created": round(self.created, 3), "embedded": self.embedded}


@dataclass(frozen=True)
class Match:
    name: str
    score: float
