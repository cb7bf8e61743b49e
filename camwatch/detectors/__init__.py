"""Object detectors: the interface, TFLite runtimes and model plugins."""

from camwatch.detectors.base import Detection, Detector

__all__ = ["Detection", "Detector"]
