"""Did a new model find what the running one found? Counted over frames, per label.

An object the reference model found counts as kept when the other model found the same
label with a box overlapping it (IoU ≥ 0.3; two models place boxes differently). Only
labels the cameras track count. The loss is the share of the reference's objects that were
not kept; what the other model finds in addition is counted, not judged.

A handful of objects is a noisy measure (two models disagree on a person half hidden by a
door frame), so a model is judged lossy only when even the low end of the loss's 95 %
confidence interval (one-sided Wilson bound) is above the allowed loss: losing 1 of 3 is not
enough to condemn a model, losing 3 of 3 is.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

from camwatch.detectors.base import Box, Detection

MATCH_IOU = 0.3
Z_95 = 1.645  # one-sided 95 %


def iou(a: Box, b: Box) -> float:
    x1, y1 = max(a[0], b[0]), max(a[1], b[1])
    x2, y2 = min(a[2], b[2]), min(a[3], b[3])
    inter = max(0.0, x2 - x1) * max(0.0, y2 - y1)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


@dataclass
class Tally:
    found: int = 0  # tracked objects the reference model found
    kept: int = 0  # of them, found by the other model too
    added: int = 0  # tracked objects only the other model found
    frames: int = 0
    labels: dict[str, list[int]] = field(default_factory=dict)  # label → [found, kept]

    def add(self, reference: Iterable[Detection], other: Iterable[Detection], tracked: set[str]) -> None:
        ref = [d for d in reference if d.label in tracked]
        new = [d for d in other if d.label in tracked]
        self.frames += 1
        unmatched = list(range(len(new)))
        for det in sorted(ref, key=lambda d: -d.score):
            counts = self.labels.setdefault(det.label, [0, 0])
            counts[0] += 1
            self.found += 1
            best, best_iou = None, MATCH_IOU
            for j in unmatched:
                if new[j].label == det.label and (overlap := iou(det.box, new[j].box)) >= best_iou:
                    best, best_iou = j, overlap
            if best is not None:
                unmatched.remove(best)
                counts[1] += 1
                self.kept += 1
        self.added += len(unmatched)

    @property
    def loss(self) -> float:
        return 1.0 - self.kept / self.found if self.found else 0.0

    def loss_low(self, z: float = Z_95) -> float:
        """The low end of the loss's confidence interval (Wilson score bound)."""
        n = self.found
        if n == 0:
            return 0.0
        p = self.loss
        centre = p + z * z / (2 * n)
        spread = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
        return max(0.0, (centre - spread) / (1 + z * z / n))

    def judged(self, min_objects: int) -> bool:
        return self.found >= min_objects

    def too_lossy(self, allowed_loss: float, min_objects: int) -> bool:
        return self.judged(min_objects) and self.loss_low() > allowed_loss

    def describe(self) -> str:
        per_label = ", ".join(f"{label} {kept}/{found}" for label, (found, kept) in sorted(self.labels.items()))
        text = f"found {self.kept} of the {self.found} objects the running model found on {self.frames} frames"
        return f"{text} ({per_label}); {self.added} new" if per_label else text

    def to_dict(self) -> dict[str, object]:
        return {"frames": self.frames, "found": self.found, "kept": self.kept, "added": self.added,
                "loss": round(self.loss, 3), "loss_low": round(self.loss_low(), 3)}  # fmt: skip
