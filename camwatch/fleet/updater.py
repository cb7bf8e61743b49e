"""Signed over-the-air model updates, one at a time, on a thread of their own.

A signed manifest arrives (retained, on the node's or the fleet's ``…/model/desired``) and
goes through, each step reported on ``…/model/state`` and logged once:

1. **verify**: the signature against ``updates.keys``, the target (this node, or ``*`` on
   the fleet topic), the version (newer than every version decided before: no replay; not
   below ``updates.min_version``). A node that never decided takes the newest signed
   manifest it can see, other nodes' copies included (:mod:`camwatch.fleet.inbox`). A
   refusal at this step is counted, never the node's result (:mod:`camwatch.fleet.refusals`);
2. **scheduled**: wait this node's share of the ``rollout_window``;
3. **downloading** (resume, retries, progress) into staging, then **verifying** size and SHA-256;
4. **testing**: first load in a second interpreter (layout, shapes, labels, blank frame),
   then the shadow test: the new model on the recent inputs of this node's cameras, against
   what the running model found there;
5. the swap, under the detector lock, between two frames; then **watching**: for
   ``watch_period`` the previous model stays loaded and runs on sampled inputs; an error of
   the new model, or a loss above ``allowed_loss``, **rolls back** by itself;
6. **active** (kept across restarts), or **rejected** / **rolled back** with the reason.

A download that did not bring the signed bytes (network, server, a wrong size or SHA-256
from the transport, a full disk) is tried again after ``retry_interval``, doubling with
each failure up to :data:`RETRY_WAIT_MAX`; it does not use up the version. Every outcome
with the signed bytes in hand does: the same version is never tried twice. Each decision
is reported with the signed envelope (``on_decided``), which the agent keeps retained as
this node's copy for nodes that join later.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

from camwatch.config.fleet import UpdatesConfig
from camwatch.config.root import CamwatchConfig
from camwatch.detectors.base import Detection, Detector, ModelError, ModelInfo
from camwatch.fleet.compare import Tally
from camwatch.fleet.inbox import COPY, FLEET, NODE, ManifestInbox
from camwatch.fleet.installed import build_installed, configured_key
from camwatch.fleet.manifest import ManifestError, ModelManifest
from camwatch.fleet.probe import run_probe
from camwatch.fleet.record import InstalledModel, UpdateStore
from camwatch.fleet.refusals import RefusalLog
from camwatch.fleet.samples import FrameRecorder
from camwatch.fleet.signing import SignatureRejected, verify_envelope
from camwatch.fleet.staging import Staging
from camwatch.fleet.watch import WatchPeriod
from camwatch.models import DownloadFailed

_LOGGER = logging.getLogger(__name__)

__all__ = ["COPY", "FLEET", "NODE", "Swappable", "Updater"]

IN_PROGRESS = frozenset({"scheduled", "downloading", "verifying", "testing", "watching"})
TITLE = "camwatch detector model"
RETRY_WAIT_MAX = 6 * 3600.0  # the longest wait between two download attempts of one version
Job = tuple[str, str, bytes, ModelManifest]  # kind, topic, envelope, its manifest


class Swappable(Protocol):
    """What the updater needs of the shared detector."""

    info: ModelInfo | None

    def swap(self, detector: Detector, info: ModelInfo, keep_previous: bool = False) -> Detector | None: ...
    def run_previous(self, image: Any, threshold: float | None) -> list[Detection] | None: ...
    def release_previous(self) -> None: ...
    def roll_back(self) -> Detector | None: ...


class Updater:
    def __init__(
        self, config: CamwatchConfig, node: str, detector: Swappable, store: UpdateStore,
        recorder: FrameRecorder, report: Callable[[dict[str, Any]], None],
    ) -> None:  # fmt: skip
        self.config = config
        self.node = node
        self.detector = detector
        self.store = store
        self.recorder = recorder
        self.report = report
        self.staging = Staging(store.directory)
        self.state: dict[str, Any] = {}
        self.inbox = ManifestInbox()
        self.refusals = RefusalLog()
        self.on_decided: Callable[[bytes], None] | None = None  # the signed envelope of each decision
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self.watch = WatchPeriod()
        self._retry: tuple[str, str, bytes, float] | None = None
        self._failures: dict[tuple[str, int], int] = {}  # downloads failed per version
        self._not_before: dict[tuple[str, int], float] = {}
        self._logged: set[tuple[Any, ...]] = set()
        self._envelope: bytes | None = None  # of the version being installed
        self._thread: threading.Thread | None = None

    @property
    def settings(self) -> UpdatesConfig:
        return self.config.updates

    @property
    def enabled(self) -> bool:
        return bool(self.settings.keys)

    def tracked(self) -> set[str]:
        return {label for cam in self.config.cameras.values() if cam.enabled for label in cam.objects.track}

    # ------------------------------------------------------------ input
    def offer(self, kind: str, payload: bytes) -> None:
        """A desired-model message (paho's thread): remembered, handled on the update thread."""
        if not payload:
            return  # the retained manifest was cleared
        self.inbox.offer(kind, payload)
        self._wake.set()

    @property
    def never_decided(self) -> bool:
        """No version decided yet: other nodes' copies say which one is the newest."""
        return self.store.record.decided == 0

    def offer_copy(self, topic: str, payload: bytes) -> None:
        """Another node's retained copy of the manifest it decided on (paho's thread)."""
        if payload and self.never_decided:
            self.inbox.offer_copy(topic, payload)
            self._wake.set()

    def on_fallback(self, failed: Detector, exc: BaseException) -> None:
        """The new model raised and the previous one took over (a camera's thread)."""
        self.watch.on_fallback(failed, exc)
        self._wake.set()

    def apply_config(self, config: CamwatchConfig) -> None:
        self.config = config

    # ------------------------------------------------------------ life cycle
    def start(self) -> None:
        last = self.store.record.history[-1] if self.store.record.history else None
        if not self.enabled:
            self._publish("off", None, reason="no key in updates.keys: remote model updates are off", quiet=True)
        elif last is not None:  # what the retained state said before the restart
            self._publish(last["result"], None, reason=last.get("reason"), version=last.get("version"),
                          name=last.get("name"), quiet=True)  # fmt: skip
        else:
            self._publish("idle", None, quiet=True)
        self._thread = threading.Thread(target=self._run, name="model-updates", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self._idle_wait())
            self._wake.clear()
            try:
                self._retry_if_due()
                job = self._next_job()
                if job is not None:
                    self._process(*job)
            except Exception:
                _LOGGER.exception("model update failed unexpectedly")
                self._stop.wait(5.0)

    def _idle_wait(self) -> float:
        """At most 1 s between looks; to the moment when the retained burst has settled or a retry
        is due, when that comes sooner (a manifest is then taken at once, not up to 1 s later)."""
        wait = 1.0
        settling = self.inbox.settling_left() if self.never_decided else 0.0
        if settling > 0:
            wait = min(wait, settling)
        if self._retry is not None:
            wait = min(wait, self._retry[3] - time.monotonic())
        return max(wait, 0.01)

    # ------------------------------------------------------------ choosing
    def _retry_if_due(self) -> None:
        if self._retry is not None and time.monotonic() >= self._retry[3]:
            kind, topic, payload, _ = self._retry
            self._retry = None
            self.inbox.put_back(kind, topic, payload)

    def _next_job(self) -> Job | None:
        best: Job | None = None
        for kind, topic, payload in self.inbox.take(settling=self.never_decided):
            manifest = self._verified(kind, payload)
            if manifest is not None and (best is None or manifest.version > best[3].version):
                best = (kind, topic, payload, manifest)
        return best

    def _verified(self, kind: str, payload: bytes) -> ModelManifest | None:
        """The manifest when it is to be installed now; refusals are counted here."""
        if not self.enabled:
            self._publish("off", None, reason="no key in updates.keys: remote model updates are off")
            return None
        try:
            manifest = verify_envelope(payload, self.settings.keys)
        except (SignatureRejected, ManifestError) as exc:
            self._refuse(kind, str(exc))
            return None
        if kind == COPY and manifest.target not in {"*", self.node}:
            return None  # another node's own model: nothing for this one
        if kind == FLEET and not manifest.for_fleet:  # signed by the owner, and replayed in the wrong place
            self._refuse(kind, f"{manifest.label} is signed for node {manifest.target}, not for the fleet topic")
            return None
        if kind == NODE and manifest.target != self.node:
            whom = "every node" if manifest.for_fleet else f"node {manifest.target}"
            self._refuse(kind, f"{manifest.label} is signed for {whom}, not for this node's topic")
            return None
        decided, floor = self.store.record.decided, self.settings.min_version
        if manifest.version < decided:  # an old manifest still retained, or replayed: never installed
            self._log_once(("old", kind, manifest.version), logging.WARNING,
                           "ignoring %s on the %s topic: not newer than version %d", manifest.label, kind, decided)
            return None
        if manifest.version < floor:
            self._log_once(("floor", kind, manifest.version), logging.WARNING,
                           "ignoring %s on the %s topic: below updates.min_version %d", manifest.label, kind, floor)
            return None
        if manifest.version == decided:
            return None  # decided already (installed, refused or rolled back)
        return manifest

    def _refuse(self, source: str, reason: str) -> None:
        """Refused before anything was fetched: nothing used up, the node's result untouched."""
        line = self.refusals.add(source, reason)
        if line is None:
            return  # this source is in its quiet period: counted only
        _LOGGER.warning("model update: %s", line)
        self.state = {**self.state, "refused": self.refusals.last}
        self.report(self.state)

    # ------------------------------------------------------------ one update
    def _process(self, kind: str, topic: str, payload: bytes, m: ModelManifest) -> None:
        self._envelope = payload
        if not self._wait_turn(kind, topic, payload, m):
            return
        self._publish("downloading", m, progress=0)
        shown = [0]

        def progress(done: int, total: int | None) -> None:
            pct = done * 100 // (total or m.size)
            if pct // 10 > shown[0] // 10 and pct < 100:
                shown[0] = pct
                self._publish("downloading", m, progress=pct)

        try:
            part = self.staging.fetch(m, retries=self.settings.download_retries, on_progress=progress)
            self._publish("verifying", m)
            self.staging.verify(m, part)
        except (DownloadFailed, ModelError, OSError) as exc:  # not the signed bytes (yet): try again later
            key = (m.name, m.version)
            self._failures[key] = failures = self._failures.get(key, 0) + 1
            wait = min(self.settings.retry_interval * 2 ** (failures - 1), RETRY_WAIT_MAX)
            self._retry = (kind, topic, payload, time.monotonic() + wait)
            self._publish("failed", m, reason=f"download failed: {exc}; trying again in {wait:g} s", attempt=failures)
            return
        self._failures.pop((m.name, m.version), None)
        self._publish("testing", m, step="second interpreter")
        model_file, labels_file = self.staging.install(m, part)
        model = InstalledModel(m.name, m.version, m.sha256, m.layout, model_file, labels_file,
                               configured_key(self.config.detector))  # fmt: skip
        tested = self._tested(m, model)
        if tested is not None:
            self._swap_in(m, model, *tested)

    def _wait_turn(self, kind: str, topic: str, payload: bytes, m: ModelManifest) -> bool:
        """This node's place in the rollout window; False when something newer arrived meanwhile."""
        key = (m.name, m.version)
        start = self._not_before.setdefault(key, time.monotonic() + m.rollout_delay(self.node))
        left = start - time.monotonic()
        if left > 0:
            self._publish("scheduled", m, starts_in=round(left))
        while time.monotonic() < start:
            if self._stop.wait(min(1.0, start - time.monotonic())):
                return False
            if self.inbox.pending():  # look at what came in first; this one comes back with it
                self.inbox.put_back(kind, topic, payload)
                return False
        return True

    def _tested(self, m: ModelManifest, model: InstalledModel) -> tuple[Detector, Tally] | None:
        path, labels = self.store.path_of(model.file), self.store.path_of(model.labels_file)
        probe = run_probe(path, labels, m.layout, m.input_size, sorted(self.tracked()),
                          self.config.detector.runtime, self.settings.test_timeout)  # fmt: skip
        if not probe.ok:
            return self._reject_installed(m, model, str(probe.reason))
        try:
            candidate = build_installed(model, self.store, self.config.detector)
        except (ModelError, ValueError, RuntimeError, OSError) as exc:
            return self._reject_installed(m, model, str(exc))
        self._publish("testing", m, step="shadow test")
        try:
            tally = self._shadow(candidate)
        except (ValueError, RuntimeError) as exc:
            candidate.close()
            return self._reject_installed(m, model, f"shadow test: the new model failed ({exc})")
        if tally.too_lossy(self.settings.allowed_loss, self.settings.min_objects):
            candidate.close()
            return self._reject_installed(m, model, f"shadow test: {tally.describe()}")
        return candidate, tally

    def _reject_installed(self, m: ModelManifest, model: InstalledModel, reason: str) -> None:
        for name in (model.file, model.labels_file):
            self.store.path_of(name).unlink(missing_ok=True)
        self._decide(m, "rejected", reason)
        return None

    def _shadow(self, candidate: Detector) -> Tally:
        active = self.detector.info
        tally = Tally()
        tracked = self.tracked()
        for sample in self.recorder.samples(active.sha256 if active else ""):
            tally.add(sample.found, candidate.detect(sample.image, sample.threshold), tracked)
        return tally

    def _swap_in(self, m: ModelManifest, model: InstalledModel, candidate: Detector, shadow_tally: Tally) -> None:
        info = ModelInfo(m.name, m.sha256, m.layout, "update", m.version)
        watch = self.settings.watch_period > 0
        self.store.begin_trial(model)
        start = time.perf_counter()
        replaced = self.detector.swap(candidate, info, keep_previous=watch)
        swap_ms = round((time.perf_counter() - start) * 1000.0, 3)
        shadow = shadow_tally.to_dict()
        if replaced is not None:
            replaced.close()
        if not watch:
            self.store.end_trial(passed=True)
            self._decide(m, "active", None, swap_ms=swap_ms, shadow=shadow)
            return
        self._publish("watching", m, swap_ms=swap_ms, shadow=shadow, watch_seconds=self.settings.watch_period)
        passed, reason, tally = self.watch.run(m.sha256, self.detector, self.recorder, self.settings, self.tracked(),
                                               self._stop)  # fmt: skip
        if passed is None:
            return  # stopping: the next start finds the trial and rolls it back
        if passed:
            self.detector.release_previous()
            self.store.end_trial(passed=True)
            self._decide(m, "active", None, swap_ms=swap_ms, shadow=shadow, watch=tally.to_dict())
        else:
            self.store.end_trial(passed=False)
            self._decide(m, "rolled back", reason, swap_ms=swap_ms, shadow=shadow, watch=tally.to_dict())

    # ------------------------------------------------------------ reporting
    def _decide(self, m: ModelManifest, result: str, reason: str | None, **extra: Any) -> None:
        self.store.decide(m.version)
        self.store.add_history(m.version, m.name, result, reason)
        self.staging.discard(m)
        self._publish(result, m, reason=reason, **extra)
        if self._envelope is not None:
            self.store.save_envelope(self._envelope)
            if self.on_decided is not None:
                self.on_decided(self._envelope)

    def _publish(
        self, state: str, m: ModelManifest | None, reason: str | None = None, quiet: bool = False, **extra: Any
    ) -> None:
        active = self.detector.info
        installed = active.label if active is not None else "unknown"
        version = extra.pop("version", m.version if m else None)
        name = extra.pop("name", m.name if m else None)
        payload: dict[str, Any] = {
            "state": state, "version": version, "name": name, "reason": reason, "time": round(time.time(), 3),
            "model": active.to_dict() if active else None, "installed_version": installed,
            "latest_version": m.label if m is not None and state in IN_PROGRESS else installed,
            "title": TITLE, "in_progress": state in IN_PROGRESS, **extra,
        }  # fmt: skip
        if state == "downloading":
            payload["update_percentage"] = extra.get("progress")
        if reason:
            payload["release_summary"] = f"{name or 'update'} v{version}: {state}: {reason}"[:255]
        if self.refusals.last is not None:
            payload["refused"] = self.refusals.last
        self.state = payload
        if not quiet and (state != "downloading" or not extra.get("progress")):
            text = f"{state}: {reason}" if reason else state
            level = logging.WARNING if state in {"rejected", "rolled back", "failed"} else logging.INFO
            self._log_once((state, version, reason), level, "model update %s: %s", m.label if m else "(unverified manifest)", text)
        self.report(payload)

    def _log_once(self, key: tuple[Any, ...], level: int, message: str, *args: Any) -> None:
        if key in self._logged:
            return
        if len(self._logged) > 1000:
            self._logged.clear()
        self._logged.add(key)
        _LOGGER.log(level, message, *args)

