"""Armed modes and schedules with a simulated clock."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest
from pydantic import ValidationError

from camwatch.anomaly.schedule import ArmSchedule
from camwatch.config.anomaly import AlertsConfig
from camwatch.control import ControlState

UTC = timezone.utc


def _ts(day: int, hour: int, minute: int = 0) -> float:
    """2024-01-01 is a Monday: day 1 = mon ... 7 = sun."""
    return datetime(2024, 1, day, hour, minute, tzinfo=UTC).timestamp()


def _schedule(tmp_path: Path, windows: list[dict], armed: bool = True) -> tuple[ArmSchedule, ControlState]:
    alerts = AlertsConfig.model_validate({"armed": armed, "schedules": windows})
    control = ControlState(tmp_path / "control.json", {"front": {"zones": {}}}, armed=alerts.armed)
    return ArmSchedule(alerts, control, clock=lambda: _ts(1, 12), tz=UTC), control


def test_night_window_crosses_midnight(tmp_path: Path) -> None:
    sched, _ = _schedule(tmp_path, [{"days": ["fri"], "start": "22:00", "end": "06:30", "labels": ["person"]}])
    assert sched.alerts_enabled("person", _ts(5, 23, 15))  # Friday night
    assert sched.alerts_enabled("person", _ts(6, 3, 12))  # early Saturday belongs to Friday's window
    assert not sched.alerts_enabled("person", _ts(6, 6, 30))  # end is exclusive
    assert not sched.alerts_enabled("person", _ts(6, 23, 0))  # Saturday night is not armed
    assert not sched.alerts_enabled("person", _ts(5, 3, 0))  # Friday early morning = Thursday's window
    assert not sched.alerts_enabled("person", _ts(5, 12, 0))
    assert sched.alerts_enabled("car", _ts(5, 12, 0))  # no window names car: always armed


def test_days_of_week_and_all_label_windows(tmp_path: Path) -> None:
    sched, _ = _schedule(tmp_path, [{"days": ["Monday", "tue", "wed", "thu", "fri"], "start": "08:00", "end": "17:00"}])
    assert sched.alerts_enabled("person", _ts(3, 9))  # Wednesday, at work
    assert sched.alerts_enabled("dog", _ts(3, 16, 59))
    assert not sched.alerts_enabled("car", _ts(3, 17, 0))
    assert not sched.alerts_enabled("person", _ts(6, 9))  # Saturday
    assert sched.status(_ts(3, 9))["windows"][0]["open"] is True
    assert sched.alerts_enabled("person") is True  # no ts: the injected clock, Monday 12:00
    sched2, _ = _schedule(tmp_path / "b", [{"days": ["tue"], "start": "08:00", "end": "17:00"}])
    assert sched2.alerts_enabled("person") is False


def test_disarmed_silences_alerts_but_tamper_still_alerts(tmp_path: Path) -> None:
    sched, control = _schedule(tmp_path, [])
    assert sched.alerts_enabled("person", _ts(2, 3))
    control.set(None, "armed", False)  # as MQTT / the API / the UI would
    assert not sched.alerts_enabled("person", _ts(2, 3))
    assert not sched.alerts_enabled("loitering", _ts(2, 3))
    assert sched.alerts_enabled("covered", _ts(2, 3))
    # The switch survives a restart (persisted by ControlState).
    again = ControlState(tmp_path / "control.json", {"front": {"zones": {}}}, armed=True)
    assert again.armed is False


def test_disarmed_events_are_recorded_with_alerted_false(tmp_path: Path) -> None:
    from camwatch.anomaly.events import make_anomaly_event

    sched, control = _schedule(tmp_path, [], armed=False)
    ts = _ts(2, 3)
    event = make_anomaly_event("front", "loitering", "medium", "Person loitering.", ts, alerted=sched.alerts_enabled("loitering", ts))
    assert event.kind == "anomaly" and event.alerted is False


@pytest.mark.parametrize(
    "window, message",
    [
        ({"days": ["funday"]}, "unknown day"),
        ({"start": "25:00"}, "HH:MM"),
        ({"start": "07:00", "end": "07:00"}, "empty"),
        ({"days": []}, "at least one day"),
        ({"labels": ["person"], "colour": "red"}, "Extra inputs"),
    ],
)
def test_bad_windows_are_clear_errors(window: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        AlertsConfig.model_validate({"schedules": [window]})
