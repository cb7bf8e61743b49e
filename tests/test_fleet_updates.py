"""The model update path in one process, with real models, frames and a real HTTP server.

Checked here (the three-node test checks the whole over MQTT): a download resumes where a
cut connection left it; the swap happens between detector calls of running cameras and
loses none; a new model that raises during the watch period is replaced by the previous
one at once (that very frame is detected again) and the update is rolled back; forged
manifests are counted, never the result, and an old version is ignored; a model left on
trial by a stop is rolled back at the next start. (Wrong bytes from the server, floors and
other nodes' copies: tests/test_fleet_trust.py.)
"""

from __future__ import annotations

import json
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from cryptography.hazmat.primitives import serialization

from camwatch.config import parse_config
from camwatch.detectors.base import ModelInfo
from camwatch.detectors.factory import ModelSpec, build_detector
from camwatch.detectors.labels import load_labels
from camwatch.fleet.installed import start_model
from camwatch.fleet.manifest import parse_manifest
from camwatch.fleet.record import InstalledModel, UpdateStore
from camwatch.fleet.samples import FrameRecorder
from camwatch.fleet.signing import generate_key, sign_manifest
from camwatch.fleet.staging import Staging
from camwatch.fleet.updater import FLEET, Updater
from camwatch.models import DownloadFailed, sha256_of
from camwatch.pipeline.shared_detector import SharedDetector
from tests.conftest import MEDIA, MODELS, ROOT, require
from tests.support.http_server import ModelHttpServer

Y320 = MODELS / "yolox_nano_ti_lite_320_full_integer_quant.tflite"
Y416 = MODELS / "yolox_nano_ti_lite_416_full_integer_quant.tflite"
COCO80 = ROOT / "models" / "coco80_labels.txt"
CLIP = MEDIA / "one-by-one-person-detection.mp4"  # a person in view most of the time


@pytest.fixture(scope="module")
def frames() -> list[np.ndarray]:
    require(CLIP.is_file() and Y320.is_file() and Y416.is_file(), "people clip and the YOLOX models")
    capture = cv2.VideoCapture(str(CLIP))
    out, index = [], 0
    while len(out) < 40:
        ok, frame = capture.read()
        if not ok:
            break
        if index >= 60 and index % 5 == 0:  # from 6 s on: the first visitor
            out.append(frame)
        index += 1
    capture.release()
    return out


@pytest.fixture
def served(tmp_path: Path) -> Iterator[ModelHttpServer]:
    root = tmp_path / "served"
    root.mkdir()
    for model in (Y320, Y416):
        shutil.copy(model, root / model.name)
    with ModelHttpServer(root) as server:
        yield server


def _shared(model: Path = Y320) -> SharedDetector:
    spec = ModelSpec(model.name, model, "yolox", COCO80)
    return SharedDetector(build_detector(spec, num_threads=1), ModelInfo(model.name, sha256_of(model), "yolox", "config"))


class Cameras:
    """Two camera threads calling the shared detector on real frames, as the pipeline does."""

    def __init__(self, detector: SharedDetector, frames: list[np.ndarray]) -> None:
        self.calls: list[tuple[float, str, int]] = []  # time, model sha, persons found
        self.errors: list[BaseException] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(detector, frames, name), daemon=True)
                         for name in ("door", "yard")]  # fmt: skip
        for thread in self._threads:
            thread.start()

    def _run(self, detector: SharedDetector, frames: list[np.ndarray], name: str) -> None:
        view = detector.for_camera(name)
        i = 0
        while not self._stop.is_set():
            try:
                found = view.detect(frames[i % len(frames)], 0.5)
                info = detector.info
                self.calls.append((time.monotonic(), info.sha256 if info else "", sum(d.label == "person" for d in found)))
            except Exception as exc:  # recorded: the test fails on any
                self.errors.append(exc)
            i += 1
            time.sleep(0.02)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(5)


def _config(tmp_path: Path, public: str, **updates: Any):
    return parse_config({
        "data_dir": str(tmp_path / "data"), "detector": {"model_path": str(Y320)},
        "cameras": {"door": {"url": "x.mp4", "objects": {"track": ["person"]}},
                    "yard": {"url": "y.mp4", "objects": {"track": ["person"]}}},
        "updates": {"keys": [public], "sample_interval": 0.1, "min_objects": 3, "watch_period": 30, **updates},
    })  # fmt: skip


