"""The tracked object: what the tracker hands to zones and the event engine each frame.

*Present* is the one notion of "in view now" that everything shown or counted uses (live
picture, "In view now", MQTT counts, Home Assistant occupancy, zone counts): a confirmed
object the detector has not lost. A confirmed object it lost (looked twice, nobody there)
stays tracked a while as *lost* so that the person coming back out of the dark or from
behind a car continues their event (``camwatch.track.reid``), but it is neither shown nor
counted meanwhile.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from camwatch.detectors.base import Box


@dataclass(slots=True)
class TrackedObject:
    id: str  # also the event id once confirmed (camwatch.ids.new_event_id)
    camera: str
    label: str
    box: Box  # x1, y1, x2, y2, frame pixels (the last matched detection)
    score: float  # last detection score
    first_seen: float
    last_seen: float
    frame_size: tuple[int, int]  # width, height
    scores: deque = field(default_factory=lambda: deque(maxlen=10))
    top_score: float = 0.0
    hits: int = 0  # frames matched to a detection
    misses: int = 0  # consecutive detector passes that looked at it and did not see it
    confirmed: bool = False
    stationary: bool = False
    motionless_count: int = 0
    velocity: tuple[float, float] = (0.0, 0.0)  # pixels per second of the box centre
    current_zones: list[str] = field(default_factory=list)
    zones_entered: list[str] = field(default_factory=list)
    zone_entry_time: dict[str, float] = field(default_factory=dict)
    zone_dwell: dict[str, float] = field(default_factory=dict)  # seconds spent, per zone
    seen_this_frame: bool = False  # matched a detection in the latest update
    origin: Box | None = None  # the first detection's box
    smoothed: Box | None = None  # running average of its boxes
    travel: float = 0.0  # farthest ``smoothed`` has been from ``origin``, in object heights (track.movement)
    motion_hits: int = 0  # matched detections that lay on moving pixels
    motion_checks: int = 0  # matched detections for which motion was known
    ended: bool = False
    lost: bool = False  # confirmed, but the detector looked and it was not there: kept only to be recognised

    @property
    def present(self) -> bool:
        """Confirmed and in view: what the live picture, counts and occupancy show."""
        return self.confirmed and not self.lost and not self.ended

    @property
    def median_score(self) -> float:
        if not self.scores:
            return 0.0
        ordered = sorted(self.scores)
        mid = len(ordered) // 2
        return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2

    @property
    def area(self) -> float:
        x1, y1, x2, y2 = self.box
        return max(0.0, x2 - x1) * max(0.0, y2 - y1)

    @property
    def bottom_center(self) -> tuple[float, float]:
        x1, _, x2, y2 = self.box
        return ((x1 + x2) / 2.0, y2)
