"""Motion detection on real clips: light changes recalibrate, noise is ignored, people are covered."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from camwatch.config.motion import MotionConfig
from camwatch.motion.detector import MotionDetector
from camwatch.sources.base import every_nth_frame

SAMPLE_FPS = 5.0


def _samples(path: Path, limit: int | None = None):
    """(index, frame) sampled at ~5 fps (raw .h264 decodes at 25 fps)."""
    cap = cv2.VideoCapture(str(path))
    assert cap.isOpened(), path
    fps = cap.get(cv2.CAP_PROP_FPS) or 25.0
    step = max(1, round(fps / SAMPLE_FPS))
    try:
        for index, frame in every_nth_frame(cap, step):
            if limit is not None and index >= limit:
                break
            yield index, frame
    finally:
        cap.release()


@pytest.mark.parametrize("clip", ["light-dark.h264", "alternating-light.h264", "total-darkness-to-light.h264"])
def test_light_changes_recalibrate_instead_of_reporting_motion(shared_media, clip):
    detector = None
    reported = 0
    lumas: list[float] = []
    calibrating: list[bool] = []
    for _, frame in _samples(shared_media / clip):
        if detector is None:
            detector = MotionDetector(MotionConfig(), (frame.shape[1], frame.shape[0]))
        reported += bool(detector.detect(frame))
        lumas.append(float(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY).mean()))
        calibrating.append(detector.calibrating)
    assert detector is not None and len(lumas) > 40
    share = reported / len(lumas)
    # Measured: light-dark 1/46, alternating-light 0/168, total-darkness-to-light 0/55.
    assert share < 0.15, f"{clip}: motion on {reported}/{len(lumas)} samples"
    assert detector.calibrations >= 1
    # Calibration starts at the biggest brightness jump (within a couple of samples).
    jumps = np.abs(np.diff(lumas)) / np.maximum(np.maximum(lumas[:-1], lumas[1:]), 8.0)
    switch = int(np.argmax(jumps)) + 1
    assert any(calibrating[max(0, switch - 2) : switch + 3]), (clip, switch)


@pytest.mark.parametrize("sigma", [10.0, 20.0])
def test_sensor_noise_on_a_static_view_is_not_motion(shared_media, sigma):
    frame = cv2.imread(str(shared_media / "kite_and_cold.jpg"))
    rng = np.random.default_rng(7)
    detector = MotionDetector(MotionConfig(), (frame.shape[1], frame.shape[0]))
    base = frame.astype(np.float32)
    for _ in range(12):
        noise = rng.standard_normal(frame.shape, dtype=np.float32) * sigma
        noisy = np.clip(base + noise, 0, 255).astype(np.uint8)
        assert detector.detect(noisy) == []
    assert detector.calibrations == 0


def _moving_square(frame: np.ndarray, x: int, y: int) -> np.ndarray:
    out = frame.copy()
    cv2.rectangle(out, (x, y), (x + 60, y + 120), (20, 20, 20), -1)
    return out


@pytest.mark.parametrize("relative", [False, True])
def test_motion_mask_excludes_its_area(shared_media, relative):
    frame = cv2.imread(str(shared_media / "kite_and_cold.jpg"))  # 1352x900
    left = [(0, 0), (600, 0), (600, 900), (0, 900)]
    if relative:
        left = [(x / 1352, y / 900) for x, y in left]
    detector = MotionDetector(MotionConfig(mask=[left]), (1352, 900))
    detector.detect(frame)
    inside = [detector.detect(_moving_square(frame, 200 + 20 * i, 300)) for i in range(5)]
    assert inside == [[]] * 5
    boxes = []
    for i in range(5):
        boxes = detector.detect(_moving_square(frame, 900 + 20 * i, 300))
        if boxes:
            break
    assert boxes, "motion outside the mask must be reported"
    x1, y1, x2, y2 = boxes[0]
    assert x1 >= 600 and x1 <= 1000 and y1 <= 320 and y2 >= 400


def test_mask_polygon_needs_three_points():
    with pytest.raises(ValueError, match="at least 3 points"):
        MotionConfig(mask=[[(0, 0), (1, 1)]])


@pytest.mark.parametrize(("clip", "limit"), [("walking-by.h264", None), ("one-by-one-person-detection.mp4", 260)])
def test_motion_boxes_cover_the_detected_person(shared_media, detector, clip, limit):
    """A person who moves (centre shifted >= 8 px since the last check) is inside a motion box.

    Someone who stands still fades into the background within seconds by design: the
    tracker, not motion, keeps the detector on them.
    """
    motion = None
    checked = covered = 0
    last_centres: list[tuple[float, float]] = []
    for n, (_, frame) in enumerate(_samples(shared_media / clip, limit)):
        h, w = frame.shape[:2]
        if motion is None:
            motion = MotionDetector(MotionConfig(), (w, h))
        boxes = motion.detect(frame)
        if n % 3:
            continue
        people = [d for d in detector.detect(frame, 0.5) if d.label == "person"]
        centres = [((p.box[0] + p.box[2]) / 2, (p.box[1] + p.box[3]) / 2) for p in people]
        for cx, cy in centres:
            if any(abs(cx - px) + abs(cy - py) < 8 for px, py in last_centres):
                continue  # standing still since the last check
            checked += 1
            covered += any(b[0] <= cx <= b[2] and b[1] <= cy <= b[3] for b in boxes)
        last_centres = centres
    assert checked >= 3, f"{clip}: the detector found too few moving people to compare"
    assert covered / checked >= 0.9, f"{clip}: {covered}/{checked} person centres inside a motion box"


def test_low_contrast_infrared_person_is_seen_with_the_adaptive_threshold():
    """night_ir_yard.mp4: a person by the fence (about x 550-595, y 305-445) differs from the
    background by 10-24 grey levels in a view spanning about 120: invisible at a fixed 25."""
    from tests.conftest import SHARED, require

    clip = SHARED / "eval" / "clips" / "night_ir_yard.mp4"
    require(clip.is_file(), f"clip {clip}")
    person = (550, 305, 595, 445)
    configs = {"adaptive": MotionConfig(), "fixed": MotionConfig(min_threshold=25)}
    detectors: dict[str, MotionDetector] = {}
    hits = dict.fromkeys(configs, 0)
    samples = 0
    cap = cv2.VideoCapture(str(clip))  # decoded once, each sample shown to both detectors
    fps = cap.get(cv2.CAP_PROP_FPS)
    cap.set(cv2.CAP_PROP_POS_FRAMES, int(40 * fps))  # 10 s to learn the background first
    step = round(fps / SAMPLE_FPS)
    for index, frame in every_nth_frame(cap, step):
        if index >= 33 * fps:
            break
        samples += index >= 12 * fps  # 52-73 s: the person is there
        if not detectors:
            detectors = {name: MotionDetector(config, (frame.shape[1], frame.shape[0])) for name, config in configs.items()}
        for name, detector in detectors.items():
            boxes = detector.detect(frame)
            if index >= 12 * fps:
                hits[name] += any(min(b[2], person[2]) > max(b[0], person[0]) and min(b[3], person[3]) > max(b[1], person[1])
                                  for b in boxes)
    cap.release()
    seen = {name: hits[name] / max(1, samples) for name in configs}
    assert seen["fixed"] < 0.1 and seen["adaptive"] > 0.5, seen
