"""Per-camera last wills: ``<p>/<cam>/status`` turns ``offline`` when camwatch dies.

The broker holds one last will per connection, and the main connection's will is the node's
``<p>/available``. So each camera gets a small extra connection that publishes nothing and
only holds ``offline`` as its will on the camera's status topic: when camwatch is killed,
loses power or its network, the broker publishes every camera as offline, and a retained
``online`` never outlives the process. On a clean stop the sink publishes the states itself
and these connections close gracefully (no will).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from camwatch.comms.client import MqttConnection
from camwatch.comms.topics import OFFLINE, Topics
from camwatch.config.mqtt import MqttConfig

MAX_CLIENT_ID = 64


def will_client_id(client_id: str, camera: str) -> str:
    """A stable client id per camera, unique even when truncated."""
    digest = hashlib.sha1(camera.encode()).hexdigest()[:8]
    head = f"{client_id}-{camera}"
    if len(head) + 9 <= MAX_CLIENT_ID:
        return f"{head}-{digest}"
    return f"{head[: MAX_CLIENT_ID - 9]}-{digest}"


class CameraWills:
    """One will-holding connection per camera; ``on_connected(camera)`` after each (re)connect."""

    def __init__(
        self, config: MqttConfig, client_id: str, topics: Topics, cameras: list[str],
        on_connected: Callable[[str], None],
    ) -> None:  # fmt: skip
        self._config, self._client_id, self._topics = config, client_id, topics
        self._on_connected = on_connected
        self._started = False
        self.connections: dict[str, MqttConnection] = {}
        for camera in cameras:
            self.connections[camera] = self._connection(camera)

    def _connection(self, camera: str) -> MqttConnection:
        connection = MqttConnection(
            self._config, will_client_id(self._client_id, camera), self._topics.camera_status(camera), OFFLINE,
            quiet=True,
        )
        # The broker may publish this will late (when it notices a dropped connection):
        # each reconnect lets the sink publish the camera's real status again after it.
        connection.on_connected = lambda: self._on_connected(camera)
        return connection

    def start(self) -> None:
        self._started = True
        for connection in self.connections.values():
            connection.start()

    def sync(self, cameras: list[str]) -> None:
        """Follow a changed camera set: a will for each added camera, none for a removed one."""
        for camera in set(self.connections) - set(cameras):
            self.connections.pop(camera).stop()  # graceful: no will; the sink clears the status
        for camera in cameras:
            if camera not in self.connections:
                self.connections[camera] = self._connection(camera)
                if self._started:
                    self.connections[camera].start()

    def stop(self) -> None:
        for connection in self.connections.values():
            connection.stop()
