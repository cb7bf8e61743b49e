"""Which person a face belongs to, and how a tracked person's name is settled.

Real BlazeFace (short and full range) and the real dlib embedder on the faces-eval photos; the
person boxes are those the SSD detector gives on these photos (tests/test_replay_faces.py runs
the same photos through the whole pipeline).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import cv2
import pytest

from camwatch.config.root import CamwatchConfig
from camwatch.faces.blazeface import BlazeFaceDetector
from camwatch.faces.enrol import FaceFinder, decode_image, enrol_image
from camwatch.faces.gallery import FaceGallery
from camwatch.faces.heads import search_region
from camwatch.faces.naming import UNCERTAIN, UNKNOWN, NameVotes
from camwatch.faces.quality import clip_box, sharpness
from camwatch.faces.search import FaceSearch
from camwatch.faces.stage import FaceStage
from camwatch.track.model import TrackedObject
from tests.conftest import MODELS, SHARED, require

pytestmark = pytest.mark.one_worker  # gallery_dir (enrolment of both men, ~4 s) is made once for the file

SHORT = MODELS / "face_detection_short_range.tflite"
FULL = MODELS / "face_detection_full_range.tflite"
EVAL = SHARED / "faces-eval"
ENROL = {
    "Barack Obama": ("photos/knn/train/obama/obama.jpg", "photos/knn/train/obama/obama2.jpg"),
    "Joe Biden": ("photos/knn/train/biden/biden.jpg", "photos/knn/train/biden/biden2.jpg"),
}
# obama_and_biden.jpg (2000x1428): SSD person boxes and the faces (dlib HOG) of the two men.
BIDEN_BOX, OBAMA_BOX = (278.0, 266.0, 1110.0, 1428.0), (995.0, 135.0, 1910.0, 1407.0)
BIDEN_FACE_X, OBAMA_FACE_X = 839, 1237


def test_search_region_follows_the_box() -> None:
    # A standing person seen whole: the upper half (and a little above and beside the box).
    x1, y1, x2, y2 = search_region((100, 100, 200, 400), (1000, 1000))
    assert y2 == 250 and y1 < 100 and x1 < 100 and x2 > 200
    # The same person cut by the frame bottom (close to the camera): all of the box.
    assert search_region((100, 300, 200, 1000), (1000, 1000))[3] == 1000
    # Head and shoulders (obama1.jpg's SSD box): all of it, the face is lower than the top half.
    assert search_region((0, 23, 1354, 822), (1480, 832))[3] == 822


def test_name_needs_agreeing_matches_and_a_conflict_is_uncertain() -> None:
    votes = NameVotes(votes=2)
    assert votes.name is None  # never compared
    votes.add(None)
    assert votes.name == UNKNOWN
    votes.add("Ann", 0.61)
    assert votes.name == UNKNOWN  # one match is not a name
    votes.add("Ann", 0.66)
    assert (votes.name, votes.score) == ("Ann", 0.66)
    votes.add(None)
    votes.add("Bob", 0.7)
    assert votes.name == "Ann"  # a turned head or one stray match keeps the name
    votes.add("Bob", 0.72)
    assert (votes.name, votes.score) == (UNCERTAIN, None)  # never Bob
    for _ in range(5):
        votes.add("Bob", 0.9)
    assert votes.name == UNCERTAIN


@pytest.fixture(scope="module")
def embedder():
    require(importlib.util.find_spec("dlib") is not None, "dlib face embedder (pip install 'camwatch[faces]')")
    require(SHORT.is_file() and FULL.is_file(), f"BlazeFace models in {MODELS}")
    require((EVAL / "groundtruth.json").is_file(), f"faces-eval photos in {EVAL}")
    from camwatch.faces.embedder import load_embedder

    return load_embedder("dlib")


@pytest.fixture(scope="module")
def gallery_dir(embedder, tmp_path_factory) -> Path:
    """Obama and Biden enrolled from their faces-eval photos the way POST /api/faces does."""
    root = tmp_path_factory.mktemp("gallery")
    gallery = FaceGallery(root, embedder)
    finder = FaceFinder([SHORT, FULL])
    for name, photos in ENROL.items():
        for photo in photos:
            enrol_image(gallery, finder, name, decode_image((EVAL / photo).read_bytes()), photo)
    gallery.close()
    return root


def _stage(root: Path, embedder, faces: dict | None = None) -> FaceStage:
    config = CamwatchConfig.model_validate(
        {"cameras": {"door": {"url": "x.mp4"}}, "faces": {"recognition_interval": 0, "person_interval": 0, **(faces or {})}}
    )
    return FaceStage(config, "door", root, model_path=SHORT, face_camera_model_path=FULL, embedder=embedder)


def _person(object_id: str, box, size, seen: bool = True) -> TrackedObject:
    obj = TrackedObject(object_id, "door", "person", box, 0.7, 0.0, 0.0, size)
    obj.confirmed, obj.seen_this_frame = True, seen
    return obj


def _photo(path: str):
    image = cv2.imread(str(EVAL / path))
    assert image is not None, path
    return image, (image.shape[1], image.shape[0])


def _face_box(image, x1: float, x2: float):
    """The face BlazeFace finds between x1 and x2 of the photo."""
    search = FaceSearch([BlazeFaceDetector(SHORT), BlazeFaceDetector(FULL)])
    faces = search.find(image, (int(x1), 0, int(x2), image.shape[0]), 0.7)
    assert faces, (x1, x2)
    return faces[0].box


def _centre_x(result) -> float:
    return (result.box[0] + result.box[2]) / 2


def test_small_faces_of_a_big_photo_are_found_at_the_model_scale(embedder) -> None:
    image, _ = _photo("photos/knn/test/obama_and_biden.jpg")
    search = FaceSearch([BlazeFaceDetector(SHORT), BlazeFaceDetector(FULL)])
    # At frame scale the short-range model loses the two 190 px faces of this 2000 px photo ...
    assert search.detectors[0].detect(image, 0.7) == []
    # ... searched at a scale that suits the models, both are found.
    centres = sorted(_centre_x(f) for f in search.find(image, None, 0.7))
    assert len(centres) >= 2
    assert any(abs(c - BIDEN_FACE_X) < 60 for c in centres) and any(abs(c - OBAMA_FACE_X) < 60 for c in centres)


def test_each_face_goes_to_the_person_whose_head_it_is(gallery_dir, embedder) -> None:
    image, size = _photo("photos/knn/test/obama_and_biden.jpg")
    stage = _stage(gallery_dir, embedder)
    biden, obama = _person("biden", BIDEN_BOX, size), _person("obama", OBAMA_BOX, size)
    for ts in (0.0, 1.0):
        results = {r.object_id: r for r in stage.process(image, [biden, obama], ts)}
    assert results["biden"].name == "Joe Biden" and abs(_centre_x(results["biden"]) - BIDEN_FACE_X) < 60
    assert results["obama"].name == "Barack Obama" and abs(_centre_x(results["obama"]) - OBAMA_FACE_X) < 60

    # The tracker matches a box spanning both men to Biden's track (the larger face in it is
    # Obama's): Biden's track keeps Biden's face and name, with or without Obama's own track.
    biden.box = (BIDEN_BOX[0], OBAMA_BOX[1], OBAMA_BOX[2], BIDEN_BOX[3])
    for ts, people in ((2.0, [biden, obama]), (3.0, [biden]), (4.0, [biden])):
        results = {r.object_id: r for r in stage.process(image, people, ts)}
        assert abs(_centre_x(results["biden"]) - BIDEN_FACE_X) < 60, ts
        assert results["biden"].name == "Joe Biden", ts

    # Long after the faces were last seen, the spanning box fits Obama's face better than Biden's,
    # but Obama's own box fits only Obama's face: each face still goes to its own person.
    for ts in (20.0, 21.0):
        results = {r.object_id: r for r in stage.process(image, [biden, obama], ts)}
        assert abs(_centre_x(results["biden"]) - BIDEN_FACE_X) < 60, ts
        assert abs(_centre_x(results["obama"]) - OBAMA_FACE_X) < 60, ts
    assert (results["biden"].name, results["obama"].name) == ("Joe Biden", "Barack Obama")

    # Alone in the spanning box, with nothing to tell the two heads apart, Biden's track does get
    # Obama's face: the name goes to "uncertain", never to Obama.
    names = [r.name for ts in (40.0, 41.0, 42.0) for r in stage.process(image, [biden], ts)]
    assert "Barack Obama" not in names and names[-1] == UNCERTAIN, names


def test_a_name_never_changes_to_another_known_person(gallery_dir, embedder) -> None:
    """A track that jumps from one person to another (an ID switch) ends "uncertain"."""
    image, size = _photo("photos/examples/two_people.jpg")
    stage = _stage(gallery_dir, embedder)
    track = _person("p1", (24.0, 5.0, 548.0, 651.0), size)  # Obama, on the left
    names = [r.name for ts in (0.0, 1.0) for r in stage.process(image, [track], ts)]
    assert names[-1] == "Barack Obama" and set(names) <= {UNKNOWN, "Barack Obama"}, names
    track.box = (577.0, 10.0, 1109.0, 645.0)  # the same track id on Biden, later
    names = [r.name for ts in (10.0, 11.0, 12.0) for r in stage.process(image, [track], ts)]
    assert "Joe Biden" not in names and names[-1] == UNCERTAIN, names


def test_one_sure_match_names_at_once_and_an_ordinary_one_waits(gallery_dir, embedder) -> None:
    """A single face names the person only when the match is sure (``sure_threshold``); a match
    between the recognition threshold and that waits for a second one."""
    image, size = _photo("photos/examples/two_people.jpg")
    box = _face_box(image, 24, 548)
    x1, y1, x2, y2 = clip_box(box, image.shape[1], image.shape[0])
    detail = sharpness(image[y1:y2, x1:x2])  # as the face step measures it
    score = _stage(gallery_dir, embedder).gallery.best_match(embedder.embed(image, box), detail)
    assert score is not None and score.name == "Barack Obama"
    for sure, first in ((score.score - 0.01, "Barack Obama"), (min(1.0, score.score + 0.01), UNKNOWN)):
        stage = _stage(gallery_dir, embedder, faces={"sure_threshold": sure, "recognition_threshold": 0.5})
        track = _person("p1", (24.0, 5.0, 548.0, 651.0), size)
        assert [r.name for r in stage.process(image, [track], 0.0)] == [first], sure


def test_close_up_face_lower_than_the_top_half_is_found_and_named(gallery_dir, embedder) -> None:
    image, size = _photo("photos/knn/test/obama1.jpg")
    stage = _stage(gallery_dir, embedder)
    person = _person("p1", (0.0, 23.0, 1354.0, 822.0), size)  # head and shoulders, as SSD finds it
    results = [r for ts in (0.0, 1.0) for r in stage.process(image, [person], ts)]
    assert [r.name for r in results][-1] == "Barack Obama"
    x1, y1, x2, y2 = person.box
    assert results[-1].box[3] > y1 + 0.5 * (y2 - y1)  # the face reaches below the box's top half


def test_face_is_searched_where_it_was_when_the_box_slips_or_is_not_seen(gallery_dir, embedder) -> None:
    image, size = _photo("photos/knn/test/obama1.jpg")
    stage = _stage(gallery_dir, embedder, faces={"sure_threshold": 1.0})  # named by the second match
    person = _person("p1", (0.0, 23.0, 1354.0, 822.0), size)
    assert [r.name for r in stage.process(image, [person], 0.0)] == [UNKNOWN]
    # A re-detection caught only the lower body, then the detector skipped the still person:
    # the face is still where it was, and the second match names him.
    person.box = (0.0, 560.0, 1354.0, 822.0)
    assert [r.name for r in stage.process(image, [person], 1.0)] == ["Barack Obama"]
    person.seen_this_frame = False
    results = stage.process(image, [person], 2.0)
    assert [r.name for r in results] == ["Barack Obama"] and results[0].box[3] < 700
    # Long unseen, nothing tells where the head is: no search.
    assert stage.process(image, [person], 10.0) == []


def test_face_partly_outside_the_person_box_is_kept(embedder, shared_media, tmp_path) -> None:
    image = cv2.imread(str(shared_media / "face.jpg"))
    size = (image.shape[1], image.shape[0])
    stage = _stage(tmp_path, embedder)
    # The right man's face is at (254, 69, 355, 171); his box's top edge cuts the face in half,
    # and the box is cut by the frame's bottom.
    person = _person("p1", (219.0, 120.0, 505.0, 355.0), size)
    results = stage.process(image, [person], 0.0)
    assert len(results) == 1 and abs(_centre_x(results[0]) - 304) < 25


def test_uncertain_is_not_a_known_face_alert() -> None:
    from camwatch.comms.alerts import AlertTracker
    from camwatch.events.model import Event, EventMessage

    tracker = AlertTracker()
    event = Event(id="1.0-abc", camera="door", label="person", start_time=1.0)
    event.has_face, event.sub_label = True, UNCERTAIN
    assert tracker.alerts_for(EventMessage("update", event)) == ["person", "face"]
    event.sub_label = "Ann"
    assert tracker.alerts_for(EventMessage("update", event)) == ["known_face:Ann"]
