"""Retention: delete old events, then the oldest snapshots until the snapshot budget is met.

Run ``prune`` periodically (``start`` runs it on a background thread every ``interval``
seconds) and at once when a write fails for lack of space (``trigger``, wired as the
``on_full`` callback of the SnapshotWriter and the EventStore). Kept events are never
deleted by age and lose their snapshots only when nothing else is left to prune.

On a full disk, the budget alone may not free anything (the disk is smaller than the
budget, or other files fill it): ``prune(disk_full=True)`` then also drops the oldest
unkept snapshots, ``emergency_fraction`` of the current total, so capture keeps going
(only while less than ``min_free_mb`` is free on the snapshot disk).

Wiring: ``SnapshotWriter(on_full=retention.trigger)``, ``EventStore(on_full=retention.trigger)``
and ``retention.start(config.storage.prune_interval)``; or call
``prune(disk_full=writer.disk_full)`` from a housekeeping loop.
"""

from __future__ import annotations

import logging
import shutil
import threading
import time
from typing import Any

from camwatch.events.store import EventStore

_LOGGER = logging.getLogger(__name__)

DAY = 86400.0
MB = 1024 * 1024


class Retention:
    def __init__(
        self,
        store: EventStore,
        retain_days: float,
        max_snapshot_mb: float,
        emergency_fraction: float = 0.1,
        orphan_age: float = 300.0,
        min_free_mb: float = 16.0,
    ) -> None:
        if retain_days <= 0 or max_snapshot_mb <= 0:
            raise ValueError("retain_days and max_snapshot_mb must be > 0")
        self.store = store
        self.retain_days = float(retain_days)
        self.max_snapshot_bytes = int(max_snapshot_mb * MB)
        self.emergency_fraction = emergency_fraction
        self.orphan_age = orphan_age
        self.min_free_bytes = int(min_free_mb * MB)
        self.last_result: dict[str, Any] = {}
        self._prune_lock = threading.Lock()
        self._wake = threading.Event()
        self._full = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def prune(self, now: float | None = None, disk_full: bool = False) -> dict[str, Any]:
        """One pass; returns what it did: expired_events, pruned_snapshots, orphan_files,
        freed_bytes, snapshot_bytes (after), pending (event rows still waiting for the disk)."""
        now = time.time() if now is None else now
        with self._prune_lock:
            result = {"expired_events": 0, "pruned_snapshots": 0, "orphan_files": 0, "freed_bytes": 0}
            orphans, orphan_bytes = self.store.remove_orphan_files(self.orphan_age, now)
            result["orphan_files"], result["freed_bytes"] = orphans, orphan_bytes

            cutoff = now - self.retain_days * DAY
            while True:
                ids = self.store.expired_event_ids(cutoff, limit=500)
                if not ids:
                    break
                deleted = 0
                for event_id in ids:
                    before = self._event_bytes(event_id)
                    if self.store.delete(event_id):
                        deleted += 1
                        result["freed_bytes"] += before
                result["expired_events"] += deleted
                if deleted < len(ids):
                    break  # the database refuses (full disk): the size pass below frees space

            total = self.store.storage_usage()["snapshot_bytes"]
            target = self.max_snapshot_bytes
            if disk_full and self._free_bytes() >= self.min_free_bytes:
                disk_full = False  # space came back (or the failure was not about space)
            result["emergency"] = disk_full
            if disk_full:
                target = min(target, int(total * (1.0 - self.emergency_fraction)))
            while total > target:
                candidates = self.store.snapshot_candidates(limit=200)
                if not candidates:
                    break
                progressed = False
                for event_id, size, _keep in candidates:
                    if total <= target:
                        break
                    freed = self.store.drop_snapshots(event_id)
                    total -= size
                    result["pruned_snapshots"] += 1
                    result["freed_bytes"] += freed
                    progressed = True
                if not progressed:
                    break
            self.store.checkpoint()  # after files were removed, so that the database has room
            result["snapshot_bytes"] = self.store.storage_usage()["snapshot_bytes"]
            result["pending"] = self.store.retry_pending()
        if result["expired_events"] or result["pruned_snapshots"] or result["orphan_files"]:
            _LOGGER.info(
                "retention: %d old event(s), %d snapshot set(s), %d orphan file(s) removed, %.1f MB freed",
                result["expired_events"],
                result["pruned_snapshots"],
                result["orphan_files"],
                result["freed_bytes"] / MB,
            )
        self.last_result = result
        return result

    def _free_bytes(self) -> int:
        try:
            return shutil.disk_usage(self.store.snapshot_dir).free
        except OSError:
            return 0

    def _event_bytes(self, event_id: str) -> int:
        return sum(p.stat().st_size for p in self.store.files.files(event_id))

    # ------------------------------------------------------------------ background
    def trigger(self, disk_full: bool = True) -> None:
        """Ask the background thread for a pass now (a write failed for lack of space)."""
        if disk_full:
            self._full.set()
        self._wake.set()

    def start(self, interval: float = 3600.0) -> None:
        """Prune now and then every ``interval`` seconds (and on ``trigger``) on a daemon thread."""
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, args=(interval,), name="retention", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self, interval: float) -> None:
        last_full = -1e9
        while not self._stop.is_set():
            if self._full.is_set():
                pause = 5.0 - (time.monotonic() - last_full)
                if pause > 0 and self._stop.wait(pause):  # one emergency pass per 5 s at most
                    return
                last_full = time.monotonic()
            disk_full = self._full.is_set()
            self._full.clear()
            self._wake.clear()
            try:
                self.prune(disk_full=disk_full)
            except Exception:
                _LOGGER.exception("retention pass failed")
            self._wake.wait(interval)
