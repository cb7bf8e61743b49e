"""Armed modes and schedules: whether an event of a label may raise an alert now.

Alerts need the global ``armed`` switch (MQTT, API, UI; camwatch.control.ControlState) on
AND, for a label that some schedule window names (or that an all-labels window covers),
the local time inside one of its windows. A label named by no window is armed all day.
Events are always recorded; only the alert is silenced.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta, tzinfo
from typing import Any

from camwatch.anomaly.tamper import TAMPER_STATES
from camwatch.config.anomaly import WEEKDAYS, AlertsConfig, ScheduleWindow
from camwatch.control import ControlState

# Anomaly labels that count as tampering (``tamper_always`` lets them through).
TAMPER_LABELS = frozenset((*TAMPER_STATES, "tamper"))


def _in_window(window: ScheduleWindow, when: datetime) -> bool:
    start, end = window.minutes()
    minute = when.hour * 60 + when.minute
    today = WEEKDAYS[when.weekday()]
    if start < end:
        return today in window.days and start <= minute < end
    # Crosses midnight: the evening part belongs to today, the morning part to yesterday.
    yesterday = WEEKDAYS[(when - timedelta(days=1)).weekday()]
    return (today in window.days and minute >= start) or (yesterday in window.days and minute < end)


class ArmSchedule:
    def __init__(
        self,
        alerts: AlertsConfig,
        control: ControlState,
        clock: Callable[[], float] = time.time,
        tz: tzinfo | None = None,
    ) -> None:
        """``tz`` None means the machine's local time zone."""
        self._alerts = alerts
        self._control = control
        self._clock = clock
        self._tz = tz

    def _windows_for(self, label: str) -> list[ScheduleWindow]:
        return [w for w in self._alerts.schedules if not w.labels or label in w.labels]

    def alerts_enabled(self, label: str, ts: float | None = None) -> bool:
        """May an event of ``label`` (or an anomaly subtype) at ``ts`` raise an alert?"""
        if self._alerts.tamper_always and label in TAMPER_LABELS:
            return True
        if not self._control.armed:
            return False
        windows = self._windows_for(label)
        if not windows:
            return True
        when = datetime.fromtimestamp(self._clock() if ts is None else ts, self._tz)
        return any(_in_window(w, when) for w in windows)

    def status(self, ts: float | None = None) -> dict[str, Any]:
        """For the UI/API: the armed switch and which schedule windows are open now."""
        when = datetime.fromtimestamp(self._clock() if ts is None else ts, self._tz)
        return {
            "armed": self._control.armed,
            "windows": [
                {"days": w.days, "start": w.start, "end": w.end, "labels": w.labels, "open": _in_window(w, when)}
                for w in self._alerts.schedules
            ],
        }
