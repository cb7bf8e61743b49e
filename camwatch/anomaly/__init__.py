"""Anomaly alerts: camera tampering, loitering, armed schedules and unusual activity."""

from camwatch.anomaly.activity import ActivityBaseline, ActivityStoreError, Unusual
from camwatch.anomaly.events import (
    AnomalyEvents,
    instant_messages,
    loitering_event,
    make_anomaly_event,
    unusual_event,
)
from camwatch.anomaly.loitering import Loitering, LoiteringMonitor
from camwatch.anomaly.schedule import ArmSchedule
from camwatch.anomaly.tamper import ALL_STATES, TAMPER_STATES, TamperChange, TamperDetector

__all__ = [
    "ALL_STATES",
    "TAMPER_STATES",
    "ActivityBaseline",
    "ActivityStoreError",
    "AnomalyEvents",
    "ArmSchedule",
    "Loitering",
    "LoiteringMonitor",
    "TamperChange",
    "TamperDetector",
    "Unusual",
    "instant_messages",
    "loitering_event",
    "make_anomaly_event",
    "unusual_event",
]
