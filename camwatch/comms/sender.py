"""Events and alerts out of the persistent outbox, in order, each deleted only on its PUBACK.

The sink's sender thread calls :meth:`OutboxSender.drain` while the broker is connected;
paho's network thread reports acknowledgements through :meth:`acked`. After a reconnect
:meth:`rewind` makes the unacknowledged rows go out again, oldest first.
"""

from __future__ import annotations

import logging
import queue

from camwatch.comms.client import MqttConnection
from camwatch.comms.outbox import Outbox

_LOGGER = logging.getLogger(__name__)

INFLIGHT_WINDOW = 100  # outbox messages handed to paho and not yet acknowledged


class OutboxSender:
    def __init__(self, outbox: Outbox, connection: MqttConnection) -> None:
        self.outbox = outbox
        self.connection = connection
        self.published_events = 0
        self._acks: queue.SimpleQueue[int] = queue.SimpleQueue()
        self._inflight: dict[int, int] = {}  # paho mid → outbox row id (sender thread only)
        self._cursor = 0  # highest outbox id handed to paho
        self._failing = False

    def enqueue(self, topic: str, payload: bytes) -> None:
        """Store one message; if the disk refuses, publish it directly rather than lose it."""
        try:
            self.outbox.add(topic, payload)
            self._failing = False
        except Exception as exc:
            if not self._failing:
                self._failing = True
                _LOGGER.error("MQTT outbox cannot store messages (%s); publishing without persistence", exc)
            self.connection.publish(topic, payload, qos=1)

    def acked(self, mid: int) -> None:
        """PUBACK of ``mid`` (paho's thread)."""
        self._acks.put(mid)

    def process_acks(self) -> None:
        done: list[int] = []
        while True:
            try:
                mid = self._acks.get_nowait()
            except queue.Empty:
                break
            row = self._inflight.pop(mid, None)
            if row is not None:
                done.append(row)
        if done:
            self.outbox.delete(done)
            self.published_events += len(done)

    def rewind(self) -> None:
        """After a reconnect, send the unacknowledged rows again, oldest first, before newer
        ones. paho re-sends its own copies only after its connect callback, which would let
        a newer row overtake them; the copies that arrive twice are QoS 1 duplicates that
        subscribers drop by event id and type."""
        if self._inflight:
            self._cursor = min(self._inflight.values()) - 1
            self._inflight.clear()

    def drain(self) -> None:
        while len(self._inflight) < INFLIGHT_WINDOW and self.connection.connected.is_set():
            rows = self.outbox.after(self._cursor, INFLIGHT_WINDOW - len(self._inflight))
            if not rows:
                return
            for row in rows:
                mid = self.connection.publish(row.topic, row.payload, qos=row.qos, retain=row.retain)
                if mid is None:
                    return  # paho refused it (not queued): try again on the next tick
                self._inflight[mid] = row.id
                self._cursor = row.id
