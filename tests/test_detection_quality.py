"""The detection-quality scorer counts right on hand-made cases (the rule of ../shared/eval/README.md)."""

from __future__ import annotations

import pytest

from benchmarks.quality_score import percentile, score_clip, totals

CLIP = {
    "expected_zero_person_events": False,
    "visits": [
        {"id": "A", "start": 2.0, "end": 10.0, "required": True},
        {"id": "B", "start": 20.0, "end": 30.0, "required": True},
        {"id": "C", "start": 40.0, "end": 45.0, "required": False},
        {"id": "D", "start": 60.0, "end": 70.0, "required": True},
    ],
}


def test_found_missed_false_and_split():
    events = [
        (3.5, 9.0),  # A, 1.5 s after it started
        (10.8, 12.0),  # touches A's window (end + 1 s): A's second event -> A split
        (19.2, 24.0),  # B, starts inside the tolerance: latency 0
        (25.0, 44.0),  # B, and C: not false (overlaps visits, only 9 s outside every window)
        (41.0, 58.0),  # C (not required), then 12 s on nothing: false (stuck on scenery)
        (50.0, 52.0),  # overlaps no visit: false
    ]
    score = score_clip("clip", CLIP, events)
    assert (score.required, score.found, score.missed) == (3, 2, ["D"])
    assert score.recall == pytest.approx(2 / 3)
    assert score.events == 6
    assert score.false_events == 2
    assert score.false_spans == [(41.0, 58.0), (50.0, 52.0)]
    assert score.precision == pytest.approx(4 / 6)
    # A holds two events, and so does B (19.2-24 and 25-44; C, not required, gets none)
    assert score.split_visits == 2
    assert score.latencies == [pytest.approx(1.5), 0.0]


def test_two_people_crossing_are_not_a_split():
    clip = {"visits": [{"id": "A", "start": 0.0, "end": 18.7, "required": True},
                       {"id": "B", "start": 6.5, "end": 19.0, "required": True}]}
    score = score_clip("crossing", clip, [(4.0, 18.0), (7.0, 19.2)])
    assert (score.found, score.false_events, score.split_visits) == (2, 0, 0)
    assert score.latencies == [pytest.approx(4.0), pytest.approx(0.5)]
    three = score_clip("crossing", clip, [(4.0, 18.0), (7.0, 12.0), (13.0, 19.2)])
    assert three.split_visits == 1


def test_one_event_never_finds_a_visit_it_does_not_touch():
    clip = {"visits": [{"id": "A", "start": 5.0, "end": 6.0, "required": True}]}
    assert score_clip("c", clip, [(7.1, 8.0)]).found == 0  # 0.1 s after the window
    assert score_clip("c", clip, [(7.0, 8.0)]).found == 1  # touches the window's end


def test_empty_clip_every_event_is_false():
    score = score_clip("empty", {"expected_zero_person_events": True, "visits": []}, [(1.0, 2.0), (3.0, 30.0)])
    assert (score.required, score.events, score.false_events, score.precision) == (0, 2, 2, 0.0)
    assert score_clip("empty", {"expected_zero_person_events": True, "visits": []}, []).precision is None


def test_counts_compare_the_nearest_processed_frame():
    clip = {"visits": None, "people_per_frame": {"0": 3, "5": 6, "10": 5}}
    counts = {0.0: 3, 0.2: 4, 4.8: 4, 5.2: 7, 9.0: 1}  # nothing within 0.5 s of 10 s
    score = score_clip("campus", clip, [(0.0, 9.0)], counts)
    assert not score.scored
    assert score.counts == [(0.0, 3, 3), (5.0, 6, 4), (10.0, 5, None)]
    data = score.to_dict()
    assert data["count_ratio"] == pytest.approx(7 / 9)
    assert data["counts_within"] == pytest.approx(0.5)


def test_totals_skip_unscored_clips_and_count_empty_clip_events():
    scores = [
        score_clip("a", CLIP, [(3.0, 9.0), (50.0, 52.0)]),
        score_clip("empty", {"expected_zero_person_events": True, "visits": []}, [(1.0, 2.0)]),
        score_clip("campus", {"visits": None, "people_per_frame": {"0": 3}}, [(0.0, 5.0)] * 4, {0.0: 3}),
    ]
    t = totals(scores)
    assert (t.required, t.found, t.events, t.false_events, t.empty_clip_events) == (3, 1, 3, 2, 1)
    assert t.precision == pytest.approx(1 / 3)
    assert t.split_share == 0.0


def test_first_alert_and_events_per_visit():
    clip = {"visits": [{"id": "A", "start": 2.0, "end": 10.0, "required": True},
                       {"id": "B", "start": 20.0, "end": 30.0, "required": True},
                       {"id": "C", "start": 40.0, "end": 45.0, "required": True}]}
    # A: one event, alerted 1.5 s after its start (the event began at 2.5, confirmed later);
    # B: two events, the second alerts first; C: an event that never alerted (disarmed)
    events = [(2.5, 9.0), (20.5, 24.0), (25.0, 30.0), (40.0, 44.0)]
    score = score_clip("c", clip, events, alerts=[3.5, 27.0, 25.5, None])
    assert [(v.id, v.events, v.first_alert) for v in score.per_visit] == [
        ("A", 1, pytest.approx(1.5)), ("B", 2, pytest.approx(5.5)), ("C", 1, None)]
    assert score.first_alerts == [pytest.approx(1.5), pytest.approx(5.5)]
    assert score.unalerted == ["C"]
    assert score.latencies == [pytest.approx(0.5), pytest.approx(0.5), 0.0]
    assert (score.split_visits, score.merged_visits) == (1, 0)
    t = totals([score])
    assert t.visit_events == 4
    assert t.to_dict()["first_alert_p90"] == pytest.approx(1.5 + 0.9 * 4.0)


def test_one_event_over_two_visits_one_after_the_other_is_a_merge():
    clip = {"visits": [{"id": "1", "start": 5.0, "end": 20.0, "required": True},
                       {"id": "2", "start": 23.0, "end": 44.0, "required": True}]}
    score = score_clip("one-by-one", clip, [(5.5, 40.0)], alerts=[6.0])
    assert (score.found, score.split_visits, score.merged_visits) == (2, 0, 1)
    assert [v.events for v in score.per_visit] == [0, 1]
    # the one alert went out during the first visit: the second visitor raised none
    assert [v.first_alert for v in score.per_visit] == [pytest.approx(1.0), None]
    assert score.unalerted == ["2"]
    assert totals([score]).unalerted_visits == 1


def test_percentile_interpolates_between_ranks():
    assert percentile([], 90) is None
    assert percentile([3.0], 90) == 3.0
    assert percentile([0.0, 1.0, 2.0, 10.0], 90) == pytest.approx(2.0 + 0.7 * 8.0)


def test_an_alert_for_someone_else_in_view_is_not_the_visits_own():
    clip = {"visits": [{"id": "A", "start": 0.0, "end": 18.0, "required": True},
                       {"id": "C", "start": 0.0, "end": 9.0, "required": False}]}
    # the event of C (not required) alerts at 2.8 s while A is in view; A's own event at 4.0 s
    score = score_clip("c", clip, [(0.6, 8.5), (3.4, 17.2)], alerts=[2.8, 4.0])
    [a] = score.per_visit
    assert (a.events, a.first_alert, a.own_alert) == (1, pytest.approx(2.8), pytest.approx(4.0))
    assert totals([score]).to_dict()["own_alert_p90"] == pytest.approx(4.0)
