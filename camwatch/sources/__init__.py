"""Camera sources: RTSP/HTTP streams, video files and USB (V4L2) cameras."""

from camwatch.sources.base import Frame, SourceKind, source_kind
from camwatch.sources.opencv import CameraSource

__all__ = ["CameraSource", "Frame", "SourceKind", "source_kind"]
