"""docs/configuration.md is exactly what scripts/gen_config_reference.py generates from the models."""

from __future__ import annotations

import functools
import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

from pydantic import BaseModel

from camwatch.config import CamwatchConfig
from tests.conftest import ROOT

SCRIPT = ROOT / "scripts" / "gen_config_reference.py"
REFERENCE = ROOT / "docs" / "configuration.md"


@functools.cache
def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_config_reference", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_committed_reference_is_up_to_date() -> None:
    generated = _generator().render()
    committed = REFERENCE.read_text(encoding="utf-8")
    assert committed == generated, "docs/configuration.md is stale: run python scripts/gen_config_reference.py"


def test_check_mode_detects_drift(tmp_path: Path) -> None:
    stale = tmp_path / "configuration.md"
    stale.write_text(REFERENCE.read_text(encoding="utf-8").replace("| `mqtt.port` |", "| `mqtt.prt` |"))
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--check", "--output", str(stale)], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 1 and "out of date" in proc.stderr
    fresh = subprocess.run(
        [sys.executable, str(SCRIPT), "--check", "--output", str(REFERENCE)], capture_output=True, text=True, timeout=60
    )
    assert fresh.returncode == 0, fresh.stderr


def _leaf_paths(model: type[BaseModel], prefix: str = "") -> set[str]:
    """Every field path, independently of the generator's own walk."""
    generator = _generator()
    paths = set()
    for name, info in model.model_fields.items():
        path = prefix + name
        paths.add(path)
        nested = generator._nested(info.annotation, name)
        if nested:
            suffix, sub = nested
            paths |= _leaf_paths(sub, f"{path}{suffix}.")
    return paths


def test_every_option_is_documented_with_its_description() -> None:
    text = REFERENCE.read_text(encoding="utf-8")
    paths = _leaf_paths(CamwatchConfig)
    assert len(paths) > 100
    for path in paths:
        assert f"| `{path}` |" in text, f"{path} missing from docs/configuration.md"
    # Spot checks of type, default, range and description against the models.
    assert "| `mqtt.port` | integer | `1883` | ≥ 1, ≤ 65535 |" in text
    assert "| `cameras.<camera>.url` | string | required |" in text
    assert "| `detector.runtime` | \"auto\" / \"litert\" / \"tflite_runtime\" | `\"auto\"` |" in text
    assert CamwatchConfig.model_fields["data_dir"].description in text
