"""Detector regions: squares around motion/tracked boxes, and merging detections across them."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from camwatch.detectors.base import Detection
from camwatch.track.regions import (
    detect_regions,
    limit_regions,
    merge_detections,
    plan_regions,
    tile_regions,
)

FRAME = (1920, 1080)


def _assert_valid(regions, frame_size, model_size=300):
    w, h = frame_size
    for x1, y1, x2, y2 in regions:
        assert x2 - x1 == y2 - y1, "regions are square"
        assert x2 - x1 >= min(model_size, w, h)
        assert 0 <= x1 < x2 <= w and 0 <= y1 < y2 <= h


def _covers(region, box):
    return region[0] <= box[0] and region[1] <= box[1] and region[2] >= box[2] and region[3] >= box[3]


def test_nothing_moving_and_nothing_tracked_means_no_region():
    assert plan_regions(FRAME, [], []) == []


def test_small_box_gets_one_model_sized_square_around_it():
    regions = plan_regions(FRAME, [(1000, 500, 1040, 580)], [])
    assert len(regions) == 1
    _assert_valid(regions, FRAME)
    assert regions[0][2] - regions[0][0] == 300
    assert _covers(regions[0], (1000, 500, 1040, 580))


def test_box_at_the_corner_is_clamped_inside_the_frame():
    regions = plan_regions(FRAME, [(1900, 1060, 1920, 1080)], [(0, 0, 10, 10)])
    _assert_valid(regions, FRAME)
    assert len(regions) == 2
    assert (1620, 780, 1920, 1080) in regions and (0, 0, 300, 300) in regions


def test_nearby_boxes_share_a_region_and_far_ones_do_not():
    near = [(400, 400, 440, 480), (470, 420, 500, 470), (520, 380, 560, 470)]
    far = [(1500, 200, 1540, 280)]
    regions = plan_regions(FRAME, near, far)
    _assert_valid(regions, FRAME)
    assert len(regions) == 2
    for box in near + far:
        assert any(_covers(r, box) for r in regions)


def test_large_box_grows_the_square_with_margin():
    box = (600, 200, 1000, 900)  # 700 tall
    regions = plan_regions(FRAME, [box], [])
    _assert_valid(regions, FRAME)
    assert len(regions) == 1 and _covers(regions[0], box)
    assert regions[0][2] - regions[0][0] >= 840  # 20 % margin


def test_box_wider_than_the_frame_height_is_covered_by_several_squares():
    box = (0, 400, 1920, 700)
    regions = plan_regions(FRAME, [box], [])
    _assert_valid(regions, FRAME)
    assert len(regions) == 2
    assert min(r[0] for r in regions) == 0 and max(r[2] for r in regions) == 1920


def test_overlapping_regions_are_merged():
    regions = plan_regions(FRAME, [(500, 500, 600, 650), (560, 520, 700, 800)], [(520, 480, 640, 700)])
    _assert_valid(regions, FRAME)
    assert len(regions) == 1


def test_merge_detections_is_class_aware_and_prefers_uncut_boxes():
    whole = Detection("person", 0.6, (550, 100, 650, 400))
    cut = Detection("person", 0.8, (550, 100, 600, 400))  # cut by the right edge of its region
    dog = Detection("dog", 0.7, (555, 110, 645, 390))
    other = Detection("person", 0.7, (900, 100, 1000, 400))
    dets = [cut, whole, dog, other]
    regions = [(300, 0, 600, 300), (450, 0, 900, 450), (450, 0, 900, 450), (800, 0, 1100, 450)]
    merged = merge_detections(dets, regions=regions, frame_size=FRAME)
    assert sorted(merged, key=lambda d: d.box) == sorted([whole, dog, other], key=lambda d: d.box)
    # Without region information the higher score wins.
    plain = merge_detections([cut, whole])
    assert plain == [cut]
    with pytest.raises(ValueError):
        merge_detections(dets, regions=regions[:2])


def test_regions_find_small_people_that_the_whole_frame_misses(shared_media, detector):
    """kite_and_cold.jpg (1352x900): many small people on a beach."""
    image = cv2.imread(str(shared_media / "kite_and_cold.jpg"))
    h, w = image.shape[:2]
    whole = [d for d in detector.detect(image, 0.5) if d.label == "person"]
    # The beach (lower half) moves: motion boxes tile it; the planner turns them into squares.
    tiles = [(x, y, min(w, x + 300), min(h, y + 300)) for y in range(400, h, 150) for x in range(0, w, 150)]
    regions = plan_regions((w, h), tiles, [], 300, merge_overlap=0.99)
    _assert_valid(regions, (w, h))
    raw: list[Detection] = []
    origin = []
    for region in regions:
        found = [d for d in detector.detect_region(image, region, 0.5) if d.label == "person"]
        raw += found
        origin += [region] * len(found)
    merged = merge_detections(raw, regions=origin, frame_size=(w, h))
    print(f"kite_and_cold: whole frame {len(whole)} persons; {len(regions)} regions: {len(raw)} raw, {len(merged)} merged")
    assert len(merged) < len(raw), "overlapping regions report the same person more than once"
    # Measured: whole frame 5 persons; 24 regions: 42 raw, 16 merged.
    assert len(merged) >= 2 * len(whole), f"regions {len(merged)} vs whole frame {len(whole)} persons"
    for a in merged:
        for b in merged:
            if a is not b:
                inter = max(0, min(a.box[2], b.box[2]) - max(a.box[0], b.box[0])) * max(
                    0, min(a.box[3], b.box[3]) - max(a.box[1], b.box[1])
                )
                assert inter < 0.8 * min(a.area, b.area)


def test_detect_regions_merges_across_regions(shared_media, detector):
    image = cv2.imread(str(shared_media / "posenet_test_image.bmp"))  # 640x480, two people
    h, w = image.shape[:2]
    regions = [(0, 0, 480, 480), (160, 0, 640, 480)]
    people = [d for d in detect_regions(detector, image, regions, 0.5) if d.label == "person"]
    assert 1 <= len(people) <= 2


def test_small_motion_gets_a_smaller_square_enlarged_to_the_model_input():
    """A 60 px walker in a 384x288 frame: context 2 around it, not a 300 px square."""
    box = (200, 100, 225, 160)
    regions = plan_regions((384, 288), [box], [], model_size=100, margin=1.0)
    assert len(regions) == 1 and _covers(regions[0], box)
    side = regions[0][2] - regions[0][0]
    assert side == 120  # 60 px x 2; at most 3x enlarged (>= 100)
    tiny = plan_regions((384, 288), [(10, 10, 20, 20)], [], model_size=100, margin=1.0)
    assert tiny[0][2] - tiny[0][0] == 100


def test_large_frames_are_checked_as_overlapping_tiles():
    tiles = tile_regions((1920, 1080), 300)
    assert len(tiles) == 8
    _assert_valid(tiles, (1920, 1080))
    covered = np.zeros((1080, 1920), bool)
    for x1, y1, x2, y2 in tiles:
        covered[y1:y2, x1:x2] = True
        assert x2 - x1 < 1080  # each tile shrinks less than the whole frame would
    assert covered.all()
    assert len(tile_regions((960, 1088), 300)) == 6
    assert tile_regions((768, 432), 300) == [(0, 0, 768, 432)]  # small frame: one look


def test_budget_keeps_tracked_objects_first_and_rotates_the_rest():
    regions = [(0, 0, 100, 100), (200, 0, 300, 100), (400, 0, 500, 100), (600, 0, 700, 100)]
    tracked = [(610, 10, 650, 90)]
    first = limit_regions(regions, tracked, 2, turn=0)
    assert first[0] == regions[3] and len(first) == 2
    seen = {r for turn in range(3) for r in limit_regions(regions, tracked, 2, turn)}
    assert seen == set(regions)  # every region gets its turn
    assert limit_regions(regions, [], 8, 0) == regions


def _regions_on_clip(model_path, settings):
    """Every region the whole pipeline looked at on a corridor clip with small movers."""
    import argparse
    import tempfile
    from pathlib import Path

    from benchmarks.detection_quality import CAMERA, START_TIME, camera_config
    from camwatch.app import Camwatch
    from camwatch.config import parse_config
    from tests.conftest import SHARED, require

    clip = SHARED / "eval" / "clips" / "caviar_leave1.mpg"
    require(clip.is_file(), f"eval clip {clip}")
    args = argparse.Namespace(config=None, camera=None, model=None, model_path=model_path, labels_path=None,
                              set=settings)
    config = parse_config(camera_config(args, clip), "regions test")
    seen: list[tuple[int, int, int, int]] = []
    with tempfile.TemporaryDirectory() as tmp:
        app = Camwatch(config, data_dir=Path(tmp), with_web=False, with_mqtt=False, start_time=START_TIME)
        pipeline = app.pipelines[CAMERA]
        process = pipeline.process

        def recording(frame):  # noqa: ANN001, ANN202 - wraps CameraPipeline.process
            result = process(frame)
            seen.extend(result.regions)
            return result

        pipeline.process = recording  # type: ignore[method-assign]
        app.start()
        app.wait()
        app.stop()
    return seen


@pytest.mark.parametrize(("model", "settings", "smallest"), [
    ("yolox_nano_ti_lite_320_full_integer_quant.tflite", [], 160),  # at most 2x to its 320 input
    ("coco_ssd_mobilenet_v1_1.0_quant_2018_06_29_detect.tflite", [], 100),  # at most 3x to its 300 input
    ("yolox_nano_ti_lite_320_full_integer_quant.tflite", ["detect.max_upscale=3"], 107),  # the setting wins
])
def test_each_model_gets_small_regions_enlarged_as_far_as_suits_it(model, settings, smallest):
    """People 20-45 px tall move in this 384x288 view: their squares are as small as the model
    allows, and the YOLOX model, which loses small people in blur, is never given one enlarged
    past 2x."""
    from tests.conftest import MODELS, require

    require((MODELS / model).is_file(), f"model {model}")
    regions = _regions_on_clip(MODELS / model, settings)
    sides = [r[2] - r[0] for r in regions]
    assert sides and min(sides) == smallest, sorted(set(sides))[:5]
