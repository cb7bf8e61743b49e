"""Tracker rules that keep people and drop scenery: movement, weak detections, scenery memory.

Synthetic tracks with a motion map standing in for MotionDetector.moving_share: the rules
are about geometry and evidence, so exact inputs make each one fail on its own.
"""

from __future__ import annotations

import numpy as np

from camwatch.config.camera import ObjectFilter, ObjectsConfig
from camwatch.config.tracking import TrackingConfig
from camwatch.detectors.base import Detection
from camwatch.track.movement import travel
from camwatch.track.scenery import SceneryMemory
from camwatch.track.tracker import ObjectTracker

FRAME = (1280, 720)
FULL = [(0, 0, 1280, 720)]
FPS = 5.0
COLOUR = np.dstack([np.full((72, 128), v, np.uint8) for v in (60, 120, 180)])  # a colour frame
GREY = np.full((72, 128, 3), 90, np.uint8)  # an infrared (greyscale) frame


def _tracker(**tracking) -> ObjectTracker:
    return ObjectTracker("cam", ObjectsConfig(track=["person"]), TrackingConfig(**tracking))


def _person(x: float, score: float, y: float = 300, w: float = 40, h: float = 100) -> Detection:
    return Detection("person", score, (x, y, x + w, y + h))


def _moving_where(*boxes):
    """A motion map: pixels change inside ``boxes`` (full share), nowhere else."""

    def share(box):
        for b in boxes:
            if min(box[2], b[2]) > max(box[0], b[0]) and min(box[3], b[3]) > max(box[1], b[1]):
                return 1.0
        return 0.0

    return share


def _walk(tracker, scores, step=15.0, frame=COLOUR, motion=True):
    update = None
    for i, score in enumerate(scores):
        det = _person(100 + step * i, score)
        update = tracker.update([det], i / FPS, FRAME, FULL, frame, _moving_where(det.box) if motion else None)
    return update


def test_travel_counts_shift_and_growth_in_object_heights():
    assert travel((0, 0, 40, 100), (50, 0, 90, 100)) == 0.5
    assert abs(travel((0, 0, 40, 100), (0, 0, 60, 150)) - np.log(1.5)) < 1e-9


def test_walker_scoring_like_a_small_person_is_confirmed_by_moving():
    """Scores 0.55-0.6 (a 50-90 px walker) stay under the 0.65 still threshold."""
    update = _walk(_tracker(), [0.55, 0.6, 0.55, 0.6, 0.55, 0.58])
    assert update.active[0].confirmed


def test_same_scores_without_travel_or_without_motion_are_not_confirmed():
    still = _walk(_tracker(), [0.55, 0.6, 0.55], step=0.0)
    assert not still.active[0].confirmed  # in place, pixels changing: not (yet) restless enough
    ghost = _tracker()
    for i, score in enumerate([0.55, 0.6, 0.55, 0.6, 0.55, 0.58]):
        update = ghost.update([_person(100 + 15 * i, score)], i / FPS, FRAME, FULL, COLOUR, _moving_where())
    assert not update.active[0].confirmed  # travels, but nothing moves under it: box jitter on scenery


def test_something_that_never_moved_is_never_confirmed_even_scoring_high():
    tracker = _tracker()
    for i in range(30):  # 6 s, a mannequin at 0.7
        update = tracker.update([_person(500, 0.7)], i / FPS, FRAME, FULL, COLOUR, _moving_where())
    assert update.active and not update.active[0].confirmed
    assert tracker.still_scenery(update.active[0])  # no detector call of its own


def test_person_standing_and_shifting_is_confirmed_after_enough_looks():
    tracker = _tracker()
    det = _person(500, 0.55)
    confirmed_at = None
    for i in range(20):
        update = tracker.update([det], i / FPS, FRAME, FULL, COLOUR, _moving_where(det.box))
        if update.active[0].confirmed and confirmed_at is None:
            confirmed_at = i
    assert confirmed_at == 3  # the 4th look on moving pixels (0.8 s at 5 fps)


def test_greyscale_offset_lowers_the_moving_threshold_only_on_greyscale_frames():
    scores = [0.4, 0.42, 0.38, 0.41, 0.4, 0.43]  # an infrared walker
    assert _walk(_tracker(), scores, frame=GREY).active[0].confirmed
    assert not _walk(_tracker(), scores, frame=COLOUR).active  # under min_score: never tracked
    assert not _walk(_tracker(greyscale_offset=0), scores, frame=GREY).active
    tracker = _tracker()
    for i in range(30):  # still at 0.6 on an infrared frame: the still threshold is not lowered
        update = tracker.update([_person(500, 0.6)], i / FPS, FRAME, FULL, GREY, _moving_where())
    assert not update.active[0].confirmed


def test_weak_detections_keep_an_object_but_never_start_one():
    tracker = _tracker(max_disappeared=1.0, min_misses=2)
    update = _walk(tracker, [0.7, 0.7, 0.7])
    obj = update.active[0]
    for i in range(3, 20):  # 3.4 s of 0.35 detections where it walks on
        det = _person(100 + 15 * i, 0.35)
        update = tracker.update([det], i / FPS, FRAME, FULL, COLOUR, _moving_where(det.box))
    assert [o.id for o in update.active] == [obj.id] and not update.ended
    assert obj.hits == 3  # weak detections do not vouch for it
    fresh = _tracker()
    assert not fresh.update([_person(900, 0.35)], 0.0, FRAME, FULL).active


def test_two_boxes_on_one_person_make_one_object():
    tracker = _tracker()
    update = None
    for i in range(5):
        x = 100 + 15 * i
        dets = [_person(x, 0.7), Detection("person", 0.6, (x + 5, 310, x + 40, 390))]  # whole, and upper part
        update = tracker.update(dets, i / FPS, FRAME, FULL)
    assert len(update.active) == 1


