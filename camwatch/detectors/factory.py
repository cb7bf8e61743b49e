"""Build the configured detector: resolve the model with the model manager, pick the plugin
for its layout, and refuse a file whose tensors do not match that layout.

``build_detector`` needs only a path, a layout and labels, so a detector can be built next
to a running one and swapped in under a lock.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from camwatch.config.detector import DetectorConfig
from camwatch.const import MODELS_MANIFEST
from camwatch.detectors.base import Detector, ModelError
from camwatch.detectors.labels import load_labels
from camwatch.detectors.layout import SSD, YOLOX, describe_layout, detect_layout
from camwatch.detectors.plugins import PLUGINS
from camwatch.detectors.runtime import Runtime, open_model, select_runtime
from camwatch.models import ModelError as ManagerError
from camwatch.models import ModelManager

_LOGGER = logging.getLogger(__name__)

#: Label map for a custom model file of each layout when no label file is given.
DEFAULT_LABELS = {SSD: MODELS_MANIFEST.parent / "coco_labels.txt", YOLOX: MODELS_MANIFEST.parent / "coco80_labels.txt"}


@dataclass(frozen=True)
class ModelSpec:
    """Everything needed to open one detector model."""

    name: str
    path: Path
    layout: str
    labels: Path
    edgetpu_path: Path | None = None


def _custom_spec(config: DetectorConfig) -> ModelSpec:
    model = Path(config.model_path).expanduser()  # type: ignore[arg-type]
    if not model.is_file():
        raise ModelError(f"detector.model_path: file not found: {model}")
    layout = probe_layout(model, config.runtime)
    labels = Path(config.labels_path).expanduser() if config.labels_path else DEFAULT_LABELS[layout]
    return ModelSpec(model.name, model, layout, labels)


def resolve_model(config: DetectorConfig, data_dir: Path) -> ModelSpec:
    """The model file, label map, Edge TPU build and layout the configuration asks for."""
    if config.model_path is not None:
        return _custom_spec(config)
    manager = ModelManager(data_dir)
    try:
        entry = manager.get(config.model)
    except ManagerError as exc:
        raise ModelError(f"detector.model: {exc}") from None
    if not entry.is_object_detector:
        raise ModelError(f"detector.model: {entry.name} is {describe_layout(entry.layout)}")
    model = manager.path(entry.name)
    if not model.is_file():
        raise ModelError(
            f"model {entry.name} is not installed in {manager.directory}: run `camwatch models pull "
            f"{entry.name}` (or `camwatch models import FILE` offline)"
        )
    if manager.status(entry.name) == "mismatch":
        _LOGGER.warning(
            "%s does not match its SHA-256 in the manifest (corrupt or replaced?): run `camwatch models pull %s`",
            model, entry.name,
        )
    labels = Path(config.labels_path).expanduser() if config.labels_path else manager.labels_path(entry.name)
    if labels is None:
        raise ModelError(f"model {entry.name} has no label file in the manifest (set detector.labels_path)")
    tpu = manager.path(entry.name, edgetpu=True) if entry.edgetpu else None
    return ModelSpec(entry.name, model, entry.layout, labels, tpu)


def probe_layout(path: Path, runtime: str | Runtime = "auto") -> str:
    """The object-detector layout of a model file, read from its tensors; ModelError otherwise."""
    rt = runtime if isinstance(runtime, Runtime) else select_runtime(runtime)
    loaded = open_model(rt, path, device="cpu", num_threads=1)
    layout = detect_layout(loaded.interpreter)
    if layout.name not in PLUGINS:  # a face model, or nothing camwatch can decode
        raise ModelError(f"{path.name} is {layout.describe()}")
    return layout.name


def build_detector(
    spec: ModelSpec, *, device: str = "cpu", runtime: str | Runtime = "auto", num_threads: int = 2
) -> Detector:
    """Open ``spec`` with the plugin of its layout. The plugin checks the file's tensors."""
    plugin = PLUGINS.get(spec.layout)
    if plugin is None:
        raise ModelError(f"{spec.name}: no detector plugin for layout {spec.layout!r}")
    labels = load_labels(spec.labels)
    try:
        return plugin(
            spec.path, labels, device=device, edgetpu_model_path=spec.edgetpu_path, runtime=runtime,
            num_threads=num_threads,
        )
    except ModelError as exc:
        raise ModelError(f"detector model {spec.name}: {exc}") from None


def create_detector(config: DetectorConfig, data_dir: Path) -> Detector:
    spec = resolve_model(config, data_dir)
    return build_detector(spec, device=config.device, runtime=config.runtime, num_threads=config.num_threads)
