"""The last stage of every camera: which events raise an alert.

Events are always recorded; ``Event.alerted`` says whether one may alert (MQTT alert
topics, notifications). The decision is taken once per event, when it is first seen, from
``alerts_enabled(label, start_time)`` (the armed switch and schedules), and kept for the
event's life so that its update and end agree with its start.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

from camwatch.const import EVENT_END
from camwatch.events.model import EventMessage
from camwatch.events.stage import FrameContext, Stage, TickContext

AlertsEnabled = Callable[[str, float], bool]  # (label or anomaly subtype, event start) -> may alert


class AlertPolicy(Stage):
    """Sets ``Event.alerted`` on every message of a pass; one instance serves every camera."""

    def __init__(self, alerts_enabled: AlertsEnabled) -> None:
        self.alerts_enabled = alerts_enabled
        self._decided: dict[str, bool] = {}
        self._lock = threading.Lock()

    def on_frame(self, ctx: FrameContext) -> list[EventMessage]:
        self.apply(ctx.messages)
        return []

    def on_idle(self, ctx: TickContext) -> list[EventMessage]:
        self.apply(ctx.messages)
        return []

    def on_finish(self, ctx: TickContext) -> list[EventMessage]:
        self.apply(ctx.messages)
        return []

    def apply(self, messages: Sequence[EventMessage]) -> None:
        for message in messages:
            event = message.event
            with self._lock:
                if event.id not in self._decided:
                    label = event.label if event.kind == "object" else (event.subtype or event.label)
                    self._decided[event.id] = self.alerts_enabled(label, event.start_time)
                event.alerted = event.alerted and self._decided[event.id]
                if message.type == EVENT_END:
                    self._decided.pop(event.id, None)
