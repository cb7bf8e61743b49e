"""Which handler gets a received message: other parts of camwatch (the fleet agent) listen here.

A topic is registered exactly or as a pattern with ``+`` levels; an exact one wins. The
sink subscribes to every registered topic at each connect.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from paho.mqtt.client import topic_matches_sub

Handler = Callable[[str, bytes, bool], None]  # topic, payload, retained


class TopicHandlers:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._handlers: dict[str, Handler] = {}

    def add(self, topic: str, handler: Handler) -> None:
        with self._lock:
            self._handlers[topic] = handler

    def remove(self, topic: str) -> bool:
        with self._lock:
            return self._handlers.pop(topic, None) is not None

    def topics(self) -> list[str]:
        with self._lock:
            return list(self._handlers)

    def find(self, topic: str) -> Handler | None:
        with self._lock:
            handler = self._handlers.get(topic)
            if handler is not None:
                return handler
            return next((h for pattern, h in self._handlers.items()
                         if "+" in pattern and topic_matches_sub(pattern, topic)), None)  # fmt: skip
