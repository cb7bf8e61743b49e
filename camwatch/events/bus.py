"""An in-process publish/subscribe bus: a slow sink never blocks capture.

Each subscriber gets its own bounded queue and thread. ``publish`` never blocks: when a
subscriber's queue is full the message is dropped for that subscriber, counted and logged
once per burst. Sinks that must not lose anything (the store, the MQTT outbox) keep their
queues large and persist quickly.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

_LOGGER = logging.getLogger(__name__)

Handler = Callable[[str, Any], None]


@dataclass
class _Subscriber:
    name: str
    handler: Handler
    topics: frozenset[str] | None
    queue: queue.Queue = field(default_factory=lambda: queue.Queue(maxsize=10000))
    dropped: int = 0
    thread: threading.Thread | None = None


class EventBus:
    """Topics are plain strings, e.g. ``event`` (EventMessage), ``camera_state``, ``stats``."""

    def __init__(self) -> None:
        self._subscribers: list[_Subscriber] = []
        self._lock = threading.Lock()
        self._stopped = threading.Event()

    def subscribe(
        self, name: str, handler: Handler, topics: set[str] | None = None, maxsize: int = 10000
    ) -> None:
        sub = _Subscriber(name, handler, frozenset(topics) if topics else None, queue.Queue(maxsize))
        sub.thread = threading.Thread(target=self._run, args=(sub,), name=f"bus-{name}", daemon=True)
        with self._lock:
            self._subscribers.append(sub)
        sub.thread.start()

    def publish(self, topic: str, payload: Any) -> None:
        with self._lock:
            subs = list(self._subscribers)
        for sub in subs:
            if sub.topics is not None and topic not in sub.topics:
                continue
            try:
                sub.queue.put_nowait((topic, payload))
            except queue.Full:
                if sub.dropped == 0:
                    _LOGGER.warning("sink %s is not keeping up; dropping messages", sub.name)
                sub.dropped += 1

    def dropped(self) -> dict[str, int]:
        with self._lock:
            return {s.name: s.dropped for s in self._subscribers}

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every subscriber has handled what was published so far."""
        with self._lock:
            subs = list(self._subscribers)
        done = True
        for sub in subs:
            marker = threading.Event()
            try:
                sub.queue.put(("__flush__", marker), timeout=timeout)
            except queue.Full:
                done = False
                continue
            done = marker.wait(timeout) and done
        return done

    def close(self, timeout: float = 10.0) -> None:
        self.flush(timeout)
        self._stopped.set()
        with self._lock:
            subs = list(self._subscribers)
        for sub in subs:
            sub.queue.put(("__stop__", None))
        for sub in subs:
            if sub.thread:
                sub.thread.join(timeout)

    def _run(self, sub: _Subscriber) -> None:
        while True:
            topic, payload = sub.queue.get()
            if topic == "__stop__":
                return
            if topic == "__flush__":
                payload.set()
                continue
            try:
                sub.handler(topic, payload)
            except Exception:  # a sink bug must not kill the bus
                _LOGGER.exception("sink %s failed on %s", sub.name, topic)
