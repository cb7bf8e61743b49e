"""Boxes, polygons, the one rule for relative coordinates, and atomic file writes."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import numpy as np
import pytest

from camwatch.atomic import replacing, temporary_path, write_atomic
from camwatch.config.motion import MotionConfig
from camwatch.config.zones import ZoneConfig
from camwatch.geometry import (
    covered_share,
    grow,
    intersection,
    iou,
    is_relative,
    point_in_polygon,
    polygon_to_pixels,
)
from camwatch.motion.detector import MotionDetector
from camwatch.track.model import TrackedObject
from camwatch.track.zones import ZoneTracker


def test_boxes() -> None:
    a, b = (0, 0, 10, 10), (5, 5, 15, 15)
    assert intersection(a, b) == 25
    assert iou(a, b) == pytest.approx(25 / 175)
    assert iou(a, (20, 20, 30, 30)) == 0.0 and iou((0, 0, 0, 0), (0, 0, 0, 0)) == 0.0
    assert covered_share((0, 0, 10, 10), (0, 0, 5, 10)) == pytest.approx(0.5)
    assert covered_share((3, 3, 3, 3), a) == 0.0  # an empty box is covered by nothing
    assert grow((10, 20, 30, 60), 0.5) == (0, 0, 40, 80)


@pytest.mark.parametrize(
    ("points", "relative"),
    [
        ([(0, 0), (1, 0), (1, 1)], True),
        ([(0.2, 0.3), (0.5, 0.3), (0.5, 0.9)], True),
        ([(-0.1, 0), (0.5, 0), (0.5, 1)], False),  # one value outside 0..1: pixels
        ([(0, 0), (640, 0), (640, 1)], False),
        ([(0, 0), (1.2, 0), (1, 1)], False),
    ],
)
def test_relative_iff_every_value_lies_in_0_1(points, relative) -> None:
    assert is_relative(points) is relative
    scaled = polygon_to_pixels(points, (200, 100))
    expected = np.array(points, dtype=np.float32) * (np.array([200, 100], dtype=np.float32) if relative else 1)
    assert np.allclose(scaled, expected)


def test_zones_and_motion_masks_read_coordinates_alike() -> None:
    """The polygon the issue named, [(-0.1, 0), (0.5, 0), (0.5, 1)], is pixels everywhere:
    a tiny triangle at the top-left corner, not half the frame."""
    polygon = [(-0.1, 0.0), (0.5, 0.0), (0.5, 1.0)]
    zones = ZoneTracker({"corner": ZoneConfig(coordinates=polygon, inertia=1)}, (100, 100))
    person = TrackedObject("p", "cam", "person", (20, 10, 40, 50), 0.9, 0.0, 0.0, (100, 100), confirmed=True)
    person.seen_this_frame = True
    zones.update([person], 0.0)
    assert person.current_zones == []  # (30, 50) lies in the relative reading, not in the pixel one
    assert point_in_polygon((30, 50), polygon_to_pixels([(0, 0), (0.5, 0), (0.5, 1)], (100, 100)))
    masked = MotionDetector(MotionConfig(mask=[polygon]), (100, 100)).mask == 0
    half = MotionDetector(MotionConfig(mask=[[(0, 0), (0.5, 0), (0.5, 1)]]), (100, 100)).mask == 0
    assert np.count_nonzero(masked) <= 2 < 0.2 * half.size < np.count_nonzero(half)


def test_write_atomic_replaces_whole_files_only(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "state.json"
    write_atomic(target, "one")
    assert target.read_text() == "one"
    os.chmod(target, 0o640)
    write_atomic(target, b"two", durable=True, keep_backup=True)
    assert target.read_bytes() == b"two" and (tmp_path / "sub" / "state.json.bak").read_text() == "one"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640  # the file keeps its permissions
    secret = tmp_path / "secret"
    write_atomic(secret, b"key", mode=0o600)
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    with pytest.raises(RuntimeError), replacing(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("disk trouble")
    assert target.read_bytes() == b"two"  # untouched
    assert not temporary_path(target).exists()
    assert sorted(p.name for p in target.parent.iterdir()) == ["state.json", "state.json.bak"]
