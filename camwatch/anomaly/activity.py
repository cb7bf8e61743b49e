"""Unusual activity: a per camera, label and hour-of-week baseline of event counts.

Counts decay exponentially (``half_life_days``) and live in ``<data_dir>/activity.db``.
The expected rate at an hour of the week is its decayed count (smoothed with the
neighbouring hours) divided by the decayed number of weeks observed. An event is unusual
when, after ``min_learning_days``, the chance of at least one such event in that hour,
``1 - exp(-rate)``, is below ``probability`` (or its Poisson z-score exceeds
``z_threshold``).
"""

from __future__ import annotations

import logging
import math
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, tzinfo
from pathlib import Path

from camwatch.anomaly import explain
from camwatch.config.anomaly import UnusualActivityConfig
from camwatch.datafiles import DataFileError, data_file_error, open_database

_LOGGER = logging.getLogger(__name__)

WEEK = 7 * 24 * 3600.0
HOURS_PER_WEEK = 168
_WHAT = "the activity baseline"
_NEIGHBOUR_WEIGHT = 0.5

_SCHEMA = """
CREATE TABLE IF NOT EXISTS activity_counts (
    camera TEXT NOT NULL, label TEXT NOT NULL, hour_of_week INTEGER NOT NULL,
    weight REAL NOT NULL, updated REAL NOT NULL,
    PRIMARY KEY (camera, label, hour_of_week)
);
CREATE TABLE IF NOT EXISTS activity_cameras (camera TEXT PRIMARY KEY, first_time REAL NOT NULL);
"""


class ActivityStoreError(DataFileError):
    """The activity database cannot be opened or is not a camwatch activity store."""


@dataclass(frozen=True, slots=True)
class Unusual:
    camera: str
    label: str
    ts: float
    rate: float  # expected events per hour at this hour of the week
    probability: float  # chance of at least one such event in that hour
    z: float
    description: str


