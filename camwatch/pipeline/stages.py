"""The optional stages after tracking: faces, tampering, loitering and unusual activity.

Each adapts one detector of its own package (``camwatch.faces``, ``camwatch.anomaly``) to the
stage protocol of :mod:`camwatch.events.stage`: it reads the frame context and returns the
event messages it adds. :mod:`camwatch.pipeline.build` decides which stages a camera gets.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from camwatch.anomaly.activity import ActivityBaseline
from camwatch.anomaly.events import AnomalyEvents, instant_messages, loitering_event, unusual_event
from camwatch.anomaly.loitering import LoiteringMonitor
from camwatch.anomaly.tamper import TamperChange, TamperDetector
from camwatch.config.anomaly import TamperConfig
from camwatch.const import EVENT_NEW, TOPIC_TAMPER
from camwatch.events.model import Event, EventMessage
from camwatch.events.snapshots import SnapshotWriter
from camwatch.events.stage import FrameContext, Stage, Status, TickContext
from camwatch.faces.stage import FaceStage

_LOGGER = logging.getLogger(__name__)

RecordFace = Callable[..., list[EventMessage]]  # EventEngine.set_face of the camera


def _save_snapshot(
    snapshots: SnapshotWriter | None, event: Event, image: np.ndarray, box: Sequence[float], ts: float
) -> None:
    """The anomaly's snapshot; the event says whether there is one."""
    if snapshots is not None and snapshots.save(event.id, image, box, event.label, 1.0):
        event.has_snapshot, event.snapshot_time = True, ts


class FaceStep(Stage):
    """Faces on tracked people → the person's event (has_face, sub_label) and its best crop.

    ``key`` is the configuration the face stage was built from: a rebuild with the same key
    keeps the loaded face models.
    """

    def __init__(self, faces: FaceStage, record_face: RecordFace, key: Any = None) -> None:
        self.faces = faces
        self.record_face = record_face
        self.key = key

    def on_frame(self, ctx: FrameContext) -> list[EventMessage]:
        out: list[EventMessage] = []
        for face in self.faces.process(ctx.frame.image, list(ctx.objects), ctx.ts):
            out += self.record_face(
                face.object_id, face.score, face.crop_bgr, sub_label=face.name, sub_label_score=face.name_score
            )
        return out


class TamperStep(Stage):
    """Covered, defocused, moved, frozen, dark and offline views as anomaly events.

    Every state change is also a tamper status (``emit``); an anomaly event starts or ends
    only when a state starts or clears.
    """

    def __init__(self, camera: str, config: TamperConfig) -> None:
        self.camera = camera
        self.config = config
        self.detector = TamperDetector(config, camera=camera)
        self.events = AnomalyEvents(camera)
        self._offline = False

    def _messages(self, ctx: FrameContext | TickContext, changes: list[TamperChange]) -> list[EventMessage]:
        out = []
        for change in changes:
            ctx.emit(Status(TOPIC_TAMPER, {"camera": self.camera, **change.to_dict()}, {"tamper": self.detector.status()}))
            message = self.events.on_tamper(change)
            if message is None:
                continue
            if message.type == EVENT_NEW and isinstance(ctx, FrameContext):
                image = ctx.frame.image
                h, w = image.shape[:2]
                message.event.frame_size = [w, h]
                _save_snapshot(ctx.snapshots, message.event, image, (0, 0, w, h), ctx.ts)
            out.append(message)
        return out

    def on_frame(self, ctx: FrameContext) -> list[EventMessage]:
        changes = []
        if self._offline:
            self._offline = False
            changes += self.detector.set_online(ctx.ts)
        changes += self.detector.update(ctx.frame.image, ctx.ts)
        return self._messages(ctx, changes) + self.events.refresh(ctx.ts)

    def on_idle(self, ctx: TickContext) -> list[EventMessage]:
        changes = []
        if ctx.offline and not self._offline:
            self._offline = True
            changes += self.detector.set_offline(ctx.ts)
        elif self._offline:
            changes += self.detector.poll(ctx.ts)
        refreshed = self.events.refresh(ctx.ts) if self._offline else []  # wall-clock ts only while offline
        return self._messages(ctx, changes) + refreshed

    def on_finish(self, ctx: TickContext) -> list[EventMessage]:
        return self.events.close_all(ctx.ts, ctx.reason)


class LoiteringStep(Stage):
    """An object staying in a zone longer than the zone's ``loitering_time``."""

    def __init__(self, monitor: LoiteringMonitor) -> None:
        self.monitor = monitor

    def on_frame(self, ctx: FrameContext) -> list[EventMessage]:
        out = []
        for alert in self.monitor.update(ctx.objects, ctx.ts):
            event = loitering_event(alert)
            _save_snapshot(ctx.snapshots, event, ctx.frame.image, alert.box, ctx.ts)
            out += instant_messages(event)
        return out


class UnusualActivityStep(Stage):
    """Learns per camera, label and hour of the week; a rare event raises unusual_activity."""

    def __init__(self, baseline: ActivityBaseline, labels: Sequence[str]) -> None:
        self.baseline = baseline
        self.labels = set(labels) if labels else None

    def on_frame(self, ctx: FrameContext) -> list[EventMessage]:
        out = []
        for message in ctx.messages:
            event = message.event
            if message.type != EVENT_NEW or event.kind != "object":
                continue
            if self.labels is not None and event.label not in self.labels:
                continue
            found = self.baseline.process(event.camera, event.label, event.start_time)
            if found is not None:
                out += instant_messages(unusual_event(found, event_id=event.id))
        return out
