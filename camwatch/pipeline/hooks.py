"""Optional per-camera stages that run after tracking: faces, tampering, loitering,
unusual activity, and the armed/disarmed policy that decides which events alert.

Each stage is a small object with ``on_frame`` (every processed frame), ``on_idle`` (no
frame arrived: the camera may be offline) and ``on_finish`` (camera stopping). They return
the EventMessages they produce; the pipeline publishes them on the bus.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from camwatch.anomaly.activity import ActivityBaseline
from camwatch.anomaly.events import AnomalyEvents, instant_messages, loitering_event, unusual_event
from camwatch.anomaly.loitering import LoiteringMonitor
from camwatch.anomaly.schedule import ArmSchedule
from camwatch.anomaly.tamper import TamperDetector
from camwatch.const import EVENT_END, EVENT_NEW, TOPIC_TAMPER
from camwatch.events.model import EventMessage
from camwatch.sources.base import Frame
from camwatch.track.model import TrackedObject

if TYPE_CHECKING:
    from camwatch.app import Camwatch
    from camwatch.pipeline.camera import CameraPipeline

_LOGGER = logging.getLogger(__name__)


class Stage:
    def on_frame(
        self, pipeline: CameraPipeline, frame: Frame, objects: list[TrackedObject], messages: list[EventMessage]
    ) -> list[EventMessage]:
        return []

    def on_idle(self, pipeline: CameraPipeline, ts: float) -> list[EventMessage]:
        return []

    def on_finish(self, pipeline: CameraPipeline, ts: float) -> list[EventMessage]:
        return []


class FaceStep(Stage):
    """Faces on tracked people → the person's event (has_face, sub_label) and its best crop."""

    def __init__(self, stage: Any) -> None:
        self.stage = stage

    def on_frame(self, pipeline, frame, objects, messages):
        out: list[EventMessage] = []
        for face in self.stage.process(frame.image, objects, frame.ts):
            out += pipeline.engine.set_face(
                face.object_id, face.score, face.crop_bgr, sub_label=face.name,
                sub_label_score=face.name_score,
            )
        return out


class TamperStep(Stage):
    """Covered, defocused, moved, frozen, dark and offline views as anomaly events."""

    def __init__(self, camera: str, detector: TamperDetector) -> None:
        self.camera = camera
        self.detector = detector
        self.events = AnomalyEvents(camera)
        self._offline = False

    def _messages(self, pipeline: CameraPipeline, changes, frame: Frame | None) -> list[EventMessage]:
        out = []
        for change in changes:
            pipeline.bus.publish(TOPIC_TAMPER, {"camera": self.camera, **change.to_dict()})
            message = self.events.on_tamper(change)
            if message is None:
                continue
            if message.type == EVENT_NEW and frame is not None and pipeline.snapshots is not None:
                h, w = frame.image.shape[:2]
                event = message.event
                event.frame_size = [w, h]
                if pipeline.snapshots.save(event.id, frame.image, (0, 0, w, h), event.label, 1.0):
                    event.has_snapshot, event.snapshot_time = True, frame.ts
            out.append(message)
        if changes:
            pipeline.state.update_camera(self.camera, tamper=self.detector.status())
        return out

    def on_frame(self, pipeline, frame, objects, messages):
        changes = []
        if self._offline:
            self._offline = False
            changes += self.detector.set_online(frame.ts)
        changes += self.detector.update(frame.image, frame.ts)
        return self._messages(pipeline, changes, frame) + self.events.refresh(frame.ts)

    def on_idle(self, pipeline, ts):
        status = pipeline.state.camera(self.camera)
        changes = []
        if status.state == "offline" and not self._offline:
            self._offline = True
            changes += self.detector.set_offline(ts)
        elif self._offline:
            changes += self.detector.poll(ts)
        refreshed = self.events.refresh(ts) if self._offline else []  # wall-clock ts only while offline
        return self._messages(pipeline, changes, None) + refreshed

    def on_finish(self, pipeline, ts):
        return self.events.close_all(ts)


