"""Per-event message numbers (``Event.seq``): new is 0, each update and the end one more.

Subscribers drop redelivered copies by ``(event.id, type, seq)``: two updates of one event
are distinct messages, a QoS 1 copy of the same update is not.
"""

from __future__ import annotations

import threading

from camwatch.const import EVENT_END
from camwatch.events.model import EventMessage


class EventSequence:
    """Stamps the messages of one producer (a camera) in the order they are published."""

    def __init__(self) -> None:
        self._next: dict[str, int] = {}
        self._lock = threading.Lock()

    def stamp(self, message: EventMessage) -> None:
        event = message.event
        with self._lock:
            seq = self._next.pop(event.id, 0)
            if message.type != EVENT_END:
                self._next[event.id] = seq + 1
        event.seq = seq
