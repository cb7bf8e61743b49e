"""The camwatch application: starts and stops the cameras and the sinks, and applies config changes.

Data flows one way: source → motion → detector → tracker → events → bus → sinks
(store, MQTT, web UI). Everything runs in one process: a thread per camera, one shared
detector, one thread per bus sink. What is built from the config — the shared services
and each camera's pipeline — comes from :mod:`camwatch.pipeline.build`; this class holds
only the life cycle.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

import psutil

from camwatch import __version__
from camwatch.config import CamwatchConfig
from camwatch.config.camera import CameraConfig
from camwatch.const import EVENT_END, TOPIC_CAMERA_STATE, TOPIC_EVENT, TOPIC_STATS
from camwatch.control import ControlState
from camwatch.cpu import CpuSampler
from camwatch.detectors.base import Detector
from camwatch.events.bus import EventBus
from camwatch.events.model import EventMessage
from camwatch.events.store import EventStore
from camwatch.fleet.installed import configured_info, start_model
from camwatch.notify.sink import NotifySink
from camwatch.paths import default_data_dir
from camwatch.pipeline.build import build_camera
from camwatch.pipeline.camera import CameraPipeline
from camwatch.pipeline.services import Services, build_services, camera_switches, enabled_cameras
from camwatch.pipeline.shared_detector import SharedDetector
from camwatch.pipeline.worker import CameraWorker
from camwatch.service.memory import limit_malloc_arenas
from camwatch.sources.opencv import CameraSource
from camwatch.state import RuntimeState

if TYPE_CHECKING:
    from camwatch.comms.publisher import MqttSink
    from camwatch.fleet.agent import FleetAgent
    from camwatch.service.notify import Notifier
    from camwatch.web.server import WebServer

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
        model = start_model(config, self.data_dir) if detector is None else None  # an installed model update?
        self.services: Services = build_services(
            config, self.data_dir, detector=detector or (model.detector if model else None), start_time=start_time
        )
        self.services.detector.info = model.info if model else configured_info(config.detector, self.data_dir)
        # the shared parts the life cycle uses (and tests and benchmarks read)
        self.state: RuntimeState = self.services.state
        self.bus: EventBus = self.services.bus
        self.store: EventStore = self.services.store
        self.control: ControlState = self.services.control
        self.detector: SharedDetector = self.services.detector
        self.pipelines: dict[str, CameraPipeline] = {
            name: build_camera(name, config, self.services) for name in enabled_cameras(config)
        }
        self.notifications = NotifySink(config, self.state, self.services.snapshots_dir, data_dir=self.data_dir)
        self.bus.subscribe("notify", self.notifications.handle, {TOPIC_EVENT})
        self.workers: dict[str, CameraWorker] = {}
        self.mqtt: MqttSink | None = None
        self.fleet: FleetAgent | None = None
        self.web: WebServer | None = None
        self.notifier: Notifier | None = None
        self._with_web = with_web and config.web.enabled
        self._with_mqtt = with_mqtt and config.mqtt.enabled
        self._started = False
        self._stop = threading.Event()
        self._apply_lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._last_camera_state: dict[str, tuple[bool, str]] = {}
        self._cpu = CpuSampler()

    # ------------------------------------------------------------- lifecycle
    def start(self) -> None:
        if self._with_mqtt:
            from camwatch.comms.publisher import MqttSink
            from camwatch.fleet.agent import FleetAgent

            self.mqtt = MqttSink(self.config, self.state, self.control, self.data_dir)
            self.bus.subscribe("mqtt", self.mqtt.handle, maxsize=100000)
            self.fleet = FleetAgent(self.config, self.data_dir, self.detector, self.state, self.bus, self.mqtt)
            self.fleet.start()  # before the first connect: its topics go out with the first state
            self.mqtt.start()
        for event in self.services.ended_at_start:
            self.bus.publish(TOPIC_EVENT, EventMessage(EVENT_END, event))
        if self._with_web:
            from camwatch.web.context import WebContext
            from camwatch.web.server import WebServer

            faces = self.services.faces
            ctx = WebContext(
                config=self.config, config_path=self.config_path, store=self.store, state=self.state,
                control=self.control, data_dir=self.data_dir, apply_config=self.apply_config, version=__version__,
                faces_gallery=faces.gallery if faces else None, faces_finder=faces.finder if faces else None,
            )
            self.web = WebServer(ctx)
            self.web.start()
        self.state.add_listener(self._on_state_change)
        self._started = True
        for name in self.pipelines:
            self._start_worker(name)
        self.services.retention.start(self.config.storage.prune_interval)
        self._spawn(self._housekeeping, "housekeeping")
        _LOGGER.info("camwatch %s started: %d camera(s), detector %s", __version__, len(self.workers),
                     self.state.detector.get("device"))

    def _start_worker(self, name: str) -> None:
        cam = self.config.cameras[name]
        password = cam.password.get_secret_value() if cam.password is not None else None
        source = CameraSource(name, cam.url, cam.detect.fps, cam.source, self.state, start_time=self.start_time,
                              username=cam.username, password=password)
        worker = CameraWorker(self.pipelines[name], source, self.state)
        self.workers[name] = worker
        worker.start()

    # --------------------------------------------------------- config change
    def apply_config(self, config: CamwatchConfig) -> None:
        """Apply a new config at run time (the web UI calls this after saving the file).

        A camera that was added starts, one that was removed stops (its stored events stay),
        one whose source changed restarts, and one with other changes (zones, masks,
        objects, tamper, faces...) is rebuilt in place, keeping its tracked objects and open
        events. New armed schedules apply to alert decisions from then on. MQTT follows (Home
        Assistant entities of new zones and cameras appear, those of removed ones go).
        """
        with self._apply_lock:
            old, self.config = self.config, config
            wanted = enabled_cameras(config)
            self.control.sync(camera_switches(config))
            if old.alerts != config.alerts:
                self.services.apply_alerts(config)
            for name in [n for n in self.pipelines if n not in wanted]:
                self._remove_camera(name, "camera removed")
                self.state.remove_camera(name)
            for name, cam in wanted.items():
                if name not in self.pipelines:
                    self._add_camera(name)
                elif _source_changed(old.cameras[name], cam):
                    self._remove_camera(name, "camera reconfigured")
                    self._add_camera(name)
                elif old.cameras[name] != cam or old.faces != config.faces or old.alerts != config.alerts:
                    self._rebuild_camera(name, config)
            if self.mqtt is not None:
                self.mqtt.apply_config(config)
            if self.fleet is not None:
                self.fleet.apply_config(config)
            self.notifications.reload(config)
            if self.web is not None:
                self.web.ctx.config = config
            _LOGGER.info("config applied: %d camera(s)", len(self.pipelines))

    def _add_camera(self, name: str) -> None:
        self.state.camera(name)  # listed (as starting) from now on
        self.pipelines[name] = build_camera(name, self.config, self.services)
        if self._started and not self._stop.is_set():
            self._start_worker(name)
        _LOGGER.info("camera %s added", name)

    def _remove_camera(self, name: str, reason: str) -> None:
        worker = self.workers.pop(name, None)
        if worker is not None:
            worker.stop(reason=reason)
        self.pipelines.pop(name, None)
        self._last_camera_state.pop(name, None)
        _LOGGER.info("camera %s stopped: %s", name, reason)

    def _rebuild_camera(self, name: str, config: CamwatchConfig) -> None:
        def rebuild(previous: CameraPipeline) -> CameraPipeline:
            pipeline = build_camera(name, config, self.services, previous=previous)
            self.pipelines[name] = pipeline
            return pipeline

        worker = self.workers.get(name)
        if worker is None:
            rebuild(self.pipelines[name])
        elif not worker.replace_pipeline(rebuild):
            _LOGGER.warning("camera %s: the new config waits for its camera loop to come round", name)
        _LOGGER.info("camera %s: new config applied", name)

    # ------------------------------------------------------------- running
    def _spawn(self, target: Callable[[], None], name: str) -> None:
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
        hung = [name for name, worker in list(self.workers.items()) if not worker.alive(stall_after)]
        if hung:
            return f"camera loop hung for more than {stall_after:g} s: {', '.join(hung)}"
        return None

    def wait(self, timeout: float | None = None) -> bool:
        """Block until every camera finished (files) or stop() was called."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self._stop.is_set():
            if self.workers and all(w.finished.is_set() for w in list(self.workers.values())):
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
        with self._apply_lock:
            for worker in self.workers.values():
                worker.stop()
        self.bus.flush(30)
        if self.fleet is not None:
            self.fleet.stop()
        if self.mqtt is not None:
            self.mqtt.stop()
        if self.web is not None:
            self.web.stop()
        self.notifications.stop()
        self.bus.close()
        self.services.retention.stop()
        self.services.close()

    def run_forever(self) -> int:
        """`camwatch run`: start, tell systemd we are ready, stop cleanly on SIGINT/SIGTERM."""
        try:
            from camwatch.service.notify import Notifier

            self.notifier = Notifier()
        except ImportError:
            self.notifier = None
        stop_requested = threading.Event()

        def on_signal(signum: int, _frame: FrameType | None) -> None:
            _LOGGER.info("received %s", signal.Signals(signum).name)
            stop_requested.set()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        try:
            self.start()
        except BaseException:
            self.stop()  # never exit with capture threads still running (C++ aborts the process)
            raise
        watchdog = None
        if self.notifier is not None:
            from camwatch.service.watchdog import WatchdogPinger

            self.notifier.ready(f"watching {len(self.workers)} camera(s)")
            watchdog = WatchdogPinger(self.notifier, self.health_problem)
            watchdog.start()
        ended = False
        while not stop_requested.wait(0.5):
            done = bool(self.workers) and all(w.finished.is_set() for w in list(self.workers.values()))
            if done and self.web is None:
                _LOGGER.info("every camera source has ended")
                break
            if done and not ended:  # the web page stays up: cameras can be added or changed there
                _LOGGER.info("every camera source has ended; the web UI keeps running")
            ended = done
        if watchdog is not None:
            watchdog.stop()
        if self.notifier is not None:
            self.notifier.stopping("stopping")
        self.stop()
        return 0


def _source_changed(old: CameraConfig, new: CameraConfig) -> bool:
    """The camera must reopen its source (another stream, sampling or transport)."""
    return (old.url, old.username, old.password, old.source, old.detect.fps) != (
        new.url, new.username, new.password, new.source, new.detect.fps)