def test_no_match_between_very_different_heights():
    tracker = _tracker()
    for i in range(3):
        tracker.update([_person(500, 0.7)], i / FPS, FRAME, FULL)
    huge = Detection("person", 0.7, (400, 0, 700, 700))  # a box around half the scene, same centre area
    update = tracker.update([huge], 3 / FPS, FRAME, FULL)
    assert len(update.active) == 2


def test_a_walker_does_not_take_over_the_mannequin_they_pass():
    """The mannequin (a still 0.5 'person') is learned as scenery; when the walker is lost next
    to it, their object must not move onto it and stay there (one event stuck for 27 s)."""
    tracker = _tracker(max_disappeared=1.0, min_misses=2, reentry_seconds=0)
    mannequin = Detection("person", 0.5, (600, 300, 640, 400))
    for i in range(10):  # the mannequin alone, seen by the full-frame check
        tracker.update([mannequin], i / FPS, FRAME, FULL, COLOUR, _moving_where())
    for i in range(10, 25):  # not detected for 3 s: its own object ends
        tracker.update([], i / FPS, FRAME, FULL, COLOUR, _moving_where())
    assert not tracker.active_objects()
    walker_id = None
    for i in range(25, 43):  # a person walks up to it (hiding it)
        det = _person(300 + 15 * (i - 25), 0.7)
        update = tracker.update([det], i / FPS, FRAME, FULL, COLOUR, _moving_where(det.box))
        walker_id = next((o.id for o in update.active if o.confirmed), walker_id)
    assert walker_id is not None
    ended = []
    for i in range(43, 60):  # the walker is lost next to it; the mannequin is seen again
        update = tracker.update([mannequin], i / FPS, FRAME, FULL, COLOUR, _moving_where())
        ended += update.ended
        assert all(o.id != walker_id or o.box != mannequin.box for o in update.active)
    assert walker_id in [o.id for o in ended]


def test_confirmed_object_where_pixels_still_move_is_kept_a_while():
    tracker = _tracker(max_disappeared=1.0, min_misses=2, reentry_seconds=0)
    update = _walk(tracker, [0.7, 0.7, 0.7, 0.7], step=0.0)
    obj = update.active[0]
    assert obj.confirmed
    for i in range(4, 4 + int(2.0 * FPS)):  # 2 s: the detector misses them, pixels still change
        update = tracker.update([], i / FPS, FRAME, FULL, COLOUR, _moving_where(obj.box))
        assert not update.ended and obj.present
    ended = []
    for i in range(14, 60):
        ended += tracker.update([], i / FPS, FRAME, FULL, COLOUR, _moving_where(obj.box)).ended
    assert [o.id for o in ended] == [obj.id]  # but not for long
    other = _tracker(max_disappeared=1.0, min_misses=2, reentry_seconds=0)
    update = _walk(other, [0.7, 0.7, 0.7, 0.7], step=0.0)
    gone = []
    for i in range(4, 4 + int(2.0 * FPS)):  # nothing moves there: it ends after max_disappeared
        gone += other.update([], i / FPS, FRAME, FULL, COLOUR, _moving_where()).ended
    assert gone


def test_a_missed_object_is_no_longer_present_at_once_but_kept_for_reentry():
    """Looked for twice and not there: not shown nor counted from then on (no ghost), yet
    kept for ``reentry_seconds`` (someone stepping into the dark) before it ends."""
    tracker = _tracker(max_disappeared=1.0, min_misses=2, reentry_seconds=10.0)
    obj = _walk(tracker, [0.7, 0.7, 0.7, 0.7], step=0.0).active[0]
    assert obj.present
    tracker.update([], 4 / FPS, FRAME, FULL, COLOUR, _moving_where())
    assert obj.present and obj.misses == 1  # one miss may be the detector's
    update = tracker.update([], 5 / FPS, FRAME, FULL, COLOUR, _moving_where())
    assert obj.lost and not obj.present and obj in update.active
    ended = []
    for i in range(6, 5 + int(12 * FPS)):
        ended += tracker.update([], i / FPS, FRAME, FULL, COLOUR, _moving_where()).ended
        if ended:
            assert i / FPS - obj.last_seen >= 10.0
            break
    assert ended == [obj] and obj.last_seen == 3 / FPS  # its event ends at the last sighting


def test_scenery_memory_learns_still_places_and_forgets_old_ones():
    memory = SceneryMemory(learn_sightings=3, forget_after=60.0)
    still = Detection("person", 0.45, (10, 10, 50, 110))
    for ts in (0.0, 0.2, 0.2, 0.4):  # one sighting per frame
        assert not memory.is_scenery(still)
        memory.observe(still, ts)
    assert memory.is_scenery(still)
    assert memory.is_scenery(Detection("person", 0.4, (12, 12, 52, 112)))  # jitter: same place
    assert not memory.is_scenery(Detection("person", 0.45, (200, 10, 240, 110)))
    assert not memory.is_scenery(Detection("car", 0.45, (10, 10, 50, 110)))
    memory.forget_old(61.0)
    assert not memory.is_scenery(still)


def test_confirm_threshold_for_still_objects_is_unchanged():
    objects = ObjectsConfig(track=["person"], filters={"person": ObjectFilter(threshold=0.6)})
    tracker = ObjectTracker("cam", objects, TrackingConfig())
    for i in range(3):  # no motion information at all (motion detection off): the old rule
        update = tracker.update([_person(500, 0.62)], i / FPS, FRAME, FULL)
    assert update.active[0].confirmed