def _signed(pair, server: ModelHttpServer, model: Path, version: int, **changes: Any) -> bytes:
    data = {"name": model.stem[:40], "version": version, "url": server.url("/" + model.name),
            "sha256": sha256_of(model), "size": model.stat().st_size, "layout": "yolox",
            "labels": load_labels(COCO80), "target": "*", **changes}  # fmt: skip
    key = serialization.load_pem_private_key(pair.private_pem, None)
    return json.dumps(sign_manifest(parse_manifest(data), key)).encode()


class Run:
    """An updater over a shared detector that two cameras use; its reported states."""

    def __init__(self, tmp_path: Path, frames: list[np.ndarray], **updates: Any) -> None:
        self.pair = generate_key()
        self.config = _config(tmp_path, self.pair.public, **updates)
        self.detector = _shared()
        self.store = UpdateStore(tmp_path / "data")
        settings = self.config.updates
        self.recorder = FrameRecorder(settings.recent_frames, settings.sample_interval, lambda: {"person"})
        self.states: list[dict[str, Any]] = []
        self.updater = Updater(self.config, "gate-a", self.detector, self.store, self.recorder, self.states.append)
        self.detector.recorder = self.recorder
        self.detector.on_fallback = self.updater.on_fallback
        self.cameras = Cameras(self.detector, frames)
        self.updater.start()

    def wait_state(self, version: int, states: set[str], timeout: float = 60.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [s for s in self.states if s["version"] == version and s["state"] in states]
            if found:
                return found[-1]
            time.sleep(0.05)
        raise AssertionError(f"no {states} for v{version}; states: {[(s['state'], s['version'], s['reason']) for s in self.states]}")

    def close(self) -> None:
        self.cameras.stop()
        self.updater.stop()
        self.detector.close()


@pytest.fixture
def run(tmp_path: Path, frames: list[np.ndarray]) -> Iterator[Any]:
    runs: list[Run] = []

    def make(**updates: Any) -> Run:
        runs.append(Run(tmp_path, frames, **updates))
        return runs[-1]

    yield make
    for r in runs:
        r.close()


def test_a_cut_download_resumes_where_it_stopped(tmp_path: Path, served: ModelHttpServer) -> None:
    manifest = parse_manifest({"name": "y416", "version": 1, "url": served.url("/" + Y416.name),
                               "sha256": sha256_of(Y416), "size": Y416.stat().st_size, "layout": "yolox",
                               "labels": ["person"]})  # fmt: skip
    staging = Staging(tmp_path / "updates")
    served.truncate("/" + Y416.name, 1_000_000)
    with pytest.raises(DownloadFailed):
        staging.fetch(manifest, retries=1, on_progress=lambda done, total: None)
    assert staging.part_of(manifest).stat().st_size == 1_000_000
    served.clear()
    seen: list[int] = []
    part = staging.fetch(manifest, retries=1, on_progress=lambda done, total: seen.append(done))
    staging.verify(manifest, part)
    deadline = time.monotonic() + 5  # the server records a request once it has sent it
    while len(served.requests_for("/" + Y416.name)) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    ranges = [r.range for r in served.requests_for("/" + Y416.name)]
    assert ranges == [None, "bytes=1000000-"], ranges  # the second request asked only for the rest
    assert seen[0] > 1_000_000 and seen[-1] == Y416.stat().st_size


def test_swap_under_running_cameras_then_a_failing_model_rolls_back_at_once(run: Any, served: ModelHttpServer) -> None:
    r = run()
    time.sleep(1.5)  # recent inputs with people for the shadow test
    r.updater.offer(FLEET, _signed(r.pair, served, Y416, 3))
    watching = r.wait_state(3, {"watching", "rejected"})
    assert watching["state"] == "watching", watching
    assert watching["shadow"]["found"] >= 3 and watching["shadow"]["kept"] > 0, watching["shadow"]
    swapped_at = time.monotonic()
    assert r.detector.info.sha256 == sha256_of(Y416) and r.detector.watching
    deadline = time.monotonic() + 20
    while sum(c[1] == sha256_of(Y416) for c in r.cameras.calls) < 10 and time.monotonic() < deadline:
        time.sleep(0.05)  # the cameras use the new model a while
    # The new model breaks while being watched (its interpreter is gone): the previous one
    # takes over inside the same detector call, and the update is rolled back.
    r.detector.inner.close()
    rolled = r.wait_state(3, {"rolled back", "active"})
    assert rolled["state"] == "rolled back" and "failed" in rolled["reason"], rolled
    assert r.detector.info.sha256 == sha256_of(Y320) and not r.detector.watching
    time.sleep(0.5)
    r.cameras.stop()
    assert not r.cameras.errors, r.cameras.errors[:3]
    before = [c for c in r.cameras.calls if c[0] < swapped_at]
    during = [c for c in r.cameras.calls if c[1] == sha256_of(Y416)]
    after = [c for c in r.cameras.calls if c[0] > swapped_at and c[1] == sha256_of(Y320)]
    assert before and during and after, (len(before), len(during), len(after))
    assert sum(c[2] for c in during) > 0  # the new model found people while it ran
    assert r.store.record.active is None and r.store.record.decided == 3
    assert [h["result"] for h in r.store.record.history] == ["rolled back"]
    assert not list((r.store.directory).glob("*.tflite"))  # the failed model's file is gone


def test_forged_and_old_manifests_change_nothing_and_the_model_keeps_running(
    run: Any, served: ModelHttpServer
) -> None:
    r = run(watch_period=0)
    for i in range(30):  # any broker client can publish junk there: counted, logged once, no result
        r.updater.offer(FLEET, json.dumps({"manifest": "{}", "signature": f"{i:04d}"}).encode())
        time.sleep(0.02)
    time.sleep(3.5)  # past the settling of a node that never decided
    assert not [s for s in r.states if s["state"] == "rejected"], r.states
    refused = r.states[-1]["refused"]
    assert refused["source"] == "the fleet topic" and "does not verify" in refused["reason"], refused
    assert r.store.record.decided == 0 and r.detector.info.sha256 == sha256_of(Y320)
    r.updater.offer(FLEET, _signed(r.pair, served, Y416, 6))
    active = r.wait_state(6, {"active", "rejected"})
    assert active["state"] == "active" and r.detector.info.version == 6, active
    assert r.store.record.active is not None and r.store.record.active.version == 6
    r.updater.offer(FLEET, _signed(r.pair, served, Y416, 4))  # older than what was decided: never installed
    r.updater.offer(FLEET, _signed(r.pair, served, Y416, 6))  # delivered again (a reconnect): nothing happens
    time.sleep(1.5)
    assert not [s for s in r.states if s["version"] == 4]
    assert len([s for s in r.states if s["version"] == 6 and s["state"] == "active"]) == 1
    assert not r.cameras.errors


def test_a_model_left_on_trial_is_rolled_back_at_the_next_start(tmp_path: Path) -> None:
    require(Y416.is_file(), "YOLOX 416")
    config = _config(tmp_path, generate_key().public)
    store = UpdateStore(tmp_path / "data")
    store.directory.mkdir(parents=True)
    shutil.copy(Y416, store.directory / "y416-v2.tflite")
    shutil.copy(COCO80, store.directory / "y416-v2.labels.txt")
    model = InstalledModel("y416", 2, sha256_of(Y416), "yolox", "y416-v2.tflite", "y416-v2.labels.txt", f"file:{Y320}")
    store.begin_trial(model)
    started = start_model(config, tmp_path / "data")
    assert started.detector is None and started.info is not None and started.info.sha256 == sha256_of(Y320)
    record = UpdateStore(tmp_path / "data").record
    assert record.trial is None and record.active is None and record.decided == 2
    assert record.history[-1]["result"] == "rolled back"
    # a model that passed its watch starts instead of the configured one, until the config changes
    store = UpdateStore(tmp_path / "data")
    shutil.copy(Y416, store.directory / "y416-v3.tflite")
    shutil.copy(COCO80, store.directory / "y416-v3.labels.txt")
    store.begin_trial(InstalledModel("y416", 3, sha256_of(Y416), "yolox", "y416-v3.tflite", "y416-v3.labels.txt",
                                     f"file:{Y320}"))  # fmt: skip
    store.end_trial(passed=True)
    started = start_model(config, tmp_path / "data")
    assert started.detector is not None and started.info.version == 3 and started.info.source == "update"
    started.detector.close()
    other = _config(tmp_path, generate_key().public)
    other = other.model_copy(update={"detector": other.detector.model_copy(update={"model_path": Y416})})
    started = start_model(other, tmp_path / "data")
    assert started.detector is None and started.info.source == "config"
    assert UpdateStore(tmp_path / "data").record.history[-1]["result"] == "set aside"
