"""Per-camera motion detection settings."""

from __future__ import annotations

from pydantic import Field, field_validator

from camwatch.config.base import Section

Polygon = list[tuple[float, float]]


class MotionConfig(Section):
    enabled: bool = Field(True, title="Motion gating", description="Run the detector only where something moves.")
    threshold: int = Field(
        25,
        ge=1,
        le=255,
        title="Pixel threshold",
        description="Grey-level change that counts as motion in a day view; in a low-contrast view (night, "
        "infrared, fog: a grey range under 160 levels) it shrinks with the range, down to min_threshold.",
    )
    min_threshold: int = Field(
        8,
        ge=1,
        le=255,
        title="Lowest pixel threshold",
        description="The pixel threshold never drops below this in low-contrast views (keep it above sensor "
        "noise); set it equal to threshold for a fixed threshold.",
    )
    contour_area: int = Field(
        30, ge=1, title="Minimum contour area", description="Smallest motion blob, in pixels of the downscaled frame."
    )
    frame_height: int = Field(
        180, ge=60, le=1080, title="Analysis height", description="Height of the downscaled grey frame motion works on."
    )
    background_alpha: float = Field(
        0.02,
        gt=0,
        le=1,
        title="Background learning rate",
        description="Share of each sampled frame blended into the background; lower keeps still objects moving longer.",
    )
    global_change: float = Field(
        0.3,
        gt=0,
        le=1,
        title="Global change share",
        description="Share of the frame that must change at once to count as a light/exposure change (recalibrate).",
    )
    brightness_change: float = Field(
        0.2,
        gt=0,
        title="Brightness change",
        description="Relative jump of the mean brightness between samples that counts as a light change (recalibrate).",
    )
    calibration_frames: int = Field(
        3,
        ge=1,
        le=100,
        title="Calibration frames",
        description="Consecutive steady samples needed after a global change before motion is reported again.",
    )
    max_calibration_frames: int = Field(
        50,
        ge=1,
        le=10000,
        title="Longest calibration",
        description="Calibration ends after this many samples even if the view never settles.",
    )
    mask: list[Polygon] = Field(
        default_factory=list,
        title="Motion masks",
        description="Polygons where motion is ignored (shares of the frame when every value lies in 0..1, else pixels).",
    )

    @field_validator("mask")
    @classmethod
    def _polygons(cls, value: list[Polygon]) -> list[Polygon]:
        for i, poly in enumerate(value):
            if len(poly) < 3:
                raise ValueError(f"mask polygon {i} needs at least 3 points, got {len(poly)}")
        return value
