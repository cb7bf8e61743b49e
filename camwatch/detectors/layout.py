"""Recognising a model's output layout from its tensors, before any frame is fed.

A model handed to the wrong decoder does not fail: it returns boxes that mean nothing.
Reading the tensor shapes first turns "YOLOX file under an SSD name" or "face model given
as the detector" into one clear sentence at start.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from camwatch.const import LAYOUT_BLAZEFACE, LAYOUT_SSD, LAYOUT_YOLOX

SSD = LAYOUT_SSD
YOLOX = LAYOUT_YOLOX
BLAZEFACE = LAYOUT_BLAZEFACE
YOLOX_STRIDES = (8, 16, 32)

_DESCRIPTIONS = {
    SSD: "an SSD object detector with post-processing (boxes, classes, scores, count)",
    YOLOX: "a YOLOX object detector (one tensor of anchors x (5 + classes))",
    BLAZEFACE: "a BlazeFace face detector, not an object detector",
}


@dataclass(frozen=True)
class Layout:
    """What the tensors say the model is. ``name`` is None when no known layout fits."""

    name: str | None
    tensors: str
    classes: int | None = None

    def describe(self) -> str:
        if self.name is None:
            return f"not a model camwatch can decode ({self.tensors})"
        return _DESCRIPTIONS[self.name]


def describe_layout(name: str) -> str:
    return _DESCRIPTIONS.get(name, name)


def yolox_anchor_count(width: int, height: int) -> int:
    """Rows of a YOLOX output for this input size: one per cell of each stride's grid."""
    return sum((height // s) * (width // s) for s in YOLOX_STRIDES)


def _shape(detail: dict[str, Any]) -> tuple[int, ...]:
    return tuple(int(v) for v in detail["shape"])


def _summary(inputs: list[dict[str, Any]], outputs: list[dict[str, Any]]) -> str:
    def one(d: dict[str, Any]) -> str:
        return f"{list(_shape(d))} {np.dtype(d['dtype']).name}"

    return f"input {', '.join(one(d) for d in inputs)}; output {', '.join(one(d) for d in outputs)}"


def detect_layout(interpreter: Any) -> Layout:
    """Classify an allocated interpreter by its input and output tensors."""
    inputs = interpreter.get_input_details()
    outputs = interpreter.get_output_details()
    summary = _summary(inputs, outputs)
    if len(inputs) != 1 or len(_shape(inputs[0])) != 4 or _shape(inputs[0])[3] != 3:
        return Layout(None, summary)
    _, height, width, _ = _shape(inputs[0])
    shapes = [_shape(o) for o in outputs]
    if len(shapes) == 4:
        by_rank = sorted(shapes, key=len)
        count, per_a, per_b, boxes = by_rank
        if (
            count == (1,)
            and len(per_a) == 2 and per_a == per_b
            and len(boxes) == 3 and boxes[2] == 4 and boxes[:2] == per_a
        ):
            return Layout(SSD, summary)
    if len(shapes) == 1 and len(shapes[0]) == 3:
        _, rows, columns = shapes[0]
        if columns > 5 and rows == yolox_anchor_count(width, height):
            return Layout(YOLOX, summary, classes=columns - 5)
    if len(shapes) == 2 and all(len(s) == 3 for s in shapes):
        last = sorted(s[2] for s in shapes)
        if last == [1, 16] and shapes[0][1] == shapes[1][1]:
            return Layout(BLAZEFACE, summary)
    return Layout(None, summary)
