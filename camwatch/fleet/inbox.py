"""What the update thread has to look at: desired-model messages and other nodes' signed copies.

* The node's and the fleet's desired model (``node`` / ``fleet``): the latest message of each.
* Copies (:data:`COPY`): the signed manifest each node last decided on, which every node keeps
  retained on ``<prefix>/<node>/model/manifest``. A node that has never decided on a version
  reads them, so the newest version the fleet was given is what it installs — even when a
  broker client replaced the retained fleet manifest with an older signed one. At most
  :data:`MAX_COPIES` are held (a flood of fake nodes cannot fill the memory).
* Settling: retained messages arrive in a burst right after subscribing. A node that has never
  decided waits :data:`SETTLE_SECONDS` after the first message before it chooses, so the
  copies that arrive a moment after the fleet manifest are seen too.

Any broker client can write all of these: everything here is only a candidate until the
updater has checked its signature.
"""

from __future__ import annotations

import threading
import time

NODE, FLEET, COPY = "node", "fleet", "copy"  # where a manifest came from
MAX_COPIES = 256
SETTLE_SECONDS = 3.0


class ManifestInbox:
    def __init__(self, settle: float = SETTLE_SECONDS) -> None:
        self.settle = settle
        self._lock = threading.Lock()
        self._latest: dict[str, bytes] = {}  # NODE / FLEET → payload
        self._copies: dict[str, bytes] = {}  # topic → payload
        self._first: float | None = None
        self.copies_dropped = 0

    def offer(self, kind: str, payload: bytes) -> None:
        with self._lock:
            self._latest[kind] = payload
            self._first = self._first or time.monotonic()

    def offer_copy(self, topic: str, payload: bytes) -> None:
        with self._lock:
            if topic not in self._copies and len(self._copies) >= MAX_COPIES:
                self.copies_dropped += 1
                return
            self._copies[topic] = payload
            self._first = self._first or time.monotonic()

    def put_back(self, kind: str, topic: str, payload: bytes) -> None:
        """A message taken but not handled yet (a newer one came meanwhile): it is looked at again."""
        with self._lock:
            if kind == COPY:
                self._copies.setdefault(topic, payload)
            else:
                self._latest.setdefault(kind, payload)

    def pending(self) -> bool:
        with self._lock:
            return bool(self._latest or self._copies)

    def settling_left(self) -> float:
        """Seconds until what is waiting may be taken by a node that never decided (0: now, or nothing waits)."""
        with self._lock:
            if self._first is None or not (self._latest or self._copies):
                return 0.0
            return max(0.0, self.settle - (time.monotonic() - self._first))

    def take(self, settling: bool) -> list[tuple[str, str, bytes]]:
        """Everything waiting, as (kind, topic or kind, payload), and empty the inbox. ``settling``
        (a node that never decided): nothing until the burst of retained messages is in."""
        with self._lock:
            if settling and self._first is not None and time.monotonic() - self._first < self.settle:
                return []
            taken = [(kind, kind, payload) for kind, payload in self._latest.items()]
            taken += [(COPY, topic, payload) for topic, payload in self._copies.items()]
            self._latest, self._copies = {}, {}
            return taken
