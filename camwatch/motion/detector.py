"""Motion boxes from a downscaled grey frame compared with a slowly updated background.

Per sample: grey, shrink to ``frame_height``, blur (sensor noise), compare with the
background after matching its brightness to the frame (slow exposure drift is not
motion), threshold, drop masked pixels, dilate, and turn blobs into boxes in full-frame
pixels.

The pixel threshold is meant for a day view (a grey range, 1st to 99th percentile, of 160
or more). A night or infrared view spans much less (a person by a fence at night differs
from the background by 10-24 grey levels in a view spanning 120), so below that range the
threshold shrinks linearly, reaching ``min_threshold`` (which stays above sensor noise) at
a range of 100. The range is smoothed over samples, and taken afresh after a light change.
A lowered threshold must also be a share (``RELATIVE_CHANGE``) of the pixel's brightness: a
lamp warming up or the exposure settling moves bright pixels by more grey levels than dark
ones, and that is not motion.

A sudden global change (light switched, IR day/night, auto-exposure jump) shows up as
a large share of changed pixels or a jump of the mean brightness. Then the detector
*calibrates*: it adopts the current frame as the background and reports nothing until
the view has been steady for ``calibration_frames`` samples.
"""

from __future__ import annotations

import logging

import cv2
import numpy as np

from camwatch.config.motion import MotionConfig
from camwatch.geometry import polygon_to_pixels

_LOGGER = logging.getLogger(__name__)

MotionBox = tuple[int, int, int, int]
_STEADY_SHARE = 0.02  # share of changed pixels between samples that still counts as a steady view
_DARK_MEAN = 8.0  # below this mean grey level brightness matching is not attempted
MOVING_RATE = 0.25  # background learning where pixels move, relative to background_alpha
STILL_CHANGE_RATE = 5.0  # ... where a change has stopped moving
FULL_CONTRAST = 160.0  # a view spanning at least this grey range uses ``threshold`` as it is
LOW_CONTRAST = 100.0  # ... at most this range, ``min_threshold``; in between the threshold shrinks linearly
RANGE_SMOOTHING = 0.1  # EMA weight of each sample's grey range
RELATIVE_CHANGE = 0.08  # with a lowered threshold, a change must also exceed this share of the pixel's grey


