"""Cheap measurements of a small grey image, and the slowly learned reference scene.

Everything works on a grey image about 160 px wide, split into a grid of cells. Each
measurement is chosen to survive light changes: edges are compared by correlation (gain
does not matter) and sharpness is the ratio of the strongest second to the strongest
first derivatives (contrast cancels out; a top percentile ignores sensor and coding noise).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

GRID_COLS = 8
GRID_ROWS = 6
_EPS = 1e-3


def small_gray(frame_bgr: np.ndarray, width: int) -> np.ndarray:
    """Downscale to ``width`` px (keeping the aspect ratio) and convert to float32 grey."""
    gray = cv2.cvtColor(frame_bgr, cv2.COLOR_BGR2GRAY) if frame_bgr.ndim == 3 else frame_bgr
    h, w = gray.shape[:2]
    height = max(GRID_ROWS * 4, round(h * width / max(1, w)))
    small = cv2.resize(gray, (width, height), interpolation=cv2.INTER_AREA)
    return small.astype(np.float32)


def _top(values: np.ndarray, share: float = 0.01) -> float:
    """The value at the top ``share`` of ``values`` (the 99th percentile by default), cheaply."""
    flat = values.ravel()
    k = max(0, int(flat.size * (1.0 - share)) - 1)
    return float(np.partition(flat, k)[k])


def _blocks(image: np.ndarray) -> np.ndarray:
    """View ``image`` as (cells, pixels per cell), cropping the remainder at the right and bottom."""
    h, w = image.shape
    ch, cw = h // GRID_ROWS, w // GRID_COLS
    cropped = image[: ch * GRID_ROWS, : cw * GRID_COLS]
    return cropped.reshape(GRID_ROWS, ch, GRID_COLS, cw).transpose(0, 2, 1, 3).reshape(GRID_ROWS * GRID_COLS, ch * cw)


@dataclass(slots=True)
class SceneSample:
    """The measurements of one sampled frame."""

    gray: np.ndarray
    grad: np.ndarray  # smoothed gradient magnitude
    mean: float
    std: float
    sharpness: float  # strongest |Laplacian| / strongest |gradient| (99th percentiles), contrast free
    cell_std: np.ndarray  # per grid cell
    cell_mean: np.ndarray

    @classmethod
    def measure(cls, gray: np.ndarray) -> SceneSample:
        gx = cv2.Sobel(gray, cv2.CV_32F, 1, 0, ksize=3)
        gy = cv2.Sobel(gray, cv2.CV_32F, 0, 1, ksize=3)
        mag = cv2.magnitude(gx, gy)
        lap = np.abs(cv2.Laplacian(gray, cv2.CV_32F, ksize=1))
        sharp = _top(lap) / (_top(mag) + _EPS)
        blocks = _blocks(gray)
        cell_std = blocks.std(axis=1).astype(np.float32)
        cell_mean = blocks.mean(axis=1).astype(np.float32)
        grad = cv2.GaussianBlur(mag, (5, 5), 0)
        return cls(gray, grad, float(gray.mean()), float(gray.std()), sharp, cell_std, cell_mean)


def cell_correlations(ref_grad: np.ndarray, cur_grad: np.ndarray) -> np.ndarray:
    """Normalised correlation of the edge maps, per grid cell (-1..1; 0 for a flat cell)."""
    a = _blocks(ref_grad)
    b = _blocks(cur_grad)
    a = a - a.mean(axis=1, keepdims=True)
    b = b - b.mean(axis=1, keepdims=True)
    den = np.sqrt((a * a).sum(axis=1) * (b * b).sum(axis=1))
    num = (a * b).sum(axis=1)
    return np.where(den > _EPS, num / np.maximum(den, _EPS), 0.0).astype(np.float32)


class ReferenceScene:
    """An exponential average of healthy, still views: grey image, edges and sharpness."""

    def __init__(self) -> None:
        self.gray: np.ndarray | None = None
        self.grad: np.ndarray | None = None
        self.sharpness = 0.0
        self.mean = 0.0
        self.cell_std: np.ndarray | None = None
        self.cell_mean: np.ndarray | None = None
        self.samples = 0

    @property
    def ready(self) -> bool:
        return self.gray is not None

    def reset(self, sample: SceneSample) -> None:
        self.gray = sample.gray.copy()
        self.grad = sample.grad.copy()
        self.sharpness = sample.sharpness
        self.mean = sample.mean
        self.cell_std = sample.cell_std.copy()
        self.cell_mean = sample.cell_mean.copy()
        self.samples = 1

    def learn(self, sample: SceneSample, alpha: float) -> None:
        """Blend in a sample; the first ones average quickly, later ones at ``alpha``."""
        if self.gray is None or self.grad is None or self.cell_std is None or self.cell_mean is None:
            self.reset(sample)
            return
        self.samples += 1
        a = max(alpha, 1.0 / self.samples)
        cv2.accumulateWeighted(sample.gray, self.gray, a)
        cv2.accumulateWeighted(sample.grad, self.grad, a)
        self.cell_std += a * (sample.cell_std - self.cell_std)
        self.cell_mean += a * (sample.cell_mean - self.cell_mean)
        self.sharpness += a * (sample.sharpness - self.sharpness)
        self.mean += a * (sample.mean - self.mean)

    def detailed_cells(self, min_std: float) -> np.ndarray:
        """Indices of cells that had detail in the reference (the ones worth comparing)."""
        assert self.cell_std is not None
        idx = np.flatnonzero(self.cell_std >= min_std)
        return idx if idx.size >= 3 else np.arange(self.cell_std.size)

    def shift_percent(self, gray: np.ndarray) -> tuple[float, float]:
        """Estimated view shift (x, y) in percent of the frame, by phase correlation."""
        if self.gray is None:
            return 0.0, 0.0
        win = cv2.createHanningWindow(gray.shape[::-1], cv2.CV_32F)
        (dx, dy), _ = cv2.phaseCorrelate(self.gray, gray, win)
        h, w = gray.shape
        return 100.0 * dx / w, 100.0 * dy / h