class ActivityBaseline:
    def __init__(
        self,
        path: Path,
        config: UnusualActivityConfig,
        clock: Callable[[], float] = time.time,
        tz: tzinfo | None = None,
    ) -> None:
        self._cfg = config
        self._clock = clock
        self._tz = tz
        self._decay = math.log(2) / (config.half_life_days * 86400.0)
        self._lock = threading.Lock()
        self._last_alert: dict[tuple[str, str], float] = {}
        try:
            self._db = open_database(path, _WHAT, check_same_thread=False)
        except DataFileError as exc:
            raise ActivityStoreError(str(exc), exc.path) from None
        try:
            self._db.executescript(_SCHEMA)
        except sqlite3.Error as exc:
            self._db.close()
            raise ActivityStoreError(str(data_file_error(path, exc, _WHAT)), path) from None
        self.path = path

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # ---------------------------------------------------------------- learning
    def hour_of_week(self, ts: float) -> int:
        when = datetime.fromtimestamp(ts, self._tz)
        return when.weekday() * 24 + when.hour

    def observe(self, camera: str, label: str, ts: float | None = None) -> None:
        """Count one event (call once per event, when it starts)."""
        ts = self._clock() if ts is None else ts
        with self._lock, self._db:
            self._add(camera, label, ts)

    def _add(self, camera: str, label: str, ts: float) -> None:
        how = self.hour_of_week(ts)
        self._db.execute(
            "INSERT INTO activity_cameras (camera, first_time) VALUES (?, ?) "
            "ON CONFLICT(camera) DO UPDATE SET first_time = MIN(first_time, excluded.first_time)",
            (camera, ts),
        )
        row = self._db.execute(
            "SELECT weight, updated FROM activity_counts WHERE camera=? AND label=? AND hour_of_week=?",
            (camera, label, how),
        ).fetchone()
        if row is None:
            weight, updated = 1.0, ts
        elif ts >= row[1]:
            weight, updated = row[0] * math.exp(-self._decay * (ts - row[1])) + 1.0, ts
        else:  # an older event (seeding): it counts less
            weight, updated = row[0] + math.exp(-self._decay * (row[1] - ts)), row[1]
        self._db.execute(
            "INSERT OR REPLACE INTO activity_counts (camera, label, hour_of_week, weight, updated) VALUES (?,?,?,?,?)",
            (camera, label, how, weight, updated),
        )

    def register_camera(self, camera: str, ts: float | None = None) -> None:
        """Start the learning period of a camera that is now watched (no-op if known)."""
        ts = self._clock() if ts is None else ts
        with self._lock, self._db:
            self._db.execute(
                "INSERT INTO activity_cameras (camera, first_time) VALUES (?, ?) ON CONFLICT(camera) DO NOTHING",
                (camera, ts),
            )

    def seed(self, events: Iterable[tuple[str, str, float]]) -> int:
        """Learn from stored events (camera, label, start_time); cameras that already have
        counts are skipped so seeding twice does not double count. Returns events added."""
        labels = set(self._cfg.labels)
        with self._lock, self._db:
            known = {r[0] for r in self._db.execute("SELECT DISTINCT camera FROM activity_counts")}
            added = 0
            for camera, label, start in events:
                if camera in known or (labels and label not in labels):
                    continue
                self._add(camera, label, float(start))
                added += 1
        if added:
            _LOGGER.info("activity baseline seeded from %d stored events", added)
        return added

    # ---------------------------------------------------------------- judging
    def learning_days(self, camera: str, ts: float | None = None) -> float:
        ts = self._clock() if ts is None else ts
        with self._lock:
            row = self._db.execute("SELECT first_time FROM activity_cameras WHERE camera=?", (camera,)).fetchone()
        return 0.0 if row is None else max(0.0, (ts - row[0]) / 86400.0)

    def rate(self, camera: str, label: str, ts: float | None = None) -> float:
        """Expected events per hour for this camera and label at ``ts``'s hour of the week."""
        ts = self._clock() if ts is None else ts
        how = self.hour_of_week(ts)
        near = [(how - 1) % HOURS_PER_WEEK, how, (how + 1) % HOURS_PER_WEEK]
        with self._lock:
            first = self._db.execute("SELECT first_time FROM activity_cameras WHERE camera=?", (camera,)).fetchone()
            rows = self._db.execute(
                "SELECT hour_of_week, weight, updated FROM activity_counts "
                "WHERE camera=? AND label=? AND hour_of_week IN (?,?,?)",
                (camera, label, *near),
            ).fetchall()
        if first is None:
            return 0.0
        span = max(0.0, ts - first[0])
        weeks = (1.0 - math.exp(-self._decay * span)) / (self._decay * WEEK)  # decayed weeks observed
        if weeks <= 0:
            return 0.0
        total = 0.0
        for hour, weight, updated in rows:
            share = 1.0 if hour == how else _NEIGHBOUR_WEIGHT
            total += share * weight * math.exp(-self._decay * max(0.0, ts - updated))
        return total / ((1.0 + 2 * _NEIGHBOUR_WEIGHT) * weeks)

    def assess(self, camera: str, label: str, ts: float | None = None) -> Unusual | None:
        """Is an event now unusual? None during learning or when it is ordinary."""
        ts = self._clock() if ts is None else ts
        if not self._cfg.enabled or (self._cfg.labels and label not in self._cfg.labels):
            return None
        if self.learning_days(camera, ts) < self._cfg.min_learning_days:
            return None
        rate = self.rate(camera, label, ts)
        probability = 1.0 - math.exp(-rate)
        z = (1.0 - rate) / math.sqrt(max(rate, 1e-4))
        if self._cfg.z_threshold is not None:
            rare = z > self._cfg.z_threshold
        else:
            rare = probability < self._cfg.probability
        if not rare:
            return None
        return Unusual(camera, label, ts, rate, probability, z, explain.unusual(label, ts, rate, self._tz))

    def process(self, camera: str, label: str, ts: float | None = None) -> Unusual | None:
        """For each new event: assess it, then learn it; at most one alert per cooldown."""
        ts = self._clock() if ts is None else ts
        found = self.assess(camera, label, ts)
        if not self._cfg.labels or label in self._cfg.labels:
            self.observe(camera, label, ts)
        if found is None:
            return None
        last = self._last_alert.get((camera, label))
        if last is not None and 0 <= ts - last < self._cfg.cooldown:
            return None
        self._last_alert[(camera, label)] = ts
        _LOGGER.info("%s: unusual activity: %s", camera, found.description)
        return found
