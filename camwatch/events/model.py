"""The event record shared by the engine, the store, MQTT and the web UI.

An event is the life of one confirmed object (kind ``object``) or one anomaly (kind
``anomaly``). It is announced as ``new``, then ``update`` on significant changes only,
then ``end``. ``to_dict()`` is the JSON shape published over MQTT and the API. The id is
the tracked object's (:func:`camwatch.ids.new_event_id`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(slots=True)
class Event:
    id: str
    camera: str
    label: str
    start_time: float
    kind: str = "object"  # "object" | "anomaly"
    score: float = 0.0
    top_score: float = 0.0
    box: list[float] = field(default_factory=list)  # x1, y1, x2, y2 in frame pixels
    frame_size: list[int] = field(default_factory=list)  # width, height
    zones_entered: list[str] = field(default_factory=list)
    current_zones: list[str] = field(default_factory=list)
    end_time: float | None = None
    end_reason: str | None = None
    stationary: bool = False
    has_snapshot: bool = False
    snapshot_time: float | None = None
    # Faces (issue 6): best face score, recognised name or "unknown".
    sub_label: str | None = None
    sub_label_score: float | None = None
    has_face: bool = False
    face_score: float | None = None
    # Anomalies (issue 7).
    subtype: str | None = None
    severity: str | None = None
    description: str | None = None
    # Whether this event raised an alert (armed schedules can silence alerts).
    alerted: bool = True
    keep: bool = False
    attributes: dict[str, Any] = field(default_factory=dict)
    # Last time the object was seen (engine); the store closes crashed events at this time.
    last_seen: float | None = None
    # Number of this message within the event: new 0, then one more per update and the end.
    seq: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Event:
        names = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in names})


@dataclass(frozen=True, slots=True)
class EventMessage:
    """What travels on the bus: ``type`` is new | update | end."""

    type: str
    event: Event

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "event": self.event.to_dict()}
