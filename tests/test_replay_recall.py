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
from tests.support.replays import replay
from tests.test_replay import object_events

EVAL = SHARED / "eval"


def _truth(clip: str) -> dict:
    require((EVAL / "groundtruth.json").is_file(), "ground truth ../shared/eval/groundtruth.json")
    require((EVAL / "clips" / clip).is_file(), f"eval clip {clip}")
    return json.loads((EVAL / "groundtruth.json").read_text())["clips"][clip]


@pytest.mark.slow
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


def test_walker_at_the_back_of_the_shop_alerts_while_still_small(default_model):
    """A man 20-45 px tall walking forward from the back of a shop, half hidden by racks, in a
    384x288 view. The default detector finds him only with enough scene around him and without
    enlarging the crop past 2x, and he is confirmed once four looks saw him on changing pixels
    (he walks towards the camera: little travel). Before both rules his alert came 5.6 s after
    his visit started, 2 s after he stood clearly in the shop entrance."""
    import argparse

    from benchmarks.detection_quality import run_clip
    from benchmarks.quality_score import score_clip

    clip = "caviar_leave1.mpg"
    truth = _truth(clip)
    args = argparse.Namespace(config=None, camera=None, model=None, model_path=default_model, labels_path=None,
                              set=[])
    run = run_clip(args, EVAL / "clips" / clip)
    score = score_clip(clip, truth, run.events, run.counts, run.alerts)
    assert (score.found, score.false_events, score.split_visits) == (1, 0, 0), run.events
    [visit] = score.per_visit
    assert visit.events == 1
    assert visit.first_alert is not None and visit.first_alert <= 3.5, (run.events, run.alerts)
