"""Labels on the dashboard still are never cut by the frame edge: the label drawn for a box at
an edge is pixel for pixel the label drawn in the middle of the frame."""

from __future__ import annotations

import numpy as np
import pytest

from camwatch.config.camera import CameraConfig
from camwatch.events.overlay import draw_label
from camwatch.pipeline.camera import CameraPipeline
from camwatch.track.model import TrackedObject

GREEN = (0, 220, 0)


def _label(width: int, height: int, anchor: tuple[float, float]) -> np.ndarray:
    image = np.full((height, width, 3), 40, np.uint8)
    x1, y1, x2, y2 = draw_label(image, "person 87%", anchor, GREEN)
    assert 0 <= x1 < x2 < width and 0 <= y1 < y2 < height
    return image[y1:y2, x1:x2]


@pytest.mark.parametrize("size", [(640, 360), (1920, 1080), (320, 240)])
@pytest.mark.parametrize("anchor", [(0, 0), (5, 3), (10_000, 0), (10_000, 10_000), (-20, -20), (300, 2)])
def test_a_label_at_an_edge_is_whole(size: tuple[int, int], anchor: tuple[float, float]) -> None:
    width, height = size
    whole = _label(width, height, (width / 2, height / 2))
    at_edge = _label(width, height, anchor)
    assert at_edge.shape == whole.shape
    assert np.array_equal(at_edge, whole)
    assert (whole[:, :, 1] < 110).sum() > 40  # dark text on the green background


def test_the_dashboard_still_shows_a_top_edge_label_whole() -> None:
    config = CameraConfig(url="/x.mp4", zones={"door": {"coordinates": [[0, 0], [0.5, 0], [0.5, 0.5]]}})
    holder = type("Holder", (), {"frame_size": (640, 360), "config": config})()
    obj = TrackedObject(id="1.0-a", camera="front", label="person", box=(200, 0, 320, 300), score=0.87,
                        first_seen=0, last_seen=0, frame_size=(640, 360))
    frame = np.full((360, 640, 3), 40, np.uint8)
    out = CameraPipeline.annotate(holder, frame, [obj])  # type: ignore[arg-type]
    reference = np.full((360, 640, 3), 40, np.uint8)
    x1, y1, x2, y2 = draw_label(reference, "person 87%", (320, 180), GREEN)
    label = reference[y1:y2, x1:x2]
    found = [(x, y) for y in range(0, 40) for x in range(195, 215)
             if np.array_equal(out[y:y + label.shape[0], x:x + label.shape[1]], label)]
    assert found, "the label of the box at the top edge is not drawn whole"