class MotionDetector:
    def __init__(self, config: MotionConfig, frame_size: tuple[int, int]) -> None:
        self.config = config
        self.frame_size = frame_size
        width, height = frame_size
        self.scale = min(1.0, config.frame_height / float(height))
        self.size = (max(1, round(width * self.scale)), max(1, round(height * self.scale)))
        self.mask = self._build_mask()  # 255 where motion counts
        self._active_pixels = max(1, int(np.count_nonzero(self.mask)))
        self.background: np.ndarray | None = None
        self._previous: np.ndarray | None = None
        self.calibrating = False
        self._steady = 0
        self._calibration_length = 0
        self.calibrations = 0  # global changes seen so far
        self.last_changed_share = 0.0
        self._range: float | None = None  # smoothed grey range of the view (1st-99th percentile)
        self.threshold = float(config.threshold)  # the pixel threshold in use
        self._changed_mask: np.ndarray | None = None  # this sample's changed pixels (None: no information)
        self._integral: np.ndarray | None = None

    # ------------------------------------------------------------------ setup
    def _build_mask(self) -> np.ndarray:
        w, h = self.size
        mask = np.full((h, w), 255, dtype=np.uint8)
        for polygon in self.config.mask:
            pts = polygon_to_pixels(polygon, self.frame_size) * self.scale
            cv2.fillPoly(mask, [np.round(pts).astype(np.int32)], 0)
        return mask

    def _prepare(self, frame_bgr: np.ndarray) -> np.ndarray:
        grey = cv2.cvtColor(frame_bgr, cv2.COLOR_BGR2GRAY) if frame_bgr.ndim == 3 else frame_bgr
        grey = cv2.resize(grey, self.size, interpolation=cv2.INTER_AREA)
        return cv2.GaussianBlur(grey, (5, 5), 0).astype(np.float32)

    # -------------------------------------------------------------- per frame
    def detect(self, frame_bgr: np.ndarray) -> list[MotionBox]:
        """Motion boxes (x1, y1, x2, y2) in full-frame pixels; [] while calibrating."""
        grey = self._prepare(frame_bgr)
        self._adapt_threshold(grey)
        previous, self._previous = self._previous, grey
        self._changed_mask = self._integral = None
        if self.background is None:
            self.background = grey.copy()
            return []
        if self.calibrating:
            self._calibrate(grey, previous)
            return []

        changed = self._changed(grey, self.background)
        share = float(np.count_nonzero(changed)) / self._active_pixels
        self.last_changed_share = share
        if share >= self.config.global_change or self._brightness_jump(grey, previous):
            self._start_calibration(grey, share)
            return []
        boxes = self._boxes(changed)
        self._learn(grey, previous, changed)
        self._changed_mask = changed
        return boxes

    def moving_share(self, box: tuple[float, float, float, float]) -> float | None:
        """Share of ``box`` (full-frame pixels) whose pixels changed in the last sample; None
        while there is no information (first sample, calibrating after a light change)."""
        if self._changed_mask is None:
            return None
        if self._integral is None:
            self._integral = cv2.integral(self._changed_mask // 255)
        h, w = self._changed_mask.shape
        x1, y1 = min(w, max(0, int(box[0] * self.scale))), min(h, max(0, int(box[1] * self.scale)))
        x2, y2 = min(w, max(0, int(np.ceil(box[2] * self.scale)))), min(h, max(0, int(np.ceil(box[3] * self.scale))))
        if x2 <= x1 or y2 <= y1:
            return 0.0
        ii = self._integral
        inside = ii[y2, x2] - ii[y1, x2] - ii[y2, x1] + ii[y1, x1]
        return float(inside) / float((x2 - x1) * (y2 - y1))

    def _adapt_threshold(self, grey: np.ndarray) -> None:
        """Scale the pixel threshold with the view's grey range (see the module doc)."""
        cfg = self.config
        if cfg.min_threshold >= cfg.threshold:
            self.threshold = float(cfg.threshold)
            return
        values = grey[self.mask > 0] if self._active_pixels < grey.size else grey.ravel()
        low, high = np.percentile(values[:: max(1, values.size // 20000)], (1, 99))
        span = float(high - low)
        if self._range is None or self.calibrating:  # after a light change the old range means nothing
            self._range = span
        else:
            self._range += RANGE_SMOOTHING * (span - self._range)
        share = min(1.0, max(0.0, (self._range - LOW_CONTRAST) / (FULL_CONTRAST - LOW_CONTRAST)))
        self.threshold = cfg.min_threshold + share * (cfg.threshold - cfg.min_threshold)

    def _learn(self, grey: np.ndarray, previous: np.ndarray | None, changed: np.ndarray) -> None:
        """Blend the frame into the background: slowly where things move, faster where a change
        has stopped moving (a ghost left by someone who walked off, a newly parked car), so a
        past change stops triggering the detector within seconds; the tracker keeps still objects."""
        assert self.background is not None
        alpha = self.config.background_alpha
        weight = np.full(grey.shape, alpha, dtype=np.float32)
        if previous is not None:
            still = cv2.absdiff(grey, previous) < self.threshold / 2.0
            weight[(changed > 0) & still] = min(1.0, alpha * STILL_CHANGE_RATE)
            weight[(changed > 0) & ~still] = alpha * MOVING_RATE
        self.background += weight * (grey - self.background)

    def _changed(self, grey: np.ndarray, reference: np.ndarray) -> np.ndarray:
        ref = reference
        ref_mean = float(cv2.mean(reference, self.mask)[0])
        cur_mean = float(cv2.mean(grey, self.mask)[0])
        if ref_mean > _DARK_MEAN and cur_mean > _DARK_MEAN:
            ref = reference * (cur_mean / ref_mean)  # exposure drift is not motion
        diff = cv2.absdiff(grey, ref)
        if self.threshold < RELATIVE_CHANGE * 255.0:
            # a lowered threshold must also be a share of the pixel's brightness: light on a bright
            # surface drifts by more grey levels than on a dark one
            diff = np.where(diff > RELATIVE_CHANGE * ref, diff, 0.0).astype(np.float32)
        _, changed = cv2.threshold(diff, self.threshold, 255, cv2.THRESH_BINARY)
        changed = changed.astype(np.uint8)
        return cv2.bitwise_and(changed, self.mask)

    def _brightness_jump(self, grey: np.ndarray, previous: np.ndarray | None) -> bool:
        if previous is None:
            return False
        before = float(cv2.mean(previous, self.mask)[0])
        now = float(cv2.mean(grey, self.mask)[0])
        return abs(now - before) / max(before, now, _DARK_MEAN) >= self.config.brightness_change

    def _boxes(self, changed: np.ndarray) -> list[MotionBox]:
        kernel = np.ones((3, 3), np.uint8)
        blobs = cv2.dilate(changed, kernel, iterations=2)
        contours, _ = cv2.findContours(blobs, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        width, height = self.frame_size
        inv = 1.0 / self.scale
        boxes: list[MotionBox] = []
        for contour in contours:
            if cv2.contourArea(contour) < self.config.contour_area:
                continue
            x, y, w, h = cv2.boundingRect(contour)
            boxes.append(
                (
                    max(0, int(x * inv)),
                    max(0, int(y * inv)),
                    min(width, int(np.ceil((x + w) * inv))),
                    min(height, int(np.ceil((y + h) * inv))),
                )
            )
        return boxes

    # ------------------------------------------------------------ calibration
    def _start_calibration(self, grey: np.ndarray, share: float) -> None:
        self.calibrating = True
        self.calibrations += 1
        self._steady = 0
        self._calibration_length = 0
        self.background = grey.copy()
        _LOGGER.info("motion: global change (light or exposure, %.0f%% of the view changed), recalibrating", share * 100)

    def _calibrate(self, grey: np.ndarray, previous: np.ndarray | None) -> None:
        self._calibration_length += 1
        steady = previous is not None and not self._brightness_jump(grey, previous)
        if steady:
            assert previous is not None
            share = float(np.count_nonzero(self._changed(grey, previous))) / self._active_pixels
            steady = share <= _STEADY_SHARE
        self._steady = self._steady + 1 if steady else 0
        self.background = grey.copy()
        if self._steady >= self.config.calibration_frames or (
            self._calibration_length >= self.config.max_calibration_frames
        ):
            self.calibrating = False
            _LOGGER.info("motion: calibrated after %d samples", self._calibration_length)
