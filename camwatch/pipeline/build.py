"""The composition root of a camera: its pipeline and stage chain, built from the config.

``build_camera`` is the only place that decides which parts a camera gets. It serves the
start and every config change alike: given the camera's ``previous`` pipeline it builds a
new one that carries the tracked objects, open events and counters over, keeps stateful
stages whose config did not change (tamper reference scene, loaded face models) and rebuilds
everything that depends on the zones — zone tracker, snapshot zone overlay, loitering — so
a zone added at run time behaves as if it had been there from the start.

Stage order: faces (updates people's events), tamper, loitering, unusual activity (sees the
new events of this pass), then alerting, which decides ``alerted`` for all of them.
"""

from __future__ import annotations

import logging
from typing import TypeVar

from camwatch.anomaly.loitering import LoiteringMonitor
from camwatch.config import CamwatchConfig
from camwatch.events.engine import EventEngine
from camwatch.events.snapshots import SnapshotWriter
from camwatch.events.stage import Stage
from camwatch.faces.stage import FaceStage
from camwatch.pipeline.camera import CameraPipeline
from camwatch.pipeline.report import CameraReport
from camwatch.pipeline.services import Services
from camwatch.pipeline.stages import FaceStep, LoiteringStep, TamperStep, UnusualActivityStep
from camwatch.track.tracker import ObjectTracker

_LOGGER = logging.getLogger(__name__)
_S = TypeVar("_S")


def build_camera(
    name: str, config: CamwatchConfig, services: Services, previous: CameraPipeline | None = None
) -> CameraPipeline:
    """The pipeline of camera ``name`` of ``config``; ``previous`` is the one it replaces."""
    cam = config.cameras[name]
    snapshots = SnapshotWriter(
        services.snapshots_dir, quality=cam.snapshots.quality, thumb_height=cam.snapshots.thumbnail_height,
        on_full=services.retention.trigger,
    )  # fmt: skip
    engine = EventEngine(
        name, cam, snapshots if cam.snapshots.enabled else None,
        snapshots_enabled=lambda: services.control.get(name, "snapshots"),
        carry=previous.engine if previous is not None else None,
    )  # fmt: skip
    if previous is not None:
        tracker = previous.tracker
        tracker.objects_config, tracker.tracking = cam.objects, cam.tracking
        report = previous.report
    else:
        tracker = ObjectTracker(name, cam.objects, cam.tracking)
        report = CameraReport(name, services.state, services.bus)
    old: list[Stage] = previous.stages if previous is not None else []
    stages = _stages(name, config, services, engine, old)
    return CameraPipeline(
        name, cam, detector=services.detector.for_camera(name), control=services.control, tracker=tracker, engine=engine,
        report=report, snapshots=snapshots, stages=stages, previous=previous,
    )  # fmt: skip


def _stages(
    name: str, config: CamwatchConfig, services: Services, engine: EventEngine, old: list[Stage]
) -> list[Stage]:
    cam = config.cameras[name]
    stages: list[Stage] = []
    faces = _face_step(name, config, services, engine, _find(old, FaceStep))
    if faces is not None:
        stages.append(faces)
    if cam.tamper.enabled:
        tamper = _find(old, TamperStep)
        if tamper is None or tamper.config != cam.tamper:  # same config: keep the learned reference scene
            tamper = TamperStep(name, cam.tamper)
        stages.append(tamper)
    if any(z.loitering_time > 0 for z in cam.zones.values()):
        loitering = _find(old, LoiteringStep)
        stages.append(LoiteringStep(LoiteringMonitor(cam.zones, carry=loitering.monitor if loitering else None)))
    if services.activity is not None:
        services.activity.register_camera(name, services.start_time)
        stages.append(UnusualActivityStep(services.activity, config.alerts.unusual.labels))
    stages.append(services.alerts)
    return stages


def _face_step(
    name: str, config: CamwatchConfig, services: Services, engine: EventEngine, old: FaceStep | None
) -> FaceStep | None:
    if services.faces is None or not config.cameras[name].faces.enabled:
        return None
    key = (config.faces, config.cameras[name].faces)
    if old is not None and old.key == key:
        return FaceStep(old.faces, engine.set_face, key)  # same models, the new engine
    try:
        stage = FaceStage(
            config, name, services.data_dir, embedder=services.faces.embedder, gallery=services.faces.gallery
        )
    except Exception as exc:  # a missing face model must not stop the cameras
        _LOGGER.error("camera %s: face alerts disabled: %s", name, exc)
        services.state.add_error(f"camera {name}", f"face alerts disabled: {exc}")
        return None
    return FaceStep(stage, engine.set_face, key)


def _find(stages: list[Stage], kind: type[_S]) -> _S | None:
    return next((s for s in stages if isinstance(s, kind)), None)
