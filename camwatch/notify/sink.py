"""NotifySink: the event-bus sink that sends notifications through Apprise.

``handle`` (on the bus thread) only decides and queues: filters and the rate limit, the
text, and with the opt-in the snapshot's bytes. Each destination has its own queue and
thread that sends, retries with a doubling delay and reports; so a slow or dead service
delays only its own messages, never a camera or another destination. The counters and the
last failure of every destination are in ``RuntimeState.notify`` (System page,
``/api/stats``) and, with a data directory, kept across restarts
(:mod:`camwatch.notify.counters`); a message given up on is also a line in the recent errors.

A message links to its event's page when the page's address is known: ``notify.web_url``,
else ``mqtt.web_url`` (the same address, given for Home Assistant).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from camwatch import secrets
from camwatch.config.notify import NotifyConfig, NotifyDestination
from camwatch.config.root import CamwatchConfig
from camwatch.const import TOPIC_EVENT
from camwatch.events.model import EventMessage
from camwatch.events.snapshots import snapshot_path
from camwatch.notify import counters
from camwatch.notify.message import Text, event_text, recognised_text, unknown_face_text
from camwatch.notify.rules import DestinationRules
from camwatch.notify.sender import SendResult, describe_url, send
from camwatch.state import RuntimeState

_LOGGER = logging.getLogger(__name__)

Sender = Callable[[str, Text, bytes | None], SendResult]
MAX_RETRY_DELAY = 600.0  # seconds: the doubling delay stops growing here


@dataclass(frozen=True)
class Job:
    text: Text
    attachment: bytes | None = None
    event_id: str | None = None


class DestinationWorker:
    """One destination's queue and sending thread."""

    def __init__(
        self, name: str, destination: NotifyDestination, settings: NotifyConfig, state: RuntimeState,
        sender: Sender = send, counters_file: Path | None = None,
    ) -> None:
        self.name = name
        self.destination = destination
        self.settings = settings
        self.state = state
        self.sender = sender
        self.rules = DestinationRules(destination)
        self._queue: deque[Job] = deque(maxlen=settings.queue_size)
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._busy = False
        self._counters_file = counters_file
        self._status: dict[str, Any] = {
            "service": describe_url(destination.url.get_secret_value()), "enabled": destination.enabled,
            "queued": 0, **counters.load(counters_file, name),
        }  # fmt: skip
        self._publish()
        self._thread = threading.Thread(target=self._run, name=f"notify-{name}", daemon=True)
        self._thread.start()

    # ------------------------------------------------------------- status
    def _publish(self, **changes: Any) -> None:
        changes["queued"] = len(self._queue) + (1 if self._busy else 0)
        counters.publish(self.state, self._counters_file, self.name, self._status, **changes)

    def count(self, key: str) -> None:
        with self._cond:
            self._publish(**{key: self._status[key] + 1})

    # -------------------------------------------------------------- queue
    def put(self, job: Job) -> None:
        with self._cond:
            dropped = self._status["dropped"]
            if len(self._queue) == self._queue.maxlen:
                dropped += 1
                _LOGGER.warning("notifications to %s are not getting through; dropping the oldest", self.name)
            self._queue.append(job)
            self._publish(dropped=dropped)
            self._cond.notify()

    def idle(self) -> bool:
        with self._cond:
            return not self._queue and not self._busy

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        self._thread.join(timeout)

    # ------------------------------------------------------------- thread
    def _run(self) -> None:
        while not self._stop.is_set():
            with self._cond:
                while not self._queue and not self._stop.is_set():
                    self._cond.wait(1.0)
                if self._stop.is_set():
                    return
                job = self._queue.popleft()
                self._busy = True
                self._publish()
            try:
                self._deliver(job)
            except Exception:  # a bug must not end this destination's thread
                _LOGGER.exception("notification to %s failed", self.name)
            finally:
                with self._cond:
                    self._busy = False
                    self._publish()

    def _deliver(self, job: Job) -> None:
        url = self.destination.url.get_secret_value()
        delay = self.settings.retry_delay
        attempts = self.settings.retries + 1
        result = SendResult(False, "not sent")
        for attempt in range(1, attempts + 1):
            result = self.sender(url, job.text, job.attachment)
            if result.ok:
                with self._cond:
                    self._publish(sent=self._status["sent"] + 1, last_sent=time.time())
                return
            with self._cond:
                self._publish(last_error=result.error, last_error_time=time.time())
            if attempt == attempts or self._stop.wait(min(delay, MAX_RETRY_DELAY)):
                break
            delay *= 2
            with self._cond:
                self._publish(retries=self._status["retries"] + 1)
        with self._cond:
            self._publish(failed=self._status["failed"] + 1)
        message = f"{self.name}: not delivered after {attempts} attempt(s): {result.error}"
        _LOGGER.warning("notification %s", secrets.redact(message))
        self.state.add_error("notify", secrets.redact(message))


