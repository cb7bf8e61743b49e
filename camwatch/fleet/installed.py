"""Which model a node starts with: an installed over-the-air update, or the configured one.

An update that passed its watch period runs instead of ``detector.model`` — across
restarts, with no config change — until the owner changes ``detector.model`` (or
``model_path``): then the configuration wins and the update is set aside. A model still
on trial at start (camwatch stopped in its watch period) is rolled back first.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from camwatch.config.detector import DetectorConfig
from camwatch.config.root import CamwatchConfig
from camwatch.detectors.base import Detector, ModelError, ModelInfo
from camwatch.detectors.factory import ModelSpec, build_detector, resolve_model
from camwatch.fleet.record import InstalledModel, UpdateStore
from camwatch.models import sha256_of

_LOGGER = logging.getLogger(__name__)


@dataclass
class StartModel:
    detector: Detector | None  # None: build the configured model as usual
    info: ModelInfo | None


def configured_key(config: DetectorConfig) -> str:
    """What the configuration asks for, to notice when the owner changes it."""
    return f"file:{config.model_path}" if config.model_path else config.model


def configured_info(config: DetectorConfig, data_dir: Path) -> ModelInfo | None:
    try:
        spec = resolve_model(config, data_dir)
        return ModelInfo(spec.name, sha256_of(spec.path), spec.layout, "config")
    except (ModelError, OSError) as exc:
        _LOGGER.debug("configured model unknown: %s", exc)
        return None


def update_info(model: InstalledModel) -> ModelInfo:
    return ModelInfo(model.name, model.sha256, model.layout, "update", model.version)


def build_installed(model: InstalledModel, store: UpdateStore, config: DetectorConfig) -> Detector:
    spec = ModelSpec(model.name, store.path_of(model.file), model.layout, store.path_of(model.labels_file))
    return build_detector(spec, device=config.device, runtime=config.runtime, num_threads=config.num_threads)


def start_model(config: CamwatchConfig, data_dir: Path) -> StartModel:
    store = UpdateStore(data_dir)
    record = store.record
    if record.trial is not None:
        trial = record.trial
        _LOGGER.warning("model update %s v%d rolled back: camwatch stopped during its watch period",
                        trial.name, trial.version)  # fmt: skip
        store.end_trial(passed=False)
        store.add_history(trial.version, trial.name, "rolled back", "camwatch stopped during the watch period")
    active = record.active
    if active is None:
        return StartModel(None, configured_info(config.detector, data_dir))
    if active.replaced != configured_key(config.detector):
        _LOGGER.info("detector model changed in the configuration: it replaces update %s v%d",
                     active.name, active.version)  # fmt: skip
        store.set_aside()
        store.add_history(active.version, active.name, "set aside", "the configured detector model changed")
        return StartModel(None, configured_info(config.detector, data_dir))
    path = store.path_of(active.file)
    try:
        if sha256_of(path) != active.sha256:
            raise ModelError(f"{path} does not match its SHA-256 any more")
        detector = build_installed(active, store, config.detector)
    except (ModelError, OSError) as exc:
        _LOGGER.error("model update %s v%d cannot be used (%s): running the configured model",
                      active.name, active.version, exc)  # fmt: skip
        store.set_aside()
        store.add_history(active.version, active.name, "set aside", str(exc))
        return StartModel(None, configured_info(config.detector, data_dir))
    _LOGGER.info("detector model: update %s v%d (instead of %s)", active.name, active.version, active.replaced)
    return StartModel(detector, update_info(active))
