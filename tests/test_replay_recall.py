"""`camwatch replay` on real surveillance footage (../shared/eval): small and night-time people
become events, an empty street does not. Ground truth: ../shared/eval/groundtruth.json.

The whole set is scored by benchmarks/detection_quality.py; these are the three cases that
each mechanism has to keep: a 50-90 px walker (confirmed because they move), an infrared
person by a fence (motion threshold that follows contrast, greyscale thresholds), and a
street where only the light and foliage change (no scenery event).
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import SHARED, require
from tests.test_replay import object_events, replay

EVAL = SHARED / "eval"


def _truth(clip: str) -> dict:
    require((EVAL / "groundtruth.json").is_file(), "ground truth ../shared/eval/groundtruth.json")
    require((EVAL / "clips" / clip).is_file(), f"eval clip {clip}")
    return json.loads((EVAL / "groundtruth.json").read_text())["clips"][clip]


@pytest.mark.parametrize("clip", ["caviar_leave1.mpg", "night_ir_yard.mp4"])
def test_required_visits_become_person_events(clip, ssd_model):
    truth = _truth(clip)
    messages, summary = replay(EVAL / "clips" / clip)
    base = summary["start_time"]
    spans = [(e["start_time"] - base, e["end_time"] - base) for e in object_events(messages)]
    windows = [(v["start"] - 1, v["end"] + 1) for v in truth["visits"]]
    for visit in (v for v in truth["visits"] if v["required"]):
        assert any(s <= visit["end"] + 1 and e >= visit["start"] - 1 for s, e in spans), (visit["id"], spans)
    for s, e in spans:  # no event on nothing, none stuck on scenery
        assert any(s <= b and e >= a for a, b in windows), spans


def test_empty_street_with_light_changes_gives_no_person_event(ssd_model):
    assert _truth("street_brightness.avi")["expected_zero_person_events"]
    messages, _ = replay(EVAL / "clips" / "street_brightness.avi")
    assert object_events(messages) == []
