"""Choosing a TFLite runtime and loading the Edge TPU delegate.

ai-edge-litert is preferred (XNNPACK runs the uint8 SSD about 4.5x faster on CPU than
tflite-runtime 2.14); tflite-runtime is the fallback. The Edge TPU is reached through
``load_delegate('libedgetpu.so.1', {'device': ...})`` and needs the model's Edge TPU build.
"""

from __future__ import annotations

import importlib
import logging
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from camwatch.const import EDGETPU_LIBRARY
from camwatch.detectors.base import ModelError

_LOGGER = logging.getLogger(__name__)

RUNTIME_MODULES = {"litert": "ai_edge_litert.interpreter", "tflite_runtime": "tflite_runtime.interpreter"}


class RuntimeUnavailable(RuntimeError):
    """No usable TFLite runtime, or the requested one is missing."""


class EdgeTpuUnavailable(RuntimeError):
    """An Edge TPU was required but could not be opened."""


@dataclass(frozen=True)
class Runtime:
    name: str
    module: ModuleType

    @property
    def version(self) -> str:
        root = importlib.import_module(self.module.__name__.split(".")[0])
        return str(getattr(root, "__version__", "unknown"))

    def interpreter(self, model_path: str, num_threads: int, delegates: list[Any] | None = None) -> Any:
        if delegates:
            return self.module.Interpreter(model_path=model_path, experimental_delegates=delegates)
        return self.module.Interpreter(model_path=model_path, num_threads=num_threads)

    def load_delegate(self, library: str, options: dict[str, str] | None = None) -> Any:
        return self.module.load_delegate(library, options or {})


def available_runtimes() -> list[str]:
    found = []
    for name, module in RUNTIME_MODULES.items():
        try:
            importlib.import_module(module)
        except Exception:  # ImportError, or numpy ABI errors from tflite-runtime
            continue
        found.append(name)
    return found


def select_runtime(preference: str = "auto") -> Runtime:
    """Import the requested runtime, or the fastest present for ``auto``."""
    order = list(RUNTIME_MODULES) if preference == "auto" else [preference]
    problems = []
    for name in order:
        try:
            return Runtime(name, importlib.import_module(RUNTIME_MODULES[name]))
        except Exception as exc:
            problems.append(f"{name}: {exc}")
    hint = "install ai-edge-litert (pip install ai-edge-litert) or tflite-runtime (needs numpy<2)"
    raise RuntimeUnavailable(f"no TFLite runtime could be imported ({'; '.join(problems)}); {hint}")


def edgetpu_options(device: str) -> dict[str, str]:
    """``usb`` / ``usb:N`` / ``pci`` → the delegate's ``device`` option; ``auto`` → none."""
    return {} if device == "auto" else {"device": device}


_previous_hook = sys.unraisablehook


def _quiet_delegate_del(unraisable: sys.UnraisableHookArgs) -> None:
    """A failed ``load_delegate`` leaves a half-built Delegate whose ``__del__`` raises
    AttributeError; that noise would hide the clear message camwatch logs."""
    obj = getattr(unraisable, "object", None)
    if isinstance(unraisable.exc_value, AttributeError) and "Delegate.__del__" in repr(obj):
        return
    _previous_hook(unraisable)


def load_edgetpu_delegate(runtime: Runtime, device: str) -> Any:
    """Load libedgetpu for ``device`` (auto, usb, usb:N, pci); raises EdgeTpuUnavailable."""
    sys.unraisablehook = _quiet_delegate_del
    try:
        return runtime.load_delegate(EDGETPU_LIBRARY, edgetpu_options(device))
    except (OSError, ValueError, RuntimeError) as exc:
        raise EdgeTpuUnavailable(
            f"cannot open the Edge TPU ({device}): {exc}. Install libedgetpu1-std from Coral's "
            "package repository and check that the accelerator is plugged in (`camwatch doctor`)."
        ) from exc


@dataclass
class LoadedModel:
    """An allocated interpreter and where it runs."""

    interpreter: Any
    path: Path
    device: str  # "cpu" or "edgetpu:<device>"


def open_model(
    runtime: Runtime,
    model_path: Path,
    *,
    device: str = "cpu",
    edgetpu_model_path: Path | None = None,
    num_threads: int = 2,
) -> LoadedModel:
    """Open ``model_path`` on the CPU, or its Edge TPU build when ``device`` asks for one.

    ``device="auto"`` falls back to the CPU with one log line; an explicit ``usb``/``pci``
    raises EdgeTpuUnavailable instead, because the user asked for that hardware.
    """
    if device != "cpu":
        try:
            delegate = load_edgetpu_delegate(runtime, device)
            if edgetpu_model_path is None:
                raise EdgeTpuUnavailable(
                    "an Edge TPU is present but this model has no Edge TPU build; choose a detector.model "
                    "with one (EDGETPU yes in `camwatch models list`)"
                )
            if not Path(edgetpu_model_path).is_file():
                raise EdgeTpuUnavailable(
                    f"an Edge TPU is present but the Edge TPU build of the model is missing "
                    f"({edgetpu_model_path}); run `camwatch models pull --edgetpu NAME`"
                )
            interpreter = runtime.interpreter(str(edgetpu_model_path), num_threads, [delegate])
            interpreter.allocate_tensors()
            _LOGGER.info("detector running on the Edge TPU (%s)", device)
            return LoadedModel(interpreter, Path(edgetpu_model_path), f"edgetpu:{device}")
        except EdgeTpuUnavailable as exc:
            if device != "auto":
                raise
            _LOGGER.info("no usable Edge TPU, running the detector on the CPU: %s", _first_line(exc))
    model_path = Path(model_path)
    if not model_path.is_file():
        raise ModelError(f"model file not found: {model_path} (run `camwatch models pull`)")
    try:
        interpreter = runtime.interpreter(str(model_path), num_threads)
        interpreter.allocate_tensors()
    except (ValueError, RuntimeError) as exc:
        raise ModelError(
            f"cannot load model {model_path}: {_first_line(exc)} (a truncated download or not a TFLite file?)"
        ) from exc
    return LoadedModel(interpreter, model_path, "cpu")


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
