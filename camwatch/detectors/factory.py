"""Build the configured detector from the model manager and the detector config."""

from __future__ import annotations

import logging
from pathlib import Path

from camwatch.config.detector import DetectorConfig
from camwatch.detectors.base import Detector
from camwatch.detectors.plugins.ssd import ModelError, SsdDetector, load_labels
from camwatch.models import ModelError as ManagerError
from camwatch.models import ModelManager

_LOGGER = logging.getLogger(__name__)


def resolve_model(config: DetectorConfig, data_dir: Path) -> tuple[Path, Path, Path | None, str]:
    """(model file, label file, Edge TPU model file or None, kind)."""
    manager = ModelManager(data_dir)
    try:
        entry = manager.get(config.model)
    except ManagerError as exc:
        if config.model_path is None:
            raise ModelError(str(exc)) from None
        entry = None
    if config.model_path is not None:
        model = Path(config.model_path).expanduser()
        if not model.is_file():
            raise ModelError(f"detector.model_path: file not found: {model}")
    else:
        model = manager.path(config.model)
        if not model.is_file():
            raise ModelError(
                f"model {config.model} is not installed in {manager.directory}: run `camwatch models pull "
                f"{config.model}` (or `camwatch models import FILE` offline)"
            )
    labels = config.labels_path or (manager.labels_path(entry.name) if entry else None)
    if labels is None or not Path(labels).is_file():
        raise ModelError(f"label file not found for {config.model}: {labels} (set detector.labels_path)")
    tpu = manager.path(entry.name, edgetpu=True) if entry and entry.edgetpu else None
    return model, Path(labels), tpu, entry.kind if entry else "ssd"


def create_detector(config: DetectorConfig, data_dir: Path) -> Detector:
    model, labels, tpu, kind = resolve_model(config, data_dir)
    if kind != "ssd":
        raise ModelError(f"detector model {config.model} is a {kind} model, not an object detector (ssd)")
    return SsdDetector(
        model,
        load_labels(labels),
        device=config.device,
        edgetpu_model_path=tpu,
        runtime=config.runtime,
        num_threads=config.num_threads,
    )
