"""The camwatch application: builds every stage from the config and runs the cameras.

Data flows one way: source → motion → detector → tracker → events → bus → sinks
(store, MQTT, web UI). Everything runs in one process: a thread per camera, one shared
detector, one thread per bus sink.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import psutil

from camwatch import __version__
from camwatch.config import CamwatchConfig
from camwatch.const import TOPIC_CAMERA_STATE, TOPIC_EVENT, TOPIC_STATS
from camwatch.control import ControlState
from camwatch.detectors.base import Detector
from camwatch.detectors.factory import create_detector
from camwatch.events.bus import EventBus
from camwatch.events.retention import Retention
from camwatch.events.snapshots import SnapshotWriter
from camwatch.events.store import EventStore
from camwatch.notify.sink import NotifySink
from camwatch.paths import database_path, default_data_dir, snapshots_dir
from camwatch.pipeline.camera import CameraPipeline
from camwatch.pipeline.shared_detector import SharedDetector
from camwatch.pipeline.worker import CameraWorker
from camwatch.service.cpu import CpuSampler
from camwatch.service.memory import limit_malloc_arenas
from camwatch.sources.opencv import CameraSource
from camwatch.state import RuntimeState

_LOGGER = logging.getLogger(__name__)


class Camwatch:
    def __init__(
        self,
        config: CamwatchConfig,
        *,
        config_path: Path | None = None,
        data_dir: Path | None = None,
        detector: Detector | None = None,
        with_web: bool = True,
        with_mqtt: bool = True,
        start_time: float | None = None,
    ) -> None:
        limit_malloc_arenas()  # before any thread starts: keeps resident memory flat
        self.config = config
        self.config_path = config_path
        self.data_dir = Path(data_dir or config.data_dir or default_data_dir()).expanduser()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.start_time = start_time
        cameras = {n: c for n, c in config.cameras.items() if c.enabled}
        self.state = RuntimeState(list(cameras))
        self.bus = EventBus()
        self.control = ControlState(
            self.data_dir / "control.json",
            {
                n: {"detect": c.detect.enabled, "snapshots": c.snapshots.enabled, "motion": c.motion.enabled,
                    "zones": {z: zc.enabled for z, zc in c.zones.items()}}
                for n, c in cameras.items()
            },
            armed=config.alerts.armed,
        )
        self.store = EventStore(database_path(self.data_dir), snapshots_dir(self.data_dir))
        closed = self.store.close_open_events("camwatch restarted (previous run did not end cleanly)", time.time())
        if closed:
            _LOGGER.warning("closed %d event(s) left open by an unclean shutdown", closed)
        self.retention = Retention(self.store, config.storage.retain_days, config.storage.max_snapshot_mb)
        self.store.on_full = self.retention.trigger  # a full disk prunes at once, then writes resume
        self.detector = SharedDetector(detector or create_detector(config.detector, self.data_dir))
        self.state.detector = self.detector.describe()
        self.bus.subscribe("store", self.store.handle, {TOPIC_EVENT}, maxsize=100000)
        self.closers: list[Any] = []  # extra resources closed at stop (activity baseline…)
        self.notifications = NotifySink(config, self.state, snapshots_dir(self.data_dir))
        self.bus.subscribe("notify", self.notifications.handle, {TOPIC_EVENT})
        self.closers.append(self.notifications.stop)
        self._hook_shared: dict[str, Any] | None = None  # schedule + activity baseline (pipeline.hooks)
        self.faces_embedder: Any = None
        self.faces_gallery: Any = None
        self.faces_finder: Any = None
        self.faces_available = False
        if config.faces.enabled:
            self._setup_faces()
        self.pipelines: dict[str, CameraPipeline] = {}
        self.workers: dict[str, CameraWorker] = {}
        for name, cam in cameras.items():
            snapshots = SnapshotWriter(
                snapshots_dir(self.data_dir), quality=cam.snapshots.quality,
                thumb_height=cam.snapshots.thumbnail_height, on_full=self.retention.trigger,
            )
            pipeline = CameraPipeline(name, cam, self.detector, self.bus, self.state, self.control, snapshots)
            self._add_hooks(pipeline)
            self.pipelines[name] = pipeline
        self.mqtt: Any = None
        self.web: Any = None
        self._with_web = with_web and config.web.enabled
        self._with_mqtt = with_mqtt and config.mqtt.enabled
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._last_camera_state: dict[str, tuple[bool, str]] = {}
        self.notifier: Any = None
        self._cpu = CpuSampler()

    # --------------------------------------------------------------- helpers
    def _setup_faces(self) -> None:
        """One embedder and gallery shared by every camera and the web UI.

        Missing face models switch face alerts off for the whole run with one warning (and
        a line on the System page), instead of an error per camera.
        """
        from camwatch.faces.enrol import FaceFinder
        from camwatch.faces.gallery import FaceGallery
        from camwatch.faces.stage import resolve_model
        from camwatch.models import ModelError

        faces = self.config.faces
        try:
            models = [resolve_model(self.data_dir, faces.model), resolve_model(self.data_dir, faces.face_camera_model)]
        except ModelError as exc:
            _LOGGER.warning("face alerts off: %s", exc)
            self.state.add_error("faces", f"face alerts off: {exc}")
            self.faces_available = False
            return
        try:
            from camwatch.faces.embedder import load_embedder

            self.faces_embedder = load_embedder(faces.embedder) if faces.recognition else None
        except Exception as exc:
            _LOGGER.warning("face recognition unavailable (%s); face alerts only", exc)
        self.faces_gallery = FaceGallery(self.data_dir, self.faces_embedder)
        self.faces_finder = FaceFinder(list(dict.fromkeys(models)), faces.min_score)
        self.faces_available = True

    def _add_hooks(self, pipeline: CameraPipeline) -> None:
        """Optional stages (faces, tamper, loitering, unusual activity) attach here."""
        from camwatch.pipeline.hooks import attach_hooks

        attach_hooks(self, pipeline)

    def make_source(self, name: str, url: str | None = None, **overrides: Any) -> CameraSource:
        cam = self.config.cameras[name]
        options = cam.source.model_copy(update=overrides) if overrides else cam.source
        return CameraSource(name, url or cam.url, cam.detect.fps, options, self.state, start_time=self.start_time)

    def apply_config(self, config: CamwatchConfig) -> None:
        """Apply zone and mask changes without a restart (the web UI calls this)."""
        self.config = config
        for name, pipeline in self.pipelines.items():
            if name in config.cameras:
                pipeline.reload(config.cameras[name])
        self.notifications.reload(config)

    # ------------------------------------------------------------- lifecycle
    def start(self) -> None:
        if self._with_mqtt:
            from camwatch.comms.publisher import MqttSink

            self.mqtt = MqttSink(self.config, self.state, self.control, self.data_dir)
            self.bus.subscribe("mqtt", self.mqtt.handle, maxsize=100000)
            self.mqtt.start()
        if self._with_web:
            from camwatch.web.context import WebContext
            from camwatch.web.server import WebServer

            ctx = WebContext(
                config=self.config, config_path=self.config_path, store=self.store, state=self.state,
                control=self.control, data_dir=self.data_dir, apply_config=self.apply_config, version=__version__,
                faces_gallery=self.faces_gallery, faces_finder=self.faces_finder,
            )
            self.web = WebServer(ctx)
            self.web.start()
        self.state.add_listener(self._on_state_change)
        for name in self.pipelines:
            worker = CameraWorker(self.pipelines[name], self.make_source(name), self.state)
            self.workers[name] = worker
            worker.start()
        self.retention.start(self.config.storage.prune_interval)
        self._spawn(self._housekeeping, "housekeeping")
        _LOGGER.info("camwatch %s started: %d camera(s), detector %s", __version__, len(self.workers),
                     self.state.detector.get("device"))

    def _spawn(self, target: Any, name: str) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def _on_state_change(self, kind: str, name: str) -> None:
        if kind == "camera":
            status = self.state.camera(name)
            key = (status.online, status.state)
            if self._last_camera_state.get(name) != key:
                self._last_camera_state[name] = key
                self.bus.publish(TOPIC_CAMERA_STATE, status.to_dict())

    def stats(self) -> dict[str, Any]:
        proc = psutil.Process(os.getpid())
        self.state.detector = self.detector.describe()
        return {
            "time": time.time(),
            "uptime": round(time.time() - self.state.started, 1),
            "version": __version__,
            "cpu_percent": self._cpu.read().process_percent,
            "memory_mb": round(proc.memory_info().rss / 1e6, 1),
            "detector": self.state.detector,
            "cameras": {
                n: {k: s[k] for k in ("online", "input_fps", "processed_fps", "skipped_fps", "skipped_total",
                                       "reconnects", "detector_calls")}
                for n, s in self.state.cameras().items()
            },
        }

    def _housekeeping(self) -> None:
        interval = float(getattr(self.config.mqtt, "stats_interval", 30) or 30)
        last_stats = 0.0
        while not self._stop.wait(1.0):
            now = time.monotonic()
            if now - last_stats >= interval:
                last_stats = now
                self.bus.publish(TOPIC_STATS, self.stats())

    def health_problem(self, stall_after: float = 30.0) -> str | None:
        """None when every camera loop came round within ``stall_after`` s, else what is hung."""
        hung = [name for name, worker in self.workers.items() if not worker.alive(stall_after)]
        if hung:
            return f"camera loop hung for more than {stall_after:g} s: {', '.join(hung)}"
        return None

    def wait(self, timeout: float | None = None) -> bool:
        """Block until every camera finished (files) or stop() was called."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self._stop.is_set():
            if self.workers and all(w.finished.is_set() for w in self.workers.values()):
                return True
            if deadline is not None and time.monotonic() > deadline:
                return False
            self._stop.wait(0.2)
        return True

    def stop(self) -> None:
        if self._stop.is_set():
            return
        self._stop.set()
        _LOGGER.info("camwatch stopping")
        for worker in self.workers.values():
            worker.stop()
        self.bus.flush(30)
        if self.mqtt is not None:
            self.mqtt.stop()
        if self.web is not None:
            self.web.stop()
        self.bus.close()
        self.retention.stop()
        for close in self.closers:
            try:
                close()
            except Exception:
                _LOGGER.exception("closing %s failed", close)
        self.store.close()
        self.detector.close()

    def run_forever(self) -> int:
        """`camwatch run`: start, tell systemd we are ready, stop cleanly on SIGINT/SIGTERM."""
        try:
            from camwatch.service.notify import Notifier

            self.notifier = Notifier()
        except ImportError:
            self.notifier = None
        stop_requested = threading.Event()

        def on_signal(signum: int, _frame: Any) -> None:
            _LOGGER.info("received %s", signal.Signals(signum).name)
            stop_requested.set()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        self.start()
        watchdog = None
        if self.notifier is not None:
            from camwatch.service.watchdog import WatchdogPinger

            self.notifier.ready(f"watching {len(self.workers)} camera(s)")
            watchdog = WatchdogPinger(self.notifier, self.health_problem)
            watchdog.start()
        while not stop_requested.wait(0.5):
            if self.workers and all(w.finished.is_set() for w in self.workers.values()):
                _LOGGER.info("every camera source has ended")
                break
        if watchdog is not None:
            watchdog.stop()
        if self.notifier is not None:
            self.notifier.stopping("stopping")
        self.stop()
        return 0