class NotifySink:
    """Bus sink (topic ``event``); ``reload`` applies a new config without a restart."""

    def __init__(
        self, config: CamwatchConfig, state: RuntimeState, snapshots: Path, sender: Sender = send,
        data_dir: Path | None = None,
    ) -> None:
        """``data_dir``: where the counters are kept across restarts (None: in memory only)."""
        self.state = state
        self.snapshots = Path(snapshots)
        self.sender = sender
        self.counters_file = counters.counters_path(data_dir) if data_dir is not None else None
        self._lock = threading.Lock()
        self._workers: dict[str, DestinationWorker] = {}
        self._settings: NotifyConfig | None = None
        self._names: dict[str, str] = {}
        self._web_url: str | None = None
        self._unknown_alert: frozenset[str] = frozenset()  # cameras that tell about faces nobody knows
        self.reload(config)

    # --------------------------------------------------------------- config
    def reload(self, config: CamwatchConfig) -> None:
        """Start, restart or stop destination workers to match ``config.notify``."""
        settings = config.notify
        with self._lock:
            self._names = {name: cam.name or name for name, cam in config.cameras.items()}
            self._web_url = event_link_base(config)
            self._unknown_alert = frozenset(name for name, cam in config.cameras.items() if cam.faces.unknown_alert)
            same_settings = self._settings is not None and _shared(self._settings) == _shared(settings)
            self._settings = settings
            for name in list(self._workers):
                worker = self._workers[name]
                if not same_settings or settings.destinations.get(name) != worker.destination:
                    worker.stop(0.5)
                    del self._workers[name]
                    self.state.notify.pop(name, None)
                    if name not in settings.destinations:
                        counters.forget(self.counters_file, name)
            for name, destination in settings.destinations.items():
                if name not in self._workers:
                    self._workers[name] = DestinationWorker(name, destination, settings, self.state, self.sender,
                                                            self.counters_file)
        if settings.destinations:
            _LOGGER.info("notifications: %d destination(s)", len(settings.destinations))

    # ------------------------------------------------------------- bus input
    def handle(self, topic: str, payload: Any) -> None:
        """EventBus handler: decides and queues; never waits for a service."""
        if topic != TOPIC_EVENT or not isinstance(payload, EventMessage):
            return
        with self._lock:
            workers = list(self._workers.values())
            settings = self._settings
            names = self._names
            web_url = self._web_url
            unknown_alert = payload.event.camera in self._unknown_alert
        if settings is None:
            return
        event = payload.event
        camera = names.get(event.camera, event.camera)
        for worker in workers:
            try:
                decision = worker.rules.decide(payload, unknown_alert)
                if decision is None:
                    continue
                if decision.kind == "held":
                    worker.count("held_back")
                    continue
                if decision.kind == "recognised":
                    worker.put(Job(recognised_text(event, camera, web_url), None, event.id))
                    continue
                if decision.kind == "unknown_face":
                    worker.put(Job(unknown_face_text(event, camera, web_url), None, event.id))
                    continue
                attachment = self._snapshot(event.id) if worker.destination.attach_snapshot and event.has_snapshot else None
                text = event_text(event, camera, web_url, decision.held_back)
                worker.put(Job(text, attachment, event.id))
            except Exception:  # one destination's problem must not stop the others
                _LOGGER.exception("notification to %s could not be prepared", worker.name)

    def _snapshot(self, event_id: str) -> bytes | None:
        try:
            return snapshot_path(self.snapshots, event_id, "annotated").read_bytes()
        except (OSError, ValueError) as exc:
            _LOGGER.info("event %s: no snapshot to attach (%s); sending text only", event_id, exc)
            return None

    # ------------------------------------------------------------- lifecycle
    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait until every queue is empty and nothing is being sent (tests, shutdown)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                workers = list(self._workers.values())
            if all(w.idle() for w in workers):
                return True
            time.sleep(0.05)
        return False

    def stop(self, timeout: float = 5.0) -> None:
        """Give queued messages up to ``timeout`` to leave, then stop every worker."""
        self.wait_idle(timeout)
        with self._lock:
            workers = list(self._workers.values())
            self._workers.clear()
        for worker in workers:
            worker.stop(1.0)


def event_link_base(config: CamwatchConfig) -> str | None:
    """The web page's address messages link to: ``notify.web_url``, else ``mqtt.web_url``."""
    return config.notify.web_url or config.mqtt.web_url


def _shared(settings: NotifyConfig) -> tuple[Any, ...]:
    """The settings every worker uses: a change restarts them all."""
    return settings.retries, settings.retry_delay, settings.queue_size
