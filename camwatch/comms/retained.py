"""The node's retained MQTT state: the latest payload per topic, published when it changes.

Everything here is republished after each reconnect and when Home Assistant comes online,
so a subscriber that connects late, or a broker that restarted without persistence, still
gets the whole current state.
"""

from __future__ import annotations

import threading

from camwatch.comms.client import MqttConnection


class RetainedStore:
    def __init__(self, connection: MqttConnection) -> None:
        self.connection = connection
        self._lock = threading.Lock()
        self._values: dict[str, bytes] = {}

    def remember(self, topic: str, payload: bytes, keep: bool = False) -> bool:
        """Store ``payload`` without publishing (``keep``: only when none is known); True when stored."""
        with self._lock:
            if keep and topic in self._values:
                return False
            self._values[topic] = payload
            return True

    def set(self, topic: str, payload: bytes) -> None:
        """Store the latest value; publish it now when connected and changed."""
        with self._lock:
            if self._values.get(topic) == payload:
                return
            self._values[topic] = payload
            if self.connection.connected.is_set():
                self.connection.publish(topic, payload, qos=1, retain=True)

    def get(self, topic: str) -> bytes | None:
        with self._lock:
            return self._values.get(topic)

    def snapshot(self) -> dict[str, bytes]:
        with self._lock:
            return dict(self._values)

    def suffixes(self, head: str) -> set[str]:
        """The rest of every known topic that starts with ``head``."""
        with self._lock:
            return {topic[len(head) :] for topic in self._values if topic.startswith(head)}

    def republish(self, topic: str) -> None:
        payload = self.get(topic)
        if payload is not None and self.connection.connected.is_set():
            self.connection.publish(topic, payload, qos=1, retain=True)

    def forget_under(self, head: str) -> list[str]:
        """Forget every topic under ``head`` and delete the broker's copies (empty retained)."""
        with self._lock:
            gone = [topic for topic in self._values if topic.startswith(head)]
            for topic in gone:
                del self._values[topic]
        for topic in gone:
            self.connection.publish(topic, b"", qos=1, retain=True)
        return gone

    def publish_all(self, published: str, payload: bytes) -> None:
        """Every known state but ``published``, which the caller sent already as ``payload``."""
        with self._lock:
            self._values[published] = payload
            for topic, value in self._values.items():
                if topic != published:
                    self.connection.publish(topic, value, qos=1, retain=True)
