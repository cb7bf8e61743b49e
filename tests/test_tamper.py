"""Tamper detection on real clips with real tampering applied (covering, blur, moves, freezes)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from camwatch.anomaly.simulate import EXPECTED_STATE, KINDS, Scenario, cover, sample_clip
from camwatch.anomaly.tamper import TamperChange, TamperDetector
from camwatch.config.anomaly import TamperConfig
from camwatch.events.model import EventMessage
from tests.conftest import DARK_PEOPLE_CLIPS, LIGHT_CLIPS

TAMPER_CLIPS = ("one-by-one-person-detection.mp4", "highway_cctv_video02.avi", "car-detection.mp4")
START = 6.0


def _run(detector: TamperDetector, frames) -> list[TamperChange]:
    changes: list[TamperChange] = []
    for ts, frame in frames:
        changes.extend(detector.update(frame, ts))
    return changes


@pytest.mark.parametrize("clip", TAMPER_CLIPS)
@pytest.mark.parametrize("kind", KINDS)
def test_tampering_is_detected_in_time_with_its_type(shared_media: Path, clip: str, kind: str) -> None:
    config = TamperConfig()
    expected = EXPECTED_STATE[kind]
    persistence = getattr(config.persistence, expected)
    scenario = Scenario(kind, START, 0.0 if kind == "freeze" else 1.5)
    frames = scenario.apply(sample_clip(shared_media / clip, max_seconds=scenario.complete + persistence + 3))
    changes = _run(TamperDetector(config, camera="test"), frames)
    fired = [c for c in changes if c.active and c.is_tamper]
    assert fired, f"{kind} on {clip} was not detected"
    first = fired[0]
    assert first.state == expected, f"{kind} on {clip} reported as {first.state}: {first.description}"
    assert scenario.start < first.ts <= scenario.complete + persistence + 2.0
    assert first.severity in {"medium", "high"}
    assert first.description.endswith(".") and len(first.description) > 20


@pytest.mark.parametrize("clip", [*LIGHT_CLIPS, *DARK_PEOPLE_CLIPS])
def test_light_changes_raise_no_tamper_alert(shared_media: Path, clip: str) -> None:
    changes = _run(TamperDetector(TamperConfig(), camera="test"), sample_clip(shared_media / clip))
    tamper = [c.description for c in changes if c.active and c.is_tamper]
    assert tamper == [], f"{clip}: {tamper}"
    for change in changes:
        assert change.state == "view_dark" and change.severity == "low"


def test_ordinary_clips_raise_nothing(shared_media: Path) -> None:
    for clip in ("walking-by.h264", "one-by-one-person-detection.mp4", "highway_cctv_video02.avi", "car-detection.mp4"):
        changes = _run(TamperDetector(TamperConfig(), camera="test"), sample_clip(shared_media / clip))
        assert [c.description for c in changes] == [], clip


def test_cover_clears_on_recovery_and_a_repeat_within_the_cooldown_still_fires(shared_media: Path) -> None:
    config = TamperConfig(cooldown=8.0)
    detector = TamperDetector(config, camera="test")
    changes: list[tuple[float, TamperChange]] = []
    for ts, frame in sample_clip(shared_media / "highway_cctv_video02.avi"):
        covered = 5.0 <= ts < 11.0 or ts >= 13.0
        image = cover(frame, 1.0, (90, 90, 90)) if covered else frame
        changes.extend((ts, c) for c in detector.update(image, ts))
    states = [(c.state, c.active) for _, c in changes]
    assert states == [("covered", True), ("covered", False), ("covered", True)], states
    on1, off, on2 = (ts for ts, _ in changes)
    assert 8.0 <= on1 <= 10.0
    assert 11.0 < off <= 11.0 + config.clear_seconds + 0.5
    # the repeat is reported as soon as it has lasted its persistence, marked as a repeat
    assert 13.0 + config.persistence.covered <= on2 < off + config.cooldown
    assert (changes[0][1].repeat, changes[2][1].repeat) == (0, 1)
    assert "again" in changes[2][1].description
    assert "recovered" in changes[1][1].description


def test_dark_cloth_pulled_over_the_lens_is_a_cover_not_darkness(shared_media: Path) -> None:
    scenario = Scenario("cover_grey", START, 2.0)
    frames = (
        (ts, cover(frame, (ts - START) / 2.0, (5, 5, 5)) if ts >= START else frame)
        for ts, frame in sample_clip(shared_media / "one-by-one-person-detection.mp4", max_seconds=16)
    )
    changes = _run(TamperDetector(TamperConfig(), camera="test"), frames)
    assert [c.state for c in changes if c.active] == ["covered"]
    assert changes[0].ts <= scenario.complete + 3.0 + 2.0


def test_offline_fires_and_clears_and_frames_after_a_gap_are_not_frozen() -> None:
    from camwatch.anomaly.events import AnomalyEvents

    config = TamperConfig()
    config.persistence.offline = 5.0
    detector = TamperDetector(config, camera="gate")
    events = AnomalyEvents("gate", (320, 240))
    rng = np.random.default_rng(1)
    still = rng.integers(0, 255, (240, 320, 3), dtype=np.uint8)
    assert detector.update(still, 0.0) == []
    assert detector.set_offline(1.0) == []
    assert detector.poll(4.0) == []
    (fired,) = detector.poll(6.5)
    assert (fired.state, fired.active, fired.is_tamper) == ("offline", True, True)
    message = events.on_tamper(fired)
    assert isinstance(message, EventMessage) and message.type == "new"
    assert message.event.kind == "anomaly" and message.event.label == "offline" and message.event.subtype == "offline"
    (cleared,) = detector.set_online(9.0)
    assert not cleared.active and "back online" in cleared.description
    end = events.on_tamper(cleared)
    assert end is not None and end.type == "end" and end.event.end_time == 9.0
    assert detector.update(still, 9.2) == []  # the same picture again after a gap is not "frozen"


def test_bad_frame_size_config_is_rejected() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="sample_width"):
        TamperConfig(sample_width=10)
    with pytest.raises(ValidationError, match="unknown|Extra"):
        TamperConfig.model_validate({"persistance": {}})


def test_a_camera_cut_twice_within_the_cooldown_raises_two_offline_events() -> None:
    from camwatch.anomaly.events import AnomalyEvents

    config = TamperConfig(cooldown=60.0)
    detector = TamperDetector(config, camera="gate")
    events = AnomalyEvents("gate", (320, 240))
    news = []
    for cut, back in ((10.0, 20.0), (51.0, 55.0)):  # the second cut 31 s after the first cleared
        for change in [*detector.set_offline(cut), *detector.poll(cut + 1.0), *detector.set_online(back)]:
            message = events.on_tamper(change)
            if message is not None and message.type == "new":
                news.append(message.event)
    assert [e.subtype for e in news] == ["offline", "offline"]
    assert news[0].id != news[1].id
    assert (news[0].attributes["repeat"], news[1].attributes["repeat"]) == (0, 1)


def test_an_ongoing_anomaly_is_updated_and_a_crash_closes_it_at_its_last_update(tmp_path: Path) -> None:
    from camwatch.anomaly.events import UPDATE_INTERVAL, AnomalyEvents
    from camwatch.const import TOPIC_EVENT
    from camwatch.events.store import EventStore

    config = TamperConfig()
    detector = TamperDetector(config, camera="gate")
    events = AnomalyEvents("gate", (320, 240))
    store = EventStore(tmp_path / "camwatch.db", tmp_path / "snapshots")
    try:
        start = 1000.0
        messages = [events.on_tamper(c) for c in detector.set_offline(start)]
        ts = start
        while ts < start + 95.0:  # the camera stays away; camwatch polls about once a second
            ts += 1.0
            messages += [events.on_tamper(c) for c in detector.poll(ts)]
            messages += events.refresh(ts)
        messages = [m for m in messages if m is not None]
        assert [m.type for m in messages][:1] == ["new"]
        updates = [m for m in messages if m.type == "update"]
        assert len(updates) >= 95.0 // UPDATE_INTERVAL - 1
        for message in messages:
            store.handle(TOPIC_EVENT, message)
        # camwatch is killed here: the next start closes the event at its last update
        (ended,) = store.end_open_events("restarted", start + 3600.0)
        assert ended.end_time - ended.start_time >= 95.0 - UPDATE_INTERVAL
        assert ended.end_time <= ts
    finally:
        store.close()
