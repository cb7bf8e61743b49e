"""Detector plugins, one module per output layout (camwatch.detectors.layout)."""

from __future__ import annotations

from camwatch.detectors.layout import SSD, YOLOX
from camwatch.detectors.plugins.ssd import SsdDetector
from camwatch.detectors.plugins.tflite import TfliteDetector
from camwatch.detectors.plugins.yolox import YoloxDetector

PLUGINS: dict[str, type[TfliteDetector]] = {SSD: SsdDetector, YOLOX: YoloxDetector}

__all__ = ["PLUGINS", "SsdDetector", "TfliteDetector", "YoloxDetector"]
