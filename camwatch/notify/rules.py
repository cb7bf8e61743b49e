"""Which events a destination wants, and its per-camera rate limit.

A destination is told about an event once: the first time the event matches its filters
(on ``new``, or on the ``update`` that brings the object into a wanted zone). When a face
is recognised later in an event already sent, one short follow-up names the person; on a camera
with ``faces.unknown_alert``, an event that ends with a face nobody knows sends one too.
The rate limit runs on event time, so a replayed clip limits exactly like a live camera.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from camwatch.config.notify import NotifyDestination
from camwatch.const import EVENT_END
from camwatch.events.model import Event, EventMessage

UNKNOWN_FACE = "unknown"
MAX_TRACKED_EVENTS = 5000  # open events remembered per destination (an end forgets one)


def matches(destination: NotifyDestination, event: Event) -> bool:
    """The destination's filters: cameras, labels (or anomaly types), zones entered, armed."""
    if not destination.enabled:
        return False
    if destination.cameras and event.camera not in destination.cameras:
        return False
    if destination.labels and event.label not in destination.labels and event.subtype not in destination.labels:
        return False
    if destination.zones and not set(destination.zones) & set(event.zones_entered):
        return False
    return not destination.only_armed or event.alerted


@dataclass(frozen=True)
class Decision:
    """What to do with one message: ``kind`` is ``event`` (send it), ``recognised`` (send the
    follow-up naming the person), ``unknown_face`` (the visitor left with a face nobody knows) or
    ``held`` (rate limited: only counted). ``held_back``
    counts the events held since the last message for that camera."""

    kind: str
    held_back: int = 0


class DestinationRules:
    """Per-destination memory: events already sent, last send time and held-back count per camera."""

    def __init__(self, destination: NotifyDestination) -> None:
        self.destination = destination
        self._events: OrderedDict[str, bool] = OrderedDict()  # event id → a known name was sent
        self._last: dict[str, float] = {}  # camera → event time of the last message
        self._held: dict[str, int] = {}  # camera → events held back since

    def decide(self, message: EventMessage, unknown_alert: bool = False) -> Decision | None:
        """``unknown_alert``: the event's camera asks for a message about faces nobody knows."""
        event = message.event
        try:
            if unknown_alert and message.type == EVENT_END and event.has_face and event.sub_label == UNKNOWN_FACE:
                return Decision("unknown_face") if matches(self.destination, event) else None
            return self._decide(event)
        finally:
            if message.type == EVENT_END:
                self._events.pop(event.id, None)

    def _decide(self, event: Event) -> Decision | None:
        named = bool(event.sub_label) and event.sub_label != UNKNOWN_FACE
        if event.id in self._events:
            if named and not self._events[event.id]:
                self._events[event.id] = True
                return Decision("recognised")
            return None
        if not matches(self.destination, event):
            return None
        self._remember(event.id, named)
        now = event.last_seen or event.start_time
        last = self._last.get(event.camera)
        interval = self.destination.min_interval
        if last is not None and 0 <= now - last < interval:
            self._held[event.camera] = self._held.get(event.camera, 0) + 1
            self._events[event.id] = True  # a held-back event sends no follow-up either
            return Decision("held")
        self._last[event.camera] = now
        return Decision("event", self._held.pop(event.camera, 0))

    def _remember(self, event_id: str, named: bool) -> None:
        self._events[event_id] = named
        while len(self._events) > MAX_TRACKED_EVENTS:
            self._events.popitem(last=False)
