"""What every camera of one camwatch shares, made once from the config.

One detector (serialised), one bus, the live state, the runtime switches, the event store
and its retention, the alert policy, the unusual-activity baseline and the face models.
:func:`camwatch.pipeline.build.build_camera` takes what a camera needs from here; the
application only starts and stops them.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from camwatch.anomaly.activity import ActivityBaseline
from camwatch.anomaly.schedule import ArmSchedule
from camwatch.config import CamwatchConfig
from camwatch.config.camera import CameraConfig
from camwatch.const import TOPIC_EVENT
from camwatch.control import ControlState
from camwatch.detectors.base import Detector
from camwatch.detectors.factory import create_detector
from camwatch.events.alerting import AlertPolicy
from camwatch.events.bus import EventBus
from camwatch.events.model import Event
from camwatch.events.retention import Retention
from camwatch.events.store import EventStore
from camwatch.faces.embedder import FaceEmbedder, load_embedder
from camwatch.faces.enrol import FaceFinder
from camwatch.faces.gallery import FaceGallery
from camwatch.model_install import require
from camwatch.models import ModelError, ModelManager
from camwatch.paths import database_path, snapshots_dir
from camwatch.pipeline.shared_detector import SharedDetector
from camwatch.state import RuntimeState

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True)
class FaceServices:
    """One face finder, gallery and (optional) embedder for every camera and the web UI."""

    finder: FaceFinder
    gallery: FaceGallery
    embedder: FaceEmbedder | None


@dataclass
class Services:
    data_dir: Path
    detector: SharedDetector
    bus: EventBus
    state: RuntimeState
    control: ControlState
    store: EventStore
    retention: Retention
    alerts: AlertPolicy  # the last stage of every camera
    activity: ActivityBaseline | None = None  # unusual activity, when enabled
    faces: FaceServices | None = None  # None: face alerts off (disabled, or models missing)
    start_time: float | None = None  # wall-clock time of the first frame of file sources
    ended_at_start: list[Event] = field(default_factory=list)  # closed at start: a crash left them open

    @property
    def snapshots_dir(self) -> Path:
        return snapshots_dir(self.data_dir)

    def apply_alerts(self, config: CamwatchConfig) -> None:
        """Follow a change of the armed schedules: decisions from now on use the new ones."""
        self.alerts.alerts_enabled = ArmSchedule(config.alerts, self.control).alerts_enabled

    def close(self) -> None:
        """Close what the services hold open (after the cameras and sinks stopped)."""
        if self.activity is not None:
            try:
                self.activity.close()
            except Exception:
                _LOGGER.exception("closing the activity baseline failed")
        self.store.close()
        self.detector.close()


def enabled_cameras(config: CamwatchConfig) -> dict[str, CameraConfig]:
    return {name: cam for name, cam in config.cameras.items() if cam.enabled}


def camera_switches(config: CamwatchConfig) -> dict[str, dict[str, Any]]:
    """Each enabled camera's runtime switches as its config sets them."""
    return {
        name: {"detect": cam.detect.enabled, "snapshots": cam.snapshots.enabled, "motion": cam.motion.enabled,
               "zones": {zone: z.enabled for zone, z in cam.zones.items()}}
        for name, cam in enabled_cameras(config).items()
    }  # fmt: skip


def build_services(
    config: CamwatchConfig, data_dir: Path, *, detector: Detector | None = None, start_time: float | None = None
) -> Services:
    state = RuntimeState(list(enabled_cameras(config)))
    bus = EventBus()
    control = ControlState(data_dir / "control.json", camera_switches(config), armed=config.alerts.armed)
    store = EventStore(database_path(data_dir), snapshots_dir(data_dir))
    # Events a crash left open: closed now; the application publishes their `end` once the sinks listen.
    ended = store.end_open_events("camwatch restarted (previous run did not end cleanly)", time.time())
    if ended:
        _LOGGER.warning("closed %d event(s) left open by an unclean shutdown", len(ended))
    retention = Retention(store, config.storage.retain_days, config.storage.max_snapshot_mb)
    store.on_full = retention.trigger  # a full disk prunes at once, then writes resume
    shared = SharedDetector(detector or create_detector(config.detector, data_dir))
    state.detector = shared.describe()
    bus.subscribe("store", store.handle, {TOPIC_EVENT}, maxsize=100000)
    return Services(
        data_dir=data_dir, detector=shared, bus=bus, state=state, control=control, store=store, retention=retention,
        alerts=AlertPolicy(ArmSchedule(config.alerts, control).alerts_enabled),
        activity=_activity_baseline(config, data_dir, store), faces=_faces(config, data_dir, state),
        start_time=start_time, ended_at_start=ended,
    )  # fmt: skip


def _activity_baseline(config: CamwatchConfig, data_dir: Path, store: EventStore) -> ActivityBaseline | None:
    """The learned activity per camera, label and hour; a new one learns from the stored events."""
    if not config.alerts.unusual.enabled:
        return None
    path = data_dir / "activity.db"
    fresh = not path.exists()
    baseline = ActivityBaseline(path, config.alerts.unusual)
    if fresh:
        events, _ = store.query(kind="object", limit=100000, order="asc")
        seeded = baseline.seed((e.camera, e.label, e.start_time) for e in events)
        if seeded:
            _LOGGER.info("activity baseline seeded from %d stored events", seeded)
    return baseline


def _faces(config: CamwatchConfig, data_dir: Path, state: RuntimeState) -> FaceServices | None:
    """Missing face models switch face alerts off for the whole run with one warning (and a
    line on the System page), instead of an error per camera."""
    faces = config.faces
    if not faces.enabled:
        return None
    try:
        models = require(ModelManager(data_dir), [faces.model, faces.face_camera_model])  # names every missing file
    except ModelError as exc:
        _LOGGER.warning("face alerts off: %s", exc)
        state.add_error("faces", f"face alerts off: {exc}")
        return None
    embedder = None
    try:
        embedder = load_embedder(faces.embedder) if faces.recognition else None
    except Exception as exc:
        _LOGGER.warning("face recognition unavailable (%s); face alerts only", exc)
    return FaceServices(
        finder=FaceFinder(list(dict.fromkeys(models)), faces.min_score),
        gallery=FaceGallery(data_dir, embedder),
        embedder=embedder,
    )
