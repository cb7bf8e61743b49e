"""Fitting a frame into a model input and mapping boxes back to frame pixels."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

#: Letterbox padding: the grey YOLOX was trained with.
PAD_GREY = 114


@dataclass(frozen=True, slots=True)
class Placement:
    """Where the frame went in the model input: model pixel * scale = frame pixel."""

    scale_x: float
    scale_y: float
    width: int  # frame size, to clip boxes to the real image
    height: int

    def to_frame(self, x1: float, y1: float, x2: float, y2: float) -> tuple[float, float, float, float]:
        """Model-input pixels → frame pixels, clipped to the frame."""
        w, h = float(self.width), float(self.height)
        return (
            min(max(x1 * self.scale_x, 0.0), w),
            min(max(y1 * self.scale_y, 0.0), h),
            min(max(x2 * self.scale_x, 0.0), w),
            min(max(y2 * self.scale_y, 0.0), h),
        )


def _resize(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    if (image.shape[1], image.shape[0]) == size:
        return image
    shrinking = image.shape[1] > size[0] or image.shape[0] > size[1]
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR)


def stretch(image: np.ndarray, size: tuple[int, int]) -> tuple[np.ndarray, Placement]:
    """Resize to ``size`` (width, height) ignoring the aspect ratio, as the SSDs were trained."""
    h, w = image.shape[:2]
    return _resize(image, size), Placement(w / size[0], h / size[1], w, h)


def letterbox(image: np.ndarray, size: tuple[int, int], pad: int = PAD_GREY) -> tuple[np.ndarray, Placement]:
    """Scale to fit ``size`` keeping the aspect ratio, into the top-left corner; pad the rest."""
    h, w = image.shape[:2]
    ratio = min(size[0] / w, size[1] / h)
    nw, nh = max(1, min(size[0], round(w * ratio))), max(1, min(size[1], round(h * ratio)))
    if (nw, nh) == size:
        return _resize(image, size), Placement(w / nw, h / nh, w, h)
    canvas = np.full((size[1], size[0], 3), pad, dtype=np.uint8)
    canvas[:nh, :nw] = _resize(image, (nw, nh))
    return canvas, Placement(w / nw, h / nh, w, h)


def quantize(pixels: np.ndarray, dtype: np.dtype, scale: float, zero_point: int) -> np.ndarray:
    """Real values → the input tensor's dtype with its own (scale, zero point); batch axis added."""
    dtype = np.dtype(dtype)
    if dtype == np.float32 or not scale:
        return pixels.astype(np.float32)[np.newaxis]
    info = np.iinfo(dtype)
    if scale == 1.0 and pixels.dtype == np.uint8:  # the common int8 case: q = pixel + zero point
        shifted = pixels.astype(np.int16) + int(zero_point)
        return np.clip(shifted, info.min, info.max).astype(dtype)[np.newaxis]
    q = np.round(pixels.astype(np.float32) / scale + zero_point)
    return np.clip(q, info.min, info.max).astype(dtype)[np.newaxis]
