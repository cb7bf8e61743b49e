"""The node's side of the fleet, over the MQTT sink's connection.

* publishes the node status (retained, ``<prefix>/<node>/status``) at every stats interval
  and when a camera or the model update state changes;
* publishes the model update state (retained, ``<prefix>/<node>/model/state``), and the same
  with Home Assistant's update-entity keys only (``…/model/update``);
* keeps the signed manifest it last decided on retained (``…/model/manifest``) and, until it
  has decided on one, reads the other nodes' copies (the newest signed version wins);
* with ``updates.keys`` set, takes the signed desired model from ``<prefix>/<node>/model/desired``
  and ``<prefix>/fleet/model/desired`` (both retained: a node that was offline during a
  rollout catches up when it reconnects) and hands it to the :class:`Updater`; it keeps
  the recent detector inputs the shadow test needs. Without a key it subscribes to neither;
* notices a second camwatch publishing under the same node name (two boards left with one
  host name): a live status with another run id. One error line and a System page entry.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from pathlib import Path
from typing import Any

from camwatch.comms.discovery import update_entity_state
from camwatch.comms.inbound import MAX_STATUS_BYTES, BadPayload, parse_json
from camwatch.comms.publisher import MqttSink
from camwatch.comms.state_payloads import json_bytes
from camwatch.config.root import CamwatchConfig
from camwatch.const import TOPIC_CAMERA_STATE, TOPIC_STATS
from camwatch.events.bus import EventBus
from camwatch.fleet.record import UpdateStore
from camwatch.fleet.samples import FrameRecorder
from camwatch.fleet.status import node_status
from camwatch.fleet.updater import FLEET, NODE, Swappable, Updater
from camwatch.state import RuntimeState

_LOGGER = logging.getLogger(__name__)

RUN_ID = re.compile(r"[0-9a-f]{12}")  # uuid4().hex[:12]: what a camwatch run puts in its status


class FleetAgent:
    def __init__(
        self, config: CamwatchConfig, data_dir: Path, detector: Swappable, state: RuntimeState, bus: EventBus,
        sink: MqttSink,
    ) -> None:  # fmt: skip
        self.config = config
        self.data_dir = Path(data_dir)
        self.detector: Any = detector
        self.state = state
        self.bus = bus
        self.sink = sink
        self.topics = sink.topics
        self.node = sink.node
        self.run_id = uuid.uuid4().hex[:12]
        self.started = time.time()
        self.store = UpdateStore(self.data_dir)
        settings = config.updates
        self.recorder = FrameRecorder(settings.recent_frames, settings.sample_interval, self._tracked)
        self.updater = Updater(config, self.node, detector, self.store, self.recorder, self._on_update_state)
        self._listening = False
        self._conflict: str | None = None

    def _tracked(self) -> set[str]:
        return self.updater.tracked()

    # ------------------------------------------------------------ life cycle
    def start(self) -> None:
        self.sink.enable_fleet_entities()
        envelope = self.store.load_envelope()
        if envelope is not None:
            self.sink.set_retained(self.topics.model_copy, envelope)
        self.sink.add_handler(self.topics.node_status, self._on_own_status)
        self.bus.subscribe("fleet", self._on_bus, {TOPIC_STATS, TOPIC_CAMERA_STATE}, maxsize=1000)
        self._listen_if_enabled()
        self.updater.start()
        self.publish_status()

    def stop(self) -> None:
        self.updater.stop()
        self.detector.recorder = None
        self.detector.on_fallback = None

    def apply_config(self, config: CamwatchConfig) -> None:
        self.config = config
        self.updater.apply_config(config)
        self.recorder.recent_frames = config.updates.recent_frames
        self.recorder.sample_interval = config.updates.sample_interval
        self._listen_if_enabled()
        self.publish_status()

    def _listen_if_enabled(self) -> None:
        """Subscribe to the desired model once a key is configured (not before: no key, no input)."""
        if self._listening or not self.config.updates.keys:
            return
        self._listening = True
        self.detector.recorder = self.recorder
        self.detector.on_fallback = self.updater.on_fallback
        self.updater.on_decided = self._publish_copy
        self.sink.add_handler(self.topics.model_desired, lambda _t, payload, _r: self.updater.offer(NODE, payload))
        self.sink.add_handler(self.topics.fleet_model_desired, lambda _t, payload, _r: self.updater.offer(FLEET, payload))
        if self.updater.never_decided:  # the others' copies tell which version the fleet is at
            self.sink.add_handler(self.topics.every_model_copy, self._on_copy)

    def _on_copy(self, topic: str, payload: bytes, _retained: bool) -> None:
        if topic != self.topics.model_copy:
            self.updater.offer_copy(topic, payload)

    def _publish_copy(self, envelope: bytes) -> None:
        """Keep the signed manifest just decided on retained under this node, for nodes that join later."""
        self.sink.set_retained(self.topics.model_copy, envelope)
        self.sink.remove_handler(self.topics.every_model_copy)  # decided: the copies matter no more

    # ------------------------------------------------------------ status
    def _on_bus(self, topic: str, _payload: Any) -> None:
        self.publish_status()

    def _on_update_state(self, payload: dict[str, Any]) -> None:
        self.sink.set_retained(self.topics.model_state, json_bytes(payload))
        self.sink.set_retained(self.topics.model_update, json_bytes(update_entity_state(payload, self.config.mqtt.web_url)))
        self.publish_status()

    def status(self) -> dict[str, Any]:
        return node_status(
            node=self.node, run_id=self.run_id, started=self.started, data_dir=self.data_dir,
            model=self.detector.info, detector_ms=self.detector.inference_ms, cameras=self.state.cameras(),
            update=self.updater.state, updates_enabled=bool(self.config.updates.keys),
            interval=self.config.mqtt.stats_interval,
        )  # fmt: skip

    def publish_status(self) -> None:
        status = self.status()
        self.state.fleet = {
            "node": self.node, "model": status["model"], "update": self.updater.state,
            "history": list(self.store.record.history), "updates": status["updates"], "conflict": self._conflict,
        }  # fmt: skip
        self.sink.set_retained(self.topics.node_status, json_bytes(status))

    def _on_own_status(self, _topic: str, payload: bytes, retained: bool) -> None:
        """Our own status comes back; one published live by another run means a second node of this name."""
        if retained or not payload:
            return
        try:
            status = parse_json(payload, MAX_STATUS_BYTES)
        except BadPayload:
            return  # not a camwatch status: whoever published it is not a second node
        other = status.get("run") if isinstance(status, dict) else None
        if not isinstance(other, str) or not RUN_ID.fullmatch(other):
            return
        if other != self.run_id and self._conflict is None:
            self._conflict = other
            message = (f"another camwatch publishes as node {self.node!r} on this broker (run {other}): "
                       "give each board its own node.name")  # fmt: skip
            _LOGGER.error("%s", message)
            self.state.add_error("fleet", message)
