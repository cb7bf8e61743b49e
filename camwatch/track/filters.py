"""Per-label detection filters: tracked labels, min_score, area, aspect ratio, object masks."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np

from camwatch.config.camera import ObjectFilter, ObjectsConfig
from camwatch.detectors.base import Detection
from camwatch.geometry import point_in_polygon, polygon_to_pixels

_LOGGER = logging.getLogger(__name__)


def _area_limit(value: float, frame_area: float) -> float:
    """Areas <= 1 are a share of the frame, larger ones are pixels."""
    return value * frame_area if 0 < value <= 1 else value


class DetectionFilter:
    """Decides which detections may become (or feed) tracked objects."""

    def __init__(self, objects: ObjectsConfig, frame_size: tuple[int, int]) -> None:
        self.objects = objects
        self.frame_size = frame_size
        self._frame_area = float(frame_size[0] * frame_size[1])
        self._masks: dict[str, list[np.ndarray]] = {}

    def _label_masks(self, label: str, flt: ObjectFilter) -> list[np.ndarray]:
        masks = self._masks.get(label)
        if masks is None:
            masks = [polygon_to_pixels(p, self.frame_size) for p in flt.mask]
            self._masks[label] = masks
        return masks

    def reason(self, det: Detection, score_offset: float = 0.0) -> str | None:
        """Why ``det`` is rejected, or None when it passes (``score_offset`` lowers min_score)."""
        if det.label not in self.objects.track:
            return "label not tracked"
        flt = self.objects.filter_for(det.label)
        if det.score < flt.min_score - score_offset:
            return "score below min_score"
        area = det.area
        if area < _area_limit(flt.min_area, self._frame_area):
            return "area below min_area"
        if area > _area_limit(flt.max_area, self._frame_area):
            return "area above max_area"
        ratio = det.ratio
        if ratio < flt.min_ratio or ratio > flt.max_ratio:
            return "aspect ratio out of range"
        x1, _, x2, y2 = det.box
        bottom = ((x1 + x2) / 2.0, y2)
        if any(point_in_polygon(bottom, mask) for mask in self._label_masks(det.label, flt)):
            return "inside an object mask"
        return None

    def apply(self, dets: Sequence[Detection], score_offset: float = 0.0) -> list[Detection]:
        return [d for d in dets if self.reason(d, score_offset) is None]


def filter_detections(dets: Sequence[Detection], objects: ObjectsConfig, frame_size: tuple[int, int]) -> list[Detection]:
    """The detections that pass ``objects`` (one-off use; the tracker keeps a DetectionFilter)."""
    return DetectionFilter(objects, frame_size).apply(dets)
