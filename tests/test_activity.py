"""Unusual activity: decayed hour-of-week baselines with a simulated clock."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from camwatch.anomaly.activity import ActivityBaseline, ActivityStoreError
from camwatch.anomaly.events import instant_messages, unusual_event
from camwatch.anomaly.simulate import sample_clip
from camwatch.config.anomaly import UnusualActivityConfig

UTC = timezone.utc
START = datetime(2024, 1, 1, tzinfo=UTC)  # a Monday


class Clock:
    def __init__(self, when: datetime) -> None:
        self.now = when.timestamp()

    def __call__(self) -> float:
        return self.now


def _daytime_history(weeks: int, per_hour: int = 2) -> list[tuple[str, str, float]]:
    """People every day 08:00-19:59 only, ``per_hour`` per hour."""
    events = []
    for day in range(weeks * 7):
        for hour in range(8, 20):
            for k in range(per_hour):
                when = START + timedelta(days=day, hours=hour, minutes=5 + 20 * k)
                events.append(("porch", "person", when.timestamp()))
    return events


def _baseline(path: Path, clock: Clock, **cfg) -> ActivityBaseline:
    return ActivityBaseline(path, UnusualActivityConfig(**cfg), clock=clock, tz=UTC)


def test_night_person_is_unusual_day_person_is_not(tmp_path: Path) -> None:
    clock = Clock(START + timedelta(weeks=4))
    base = _baseline(tmp_path / "activity.db", clock)
    assert base.seed(_daytime_history(4)) == 4 * 7 * 12 * 2
    assert base.seed(_daytime_history(4)) == 0  # seeding twice does not double count
    tuesday_night = (START + timedelta(weeks=4, days=1, hours=3, minutes=12)).timestamp()
    found = base.assess("porch", "person", tuesday_night)
    assert found is not None
    assert found.description == "person at 03:12 on a Tuesday; usually 0.00 per hour at this time."
    tuesday_noon = (START + timedelta(weeks=4, days=1, hours=12)).timestamp()
    assert base.assess("porch", "person", tuesday_noon) is None
    assert 1.5 < base.rate("porch", "person", tuesday_noon) < 2.5
    assert base.assess("porch", "car", tuesday_night) is not None  # never seen at all
    assert base.assess("porch", "dog", tuesday_night) is None  # not a learned label


def test_rare_but_known_activity_states_its_rate(tmp_path: Path) -> None:
    clock = Clock(START + timedelta(weeks=8))
    events = _daytime_history(8)
    # A night walk at 02:30 on a Wednesday, twice in 8 weeks.
    events += [("porch", "person", (START + timedelta(weeks=w, days=2, hours=2, minutes=30)).timestamp()) for w in (1, 5)]
    base = _baseline(tmp_path / "a.db", clock, half_life_days=1000, probability=0.2)
    base.seed(events)
    found = base.assess("porch", "person", (START + timedelta(weeks=8, days=2, hours=2, minutes=40)).timestamp())
    assert found is not None and 0.05 < found.rate < 0.2 and found.probability < 0.2
    assert "usually 0.1" in found.description
    strict = _baseline(tmp_path / "b.db", clock, half_life_days=1000, probability=0.05)
    strict.seed(events)
    assert strict.assess("porch", "person", (START + timedelta(weeks=8, days=2, hours=2, minutes=40)).timestamp()) is None
    zscore = _baseline(tmp_path / "c.db", clock, half_life_days=1000, z_threshold=3.0)
    zscore.seed(events)
    assert zscore.assess("porch", "person", (START + timedelta(weeks=8, days=3, hours=3)).timestamp()) is not None


def test_learning_period_decay_cooldown_and_persistence(tmp_path: Path) -> None:
    clock = Clock(START)
    path = tmp_path / "activity.db"
    base = _baseline(path, clock, min_learning_days=7, half_life_days=7, cooldown=3600)
    base.register_camera("porch")
    clock.now = (START + timedelta(days=3, hours=3)).timestamp()
    assert base.process("porch", "person") is None  # still learning
    # Four weeks of night activity, then a month of silence: decay makes night rare again.
    for day in range(28):
        clock.now = (START + timedelta(days=day, hours=3, minutes=10)).timestamp()
        base.observe("porch", "person")
    clock.now = (START + timedelta(days=28, hours=3, minutes=20)).timestamp()
    assert base.process("porch", "person") is None  # nights are normal now
    base.close()
    reopened = _baseline(path, clock, min_learning_days=7, half_life_days=7, cooldown=3600)
    assert reopened.rate("porch", "person") > 0.5  # persisted in the store
    clock.now = (START + timedelta(days=120, hours=3, minutes=5)).timestamp()
    first = reopened.process("porch", "person")
    assert first is not None and first.rate < 0.01
    clock.now += 60
    assert reopened.process("porch", "person") is None  # cooldown
    clock.now += 2 * 86400  # cooldown over; another night, another weekday
    assert reopened.process("porch", "person") is not None


def test_not_a_database_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "activity.db"
    bad.write_text("this is not sqlite " * 100)
    with pytest.raises(ActivityStoreError, match="activity.db"):
        _baseline(bad, Clock(START))
    assert bad.read_text().startswith("this is not sqlite")  # nothing lost


def test_real_clip_person_events_replayed_at_an_unusual_hour(tmp_path: Path, shared_media: Path, detector) -> None:
    """Person events from the real detector on a real clip, replayed on a Tuesday night."""
    events: list[float] = []
    present = False
    for ts, frame in sample_clip(shared_media / "one-by-one-person-detection.mp4", fps=1.0):
        seen = any(d.label == "person" and d.score >= 0.6 for d in detector.detect(frame))
        if seen and not present:
            events.append(ts)  # a new person event starts
        present = seen
    assert len(events) >= 2, events
    clock = Clock(START + timedelta(weeks=4))
    base = _baseline(tmp_path / "activity.db", clock)
    base.seed(_daytime_history(4))
    night = (START + timedelta(weeks=4, days=1, hours=3, minutes=12)).timestamp()
    alerts = [base.process("porch", "person", night + offset) for offset in events]
    found = [a for a in alerts if a is not None]
    assert len(found) == 1  # one alert, the rest within the cooldown
    assert found[0].description.startswith("person at 03:12 on a Tuesday")
    new, end = instant_messages(unusual_event(found[0]))
    assert new.event.kind == "anomaly" and new.event.label == "unusual_activity"
    assert new.event.description == found[0].description and end.type == "end"
    noon = (START + timedelta(weeks=4, days=1, hours=12)).timestamp()
    assert [base.process("porch", "person", noon + offset) for offset in events] == [None] * len(events)
