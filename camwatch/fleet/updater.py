"""Signed over-the-air model updates, one at a time, on a thread of their own.

A signed manifest arrives (retained, on the node's or the fleet's ``…/model/desired``) and
goes through, each step reported on ``…/model/state`` and logged once:

1. **verify**: the signature against ``updates.keys``, the target (this node, or ``*`` on
   the fleet topic), the version (newer than every version decided before: no replay);
2. **scheduled**: wait this node's share of the ``rollout_window``;
3. **downloading** (resume, retries, progress) into staging, then **verifying** size and SHA-256;
4. **testing**: first load in a second interpreter (layout, shapes, labels, blank frame),
   then the shadow test: the new model on the recent inputs of this node's cameras, against
   what the running model found there;
5. the swap, under the detector lock, between two frames; then **watching**: for
   ``watch_period`` the previous model stays loaded and runs on sampled inputs; an error of
   the new model, or a loss above ``allowed_loss``, **rolls back** by itself;
6. **active** (kept across restarts), or **rejected** / **rolled back** with the reason.

A failed download (network, server) is tried again after ``retry_interval``; it does not
use up the version. Every other outcome does: the same version is never tried twice.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

from camwatch.config.fleet import UpdatesConfig
from camwatch.config.root import CamwatchConfig
from camwatch.detectors.base import Detection, Detector, ModelError, ModelInfo
from camwatch.fleet.compare import Tally
from camwatch.fleet.installed import build_installed, configured_key
from camwatch.fleet.manifest import ManifestError, ModelManifest
from camwatch.fleet.probe import run_probe
from camwatch.fleet.record import InstalledModel, UpdateStore
from camwatch.fleet.samples import FrameRecorder, Sample
from camwatch.fleet.signing import SignatureRejected, verify_envelope
from camwatch.fleet.staging import ContentRejected, Staging
from camwatch.models import DownloadFailed

_LOGGER = logging.getLogger(__name__)

NODE, FLEET = "node", "fleet"  # where a manifest came from
IN_PROGRESS = frozenset({"scheduled", "downloading", "verifying", "testing", "watching"})
TITLE = "camwatch detector model"
REFUSAL_QUIET = 10.0  # seconds between two published refusals of the same kind


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
        self._lock = threading.Lock()
        self._inbox: dict[str, bytes] = {}
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._samples: queue.Queue[Sample] = queue.Queue(maxsize=16)
        self._failure: tuple[Detector, BaseException] | None = None
        self._retry: tuple[str, bytes, float] | None = None
        self._not_before: dict[tuple[str, int], float] = {}
        self._logged: set[tuple[Any, ...]] = set()
        self._last_refusal: tuple[float, str | None] = (-REFUSAL_QUIET, None)
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
        with self._lock:
            self._inbox[kind] = payload
        self._wake.set()

    def on_fallback(self, failed: Detector, exc: BaseException) -> None:
        """The new model raised and the previous one took over (a camera's thread)."""
        with self._lock:
            self._failure = (failed, exc)
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
            self._wake.wait(1.0)
            self._wake.clear()
            try:
                self._retry_if_due()
                job = self._next_job()
                if job is not None:
                    self._process(*job)
            except Exception:
                _LOGGER.exception("model update failed unexpectedly")
                self._stop.wait(5.0)

    # ------------------------------------------------------------ choosing
    def _retry_if_due(self) -> None:
        if self._retry is not None and time.monotonic() >= self._retry[2]:
            kind, payload, _ = self._retry
            self._retry = None
            with self._lock:
                self._inbox.setdefault(kind, payload)

    def _next_job(self) -> tuple[str, bytes, ModelManifest] | None:
        with self._lock:
            inbox, self._inbox = self._inbox, {}
        best: tuple[str, bytes, ModelManifest] | None = None
        for kind, payload in inbox.items():
            manifest = self._verified(kind, payload)
            if manifest is not None and (best is None or manifest.version > best[2].version):
                best = (kind, payload, manifest)
        return best

    def _verified(self, kind: str, payload: bytes) -> ModelManifest | None:
        """The manifest when it is to be installed now; refusals are reported here."""
        if not self.enabled:
            self._publish("off", None, reason="no key in updates.keys: remote model updates are off")
            return None
        try:
            manifest = verify_envelope(payload, self.settings.keys)
        except (SignatureRejected, ManifestError) as exc:
            self._refuse(None, f"{exc} (on the {kind} topic)")
            return None
        if kind == FLEET and not manifest.for_fleet:
            self._refuse(manifest, f"signed for node {manifest.target}, published on the fleet topic")
            return None
        if kind == NODE and manifest.target != self.node:
            self._refuse(manifest, f"signed for {'every node' if manifest.for_fleet else manifest.target}, "
                                   f"published on this node's topic")  # fmt: skip
            return None
        decided = self.store.record.decided
        if manifest.version < decided:  # an old manifest still retained, or replayed: never installed
            self._log_once(("old", kind, manifest.version), logging.WARNING,
                           "ignoring %s on the %s topic: not newer than version %d", manifest.label, kind, decided)
            return None
        if manifest.version == decided:
            return None  # decided already (installed, refused or rolled back)
        return manifest

    def _refuse(self, manifest: ModelManifest | None, reason: str) -> None:
        """Refused before anything was fetched; a bad signature does not use up a version. Any
        broker client can publish there: a flood of the same refusal is answered once per REFUSAL_QUIET s."""
        now = time.monotonic()
        if reason == self._last_refusal[1] and now - self._last_refusal[0] < REFUSAL_QUIET:
            return
        self._last_refusal = (now, reason)
        self._publish("rejected", manifest, reason=reason)

    # ------------------------------------------------------------ one update
    def _process(self, kind: str, payload: bytes, m: ModelManifest) -> None:
        if not self._wait_turn(kind, payload, m):
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
        except DownloadFailed as exc:
            wait = self.settings.retry_interval
            self._retry = (kind, payload, time.monotonic() + wait)
            self._publish("failed", m, reason=f"download failed: {exc}; trying again in {wait:g} s")
            return
        except (ContentRejected, ModelError, OSError) as exc:
            self._decide(m, "rejected", str(exc))
            return
        self._publish("testing", m, step="second interpreter")
        model_file, labels_file = self.staging.install(m, part)
        model = InstalledModel(m.name, m.version, m.sha256, m.layout, model_file, labels_file,
                               configured_key(self.config.detector))  # fmt: skip
        tested = self._tested(m, model)
        if tested is not None:
            self._swap_in(m, model, *tested)

    def _wait_turn(self, kind: str, payload: bytes, m: ModelManifest) -> bool:
        """This node's place in the rollout window; False when something newer arrived meanwhile."""
        key = (m.name, m.version)
        start = self._not_before.setdefault(key, time.monotonic() + m.rollout_delay(self.node))
        left = start - time.monotonic()
        if left > 0:
            self._publish("scheduled", m, starts_in=round(left))
        while time.monotonic() < start:
            if self._stop.wait(min(1.0, start - time.monotonic())):
                return False
            with self._lock:
                if self._inbox:  # look at what came in first; this one comes back with it
                    self._inbox.setdefault(kind, payload)
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
        passed, reason, tally = self._watch(m)
        if passed is None:
            return  # stopping: the next start finds the trial and rolls it back
        if passed:
            self.detector.release_previous()
            self.store.end_trial(passed=True)
            self._decide(m, "active", None, swap_ms=swap_ms, shadow=shadow, watch=tally.to_dict())
        else:
            self.store.end_trial(passed=False)
            self._decide(m, "rolled back", reason, swap_ms=swap_ms, shadow=shadow, watch=tally.to_dict())

    def _watch(self, m: ModelManifest) -> tuple[bool | None, str | None, Tally]:
        deadline = time.monotonic() + self.settings.watch_period
        tally = Tally()
        tracked = self.tracked()
        self.recorder.watch = self._take_sample
        try:
            while time.monotonic() < deadline:
                if self._stop.is_set():
                    return None, None, tally
                with self._lock:
                    failure, self._failure = self._failure, None
                if failure is not None:
                    failure[0].close()
                    return False, f"the new model failed ({type(failure[1]).__name__}: {failure[1]})", tally
                try:
                    sample = self._samples.get(timeout=min(0.5, max(0.01, deadline - time.monotonic())))
                except queue.Empty:
                    continue
                if sample.model != m.sha256:
                    continue
                previous = self.detector.run_previous(sample.image, sample.threshold)
                if previous is None:
                    continue
                tally.add(previous, sample.found, tracked)
                if tally.too_lossy(self.settings.allowed_loss, self.settings.min_objects):
                    failed = self.detector.roll_back()
                    if failed is not None:
                        failed.close()
                    return False, f"watch period: {tally.describe()}", tally
            return True, None, tally
        finally:
            self.recorder.watch = None
            while not self._samples.empty():
                self._samples.get_nowait()

    def _take_sample(self, sample: Sample) -> None:
        with contextlib.suppress(queue.Full):  # the watch compares what it can; a busy board skips some
            self._samples.put_nowait(sample)

    # ------------------------------------------------------------ reporting
    def _decide(self, m: ModelManifest, result: str, reason: str | None, **extra: Any) -> None:
        self.store.decide(m.version)
        self.store.add_history(m.version, m.name, result, reason)
        self.staging.discard(m)
        self._publish(result, m, reason=reason, **extra)

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

