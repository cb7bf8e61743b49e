"""Which Home Assistant ``event`` types (ALERT_TYPES) an EventMessage raises, and their payload.

An object event alerts once on ``new`` by its label (person, vehicle, animal, object), then
once more per new zone entered (zone_entry), once when a face is first seen (face) and once
when the face is recognised (known_face). An anomaly alerts once on ``new``: tamper,
loitering or unusual_activity. Events with ``alerted == False`` (disarmed) raise nothing,
and neither does the ``end`` of an event this run never saw begin (one closed at start
after a crash: it alerted in its own run).
"""

from __future__ import annotations

from typing import Any

from camwatch.const import ALERT_TYPES, ANIMAL_LABELS, EVENT_END, VEHICLE_LABELS
from camwatch.events.model import Event, EventMessage

TAMPER_SUBTYPES = frozenset({"tamper", "covered", "defocused", "moved", "frozen", "offline", "view_dark"})
UNKNOWN_FACE = "unknown"
UNCERTAIN_FACE = "uncertain"  # two known people matched one track: not a recognised face


def object_alert_type(label: str) -> str:
    if label == "person":
        return "person"
    if label in VEHICLE_LABELS:
        return "vehicle"
    if label in ANIMAL_LABELS:
        return "animal"
    return "object"


def anomaly_alert_type(event: Event) -> str:
    for name in (event.subtype, event.label):
        if not name:
            continue
        if name in TAMPER_SUBTYPES or name.startswith("tamper"):
            return "tamper"
        if name.startswith("loiter"):
            return "loitering"
        if name in ALERT_TYPES:
            return name
    return "unusual_activity"


class AlertTracker:
    """Remembers what each open event already raised so nothing alerts twice."""

    def __init__(self) -> None:
        self._raised: dict[str, set[str]] = {}

    def alerts_for(self, message: EventMessage) -> list[str]:
        event = message.event
        if message.type == EVENT_END and event.id not in self._raised:
            return []
        raised = self._raised.setdefault(event.id, set())
        found: list[str] = []
        if event.alerted:
            if event.kind == "anomaly":
                found.append(anomaly_alert_type(event))
            else:
                found.append(object_alert_type(event.label))
                found += [f"zone_entry:{zone}" for zone in event.zones_entered]
                if event.has_face:
                    found.append("face")
                if event.sub_label and event.sub_label not in (UNKNOWN_FACE, UNCERTAIN_FACE):
                    found.append(f"known_face:{event.sub_label}")
        new = [kind for kind in found if kind not in raised]
        raised.update(new)
        if message.type == EVENT_END:
            self._raised.pop(event.id, None)
        return new


def alert_payload(kind: str, event: Event) -> dict[str, Any]:
    """The JSON of one alert; ``event_type`` is what Home Assistant's event entity reads."""
    event_type, _, detail = kind.partition(":")
    payload: dict[str, Any] = {
        "event_type": event_type,
        "event_id": event.id,
        "camera": event.camera,
        "label": event.label,
        "kind": event.kind,
        "score": round(event.top_score or event.score, 3),
        "time": event.start_time,
        "zones": list(event.current_zones),
    }
    if event_type == "zone_entry":
        payload["zone"] = detail
    if event_type in ("face", "known_face"):
        payload["sub_label"] = event.sub_label
        payload["face_score"] = event.face_score
    if event.kind == "anomaly":
        payload.update(subtype=event.subtype, severity=event.severity, description=event.description)
    return payload
