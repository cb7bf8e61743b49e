"""Per-camera object tracker settings."""

from __future__ import annotations

from pydantic import Field

from camwatch.config.base import Section


class TrackingConfig(Section):
    min_hits: int = Field(
        3, ge=1, le=100, title="Hits to confirm", description="Detections an object needs before it can be confirmed."
    )
    max_disappeared: float = Field(
        3.0,
        gt=0,
        title="Disappear time (s)",
        description="An object ends after it has been unseen this long (while the detector was looking at it).",
    )
    min_misses: int = Field(
        2,
        ge=1,
        le=100,
        title="Misses to end",
        description="Detector passes that looked at an object and missed it before it may end.",
    )
    lost_timeout: float = Field(
        60.0,
        gt=0,
        title="Unobserved timeout (s)",
        description="An object the detector has not looked at for this long ends anyway (detection switched off).",
    )
    match_iou: float = Field(
        0.2, ge=0, le=1, title="Match IoU", description="Smallest overlap of a detection with a predicted box to match it."
    )
    match_distance: float = Field(
        1.0,
        gt=0,
        title="Match distance",
        description="Without overlap, a detection matches if its centre is within this many box diagonals of the prediction.",
    )
    stationary_seconds: float = Field(
        10.0,
        gt=0,
        title="Stationary after (s)",
        description="An object that barely moves for this long becomes stationary (not announced again and again).",
    )
    stationary_iou: float = Field(
        0.6,
        gt=0,
        le=1,
        title="Stationary overlap",
        description="Overlap with its resting box above which an object counts as not moving.",
    )
    stationary_recheck: float = Field(
        10.0,
        gt=0,
        title="Stationary re-check (s)",
        description="A stationary object's region is detected again this often.",
    )
    reentry_seconds: float = Field(
        15.0,
        ge=0,
        le=120,
        title="Out-of-sight window (s)",
        description="A confirmed object lost from view (into the dark, behind a car or a door frame, its face on "
        "the lens, out through the edge of the picture) is remembered this long: when it reappears where it could "
        "have walked in the meantime, it continues the same event (no new alert). Its event still ends at its last "
        "sighting, and meanwhile it is not shown or counted. 0 ends objects after max_disappeared instead.",
    )
    reentry_similarity: float = Field(
        0.65,
        ge=0,
        le=1,
        title="Out-of-sight look similarity",
        description="How alike (grey levels of the upper and lower body, 0-1; works on infrared) a person "
        "reappearing must look to continue the lost one's event; position and time decide first, this only "
        "refuses someone who looks clearly different.",
    )
    moving_distance: float = Field(
        0.5,
        gt=0,
        le=10,
        title="Moving distance",
        description="How far (in its own heights) an object must travel from where it was first seen, or how much "
        "it must grow or shrink, before it may be confirmed at the moving threshold.",
    )
    motion_support: float = Field(
        0.5,
        ge=0,
        le=1,
        title="Motion support",
        description="Share of an object's detections that must lie on moving pixels for it to count as moving "
        "(the motion detector sees a change under a good part of its box).",
    )
    keep_score: float = Field(
        0.3,
        ge=0,
        le=1,
        title="Keep score",
        description="A detection scoring at least this, though below its label's min_score, keeps an object "
        "already tracked at that spot from being lost (a dimly lit or half-hidden person); it never starts "
        "an object and does not count towards confirming one.",
    )
    greyscale_offset: float = Field(
        0.15,
        ge=0,
        le=0.5,
        title="Greyscale score offset",
        description="On greyscale frames (an infrared camera at night) the detector, which learned from colour "
        "photos, scores people lower (measured: an infrared walker's median 0.40, daylight walkers 0.55-0.77): "
        "there min_score and the moving threshold are lowered by this much. The threshold for objects that do "
        "not move is not, so still scenery stays out.",
    )