class LoiteringStep(Stage):
    def __init__(self, monitor: LoiteringMonitor) -> None:
        self.monitor = monitor

    def on_frame(self, pipeline, frame, objects, messages):
        out = []
        for alert in self.monitor.update(objects, frame.ts):
            event = loitering_event(alert)
            if pipeline.snapshots is not None and pipeline.snapshots.save(
                event.id, frame.image, alert.box, "loitering", 1.0
            ):
                event.has_snapshot, event.snapshot_time = True, frame.ts
            out += instant_messages(event)
        return out


class UnusualActivityStep(Stage):
    """Learns per camera, label and hour of the week; a rare event raises unusual_activity."""

    def __init__(self, baseline: ActivityBaseline, labels: list[str]) -> None:
        self.baseline = baseline
        self.labels = set(labels) if labels else None

    def on_frame(self, pipeline, frame, objects, messages):
        out = []
        for message in messages:
            event = message.event
            if message.type != EVENT_NEW or event.kind != "object":
                continue
            if self.labels is not None and event.label not in self.labels:
                continue
            found = self.baseline.process(event.camera, event.label, event.start_time)
            if found is not None:
                out += instant_messages(unusual_event(found, event_id=event.id))
        return out


class AlertPolicy:
    """Sets ``Event.alerted`` from the armed switch and schedules; the event is recorded either way."""

    def __init__(self, schedule: ArmSchedule) -> None:
        self.schedule = schedule
        self._decided: dict[str, bool] = {}
        self._lock = threading.Lock()

    def apply(self, messages: list[EventMessage]) -> None:
        for message in messages:
            event = message.event
            with self._lock:
                if event.id not in self._decided:
                    label = event.label if event.kind == "object" else (event.subtype or event.label)
                    self._decided[event.id] = self.schedule.alerts_enabled(label, event.start_time)
                event.alerted = event.alerted and self._decided[event.id]
                if message.type == EVENT_END:
                    self._decided.pop(event.id, None)


def attach_hooks(app: Camwatch, pipeline: CameraPipeline) -> None:
    """Give ``pipeline`` the optional stages its config asks for."""
    config = app.config
    cam = config.cameras[pipeline.name]
    shared = _shared(app)
    pipeline.alert_policy = shared["policy"]
    if config.faces.enabled and cam.faces.enabled and app.faces_available:
        try:
            from camwatch.faces.stage import FaceStage

            stage = FaceStage(
                config, pipeline.name, app.data_dir, embedder=app.faces_embedder, gallery=app.faces_gallery
            )
            pipeline.stages.append(FaceStep(stage))
        except Exception as exc:  # a missing face model must not stop the cameras
            _LOGGER.error("camera %s: face alerts disabled: %s", pipeline.name, exc)
            app.state.add_error(f"camera {pipeline.name}", f"face alerts disabled: {exc}")
    if cam.tamper.enabled:
        pipeline.stages.append(TamperStep(pipeline.name, TamperDetector(cam.tamper, camera=pipeline.name)))
    if any(z.loitering_time > 0 for z in cam.zones.values()):
        pipeline.stages.append(LoiteringStep(LoiteringMonitor(cam.zones)))
    baseline = shared.get("baseline")
    if baseline is not None:
        baseline.register_camera(pipeline.name, app.start_time)
        pipeline.stages.append(UnusualActivityStep(baseline, config.alerts.unusual.labels))


def _shared(app: Camwatch) -> dict[str, Any]:
    """One schedule and one activity baseline per application."""
    existing = getattr(app, "_hook_shared", None)
    if existing is not None:
        return existing
    shared: dict[str, Any] = {"policy": AlertPolicy(ArmSchedule(app.config.alerts, app.control))}
    if app.config.alerts.unusual.enabled:
        path = Path(app.data_dir) / "activity.db"
        fresh = not path.exists()
        baseline = ActivityBaseline(path, app.config.alerts.unusual)
        if fresh:
            events, _ = app.store.query(kind="object", limit=100000, order="asc")
            seeded = baseline.seed((e.camera, e.label, e.start_time) for e in events)
            if seeded:
                _LOGGER.info("activity baseline seeded from %d stored events", seeded)
        shared["baseline"] = baseline
        app.closers.append(baseline.close)
    app._hook_shared = shared
    return shared
