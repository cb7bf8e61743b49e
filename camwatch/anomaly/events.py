"""Anomalies as ordinary events (kind ``anomaly``): they reach the store, MQTT and the UI.

``AnomalyEvents`` keeps the open event of each ongoing tamper state so a state change
becomes an EventMessage ``new`` (state starts) or ``end`` (state clears). While a state
lasts, ``refresh`` sends an ``update`` every ``UPDATE_INTERVAL`` seconds with ``last_seen``:
an event cut short by a crash is closed at its last sign of life, not at its start.
Loitering and unusual activity are instant: ``instant_messages`` gives a ``new`` and an
``end`` at once.
"""

from __future__ import annotations

import logging
from typing import Any

from camwatch.anomaly.activity import Unusual
from camwatch.anomaly.loitering import Loitering
from camwatch.anomaly.tamper import TamperChange
from camwatch.const import END_REASON_STOPPED, EVENT_END, EVENT_NEW, EVENT_UPDATE
from camwatch.events.model import Event, EventMessage
from camwatch.ids import new_event_id

_LOGGER = logging.getLogger(__name__)

LOITERING = "loitering"
UNUSUAL_ACTIVITY = "unusual_activity"
UPDATE_INTERVAL = 10.0  # seconds between updates of an ongoing anomaly


def make_anomaly_event(
    camera: str,
    subtype: str | None,
    severity: str,
    description: str,
    ts: float,
    *,
    box: list[float] | None = None,
    frame_size: list[int] | None = None,
    zones: list[str] | None = None,
    alerted: bool = True,
    attributes: dict[str, Any] | None = None,
) -> Event:
    """A new anomaly event; ``label`` is the subtype (or ``anomaly``)."""
    return Event(
        id=new_event_id(ts),
        camera=camera,
        label=subtype or "anomaly",
        start_time=ts,
        kind="anomaly",
        score=1.0,
        top_score=1.0,
        box=list(box or []),
        frame_size=list(frame_size or []),
        zones_entered=list(zones or []),
        current_zones=list(zones or []),
        subtype=subtype,
        severity=severity,
        description=description,
        alerted=alerted,
        attributes=dict(attributes or {}),
    )


def end_event(event: Event, ts: float, reason: str) -> Event:
    event.end_time = ts
    event.end_reason = reason
    event.last_seen = max(event.last_seen or ts, ts)
    return event


def _copy(event: Event) -> Event:
    """A private copy for one message: sinks on other threads never see later changes."""
    return Event.from_dict(event.to_dict())


def loitering_event(alert: Loitering, alerted: bool = True) -> Event:
    event = make_anomaly_event(
        alert.camera,
        LOITERING,
        "medium",
        alert.description,
        alert.ts,
        box=list(alert.box),
        frame_size=list(alert.frame_size),
        zones=[alert.zone],
        alerted=alerted,
        attributes={"object_id": alert.object_id, "object_label": alert.label, "entered": alert.entered, "dwell": alert.dwell},
    )
    return event


def unusual_event(found: Unusual, event_id: str | None = None, alerted: bool = True) -> Event:
    attributes: dict[str, Any] = {"object_label": found.label, "rate_per_hour": found.rate, "probability": found.probability}
    if event_id:
        attributes["event_id"] = event_id
    event = make_anomaly_event(
        found.camera, UNUSUAL_ACTIVITY, "medium", found.description, found.ts, alerted=alerted, attributes=attributes
    )
    return event


def instant_messages(event: Event, reason: str = "instant") -> list[EventMessage]:
    """An instant anomaly (loitering, unusual activity) as the new + end pair every sink understands."""
    ended = end_event(Event.from_dict(event.to_dict()), event.start_time, reason)
    return [EventMessage(EVENT_NEW, event), EventMessage(EVENT_END, ended)]


class AnomalyEvents:
    """Turns one camera's TamperChanges into event messages (one open event per state)."""

    def __init__(self, camera: str, frame_size: tuple[int, int] | None = None) -> None:
        self._camera = camera
        self._frame_size = list(frame_size) if frame_size else []
        self._open: dict[str, Event] = {}

    @property
    def open_events(self) -> dict[str, Event]:
        return dict(self._open)

    def on_tamper(self, change: TamperChange, alerted: bool = True) -> EventMessage | None:
        if change.active:
            if change.state in self._open:
                return None
            event = make_anomaly_event(
                self._camera,
                change.state,
                change.severity,
                change.description,
                change.ts,
                frame_size=self._frame_size,
                alerted=alerted,
                attributes={"tamper": change.is_tamper, "repeat": change.repeat},
            )
            event.last_seen = change.ts
            self._open[change.state] = event
            # The open event itself: the caller adds the snapshot to it before it is published.
            return EventMessage(EVENT_NEW, event)
        event = self._open.pop(change.state, None)
        if event is None:
            return None
        ended = _copy(event)
        ended.attributes["recovery"] = change.description
        return EventMessage(EVENT_END, end_event(ended, change.ts, "recovered"))

    def refresh(self, ts: float) -> list[EventMessage]:
        """An ``update`` (with ``last_seen``) for each anomaly still going on after UPDATE_INTERVAL."""
        messages: list[EventMessage] = []
        for event in self._open.values():
            if ts - (event.last_seen or event.start_time) >= UPDATE_INTERVAL:
                event.last_seen = ts
                messages.append(EventMessage(EVENT_UPDATE, _copy(event)))
        return messages

    def close_all(self, ts: float, reason: str = END_REASON_STOPPED) -> list[EventMessage]:
        """End every open anomaly (camera stopping)."""
        messages = [EventMessage(EVENT_END, end_event(_copy(e), ts, reason)) for e in self._open.values()]
        self._open.clear()
        return messages
