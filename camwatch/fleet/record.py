"""What a node remembers about model updates (``<data_dir>/updates/state.json``).

* ``active``: the installed update that runs instead of the configured model, with the
  configured model it replaced — when the owner changes ``detector.model`` afterwards, the
  configuration wins again;
* ``previous``: the model before it, kept on disk for a rollback;
* ``trial``: a model swapped in whose watch period has not ended. Found at start, it means
  camwatch stopped during the watch — maybe killed by that very model — so it is rolled
  back: the node starts with what ran before it;
* ``decided``: the highest manifest version this node has decided on (installed, refused
  or rolled back). A signed manifest that is not newer is refused: an old signed manifest
  published again (replay) cannot take a node back to an old model;
* ``history``: the last results, for the System page and the node status.

Beside it, ``decided-manifest.json`` is the signed manifest of the latest decision, as it
arrived: the node publishes it retained (its copy) so a node that joins later sees which
version the fleet is at.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from camwatch.atomic import write_atomic

_LOGGER = logging.getLogger(__name__)

UPDATES_DIR = "updates"
STATE_FILE = "state.json"
ENVELOPE_FILE = "decided-manifest.json"  # the signed envelope of the version decided last
HISTORY_LENGTH = 20


@dataclass(frozen=True)
class InstalledModel:
    name: str
    version: int
    sha256: str
    layout: str
    file: str  # under <data_dir>/updates
    labels_file: str
    replaced: str  # the configured model (detector.model or model_path) when it was installed

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> InstalledModel:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__})


@dataclass
class UpdateRecord:
    active: InstalledModel | None = None
    previous: InstalledModel | None = None
    trial: InstalledModel | None = None
    decided: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "active": asdict(self.active) if self.active else None,
            "previous": asdict(self.previous) if self.previous else None,
            "trial": asdict(self.trial) if self.trial else None,
            "decided": self.decided,
            "history": self.history,
        }


class UpdateStore:
    """The record on disk; every change is written at once (atomically)."""

    def __init__(self, data_dir: Path) -> None:
        self.directory = Path(data_dir) / UPDATES_DIR
        self.path = self.directory / STATE_FILE
        self._lock = threading.Lock()
        self.record = self._load()

    def _load(self) -> UpdateRecord:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            return UpdateRecord(
                active=InstalledModel.from_dict(data["active"]) if data.get("active") else None,
                previous=InstalledModel.from_dict(data["previous"]) if data.get("previous") else None,
                trial=InstalledModel.from_dict(data["trial"]) if data.get("trial") else None,
                decided=int(data.get("decided", 0)),
                history=list(data.get("history", []))[-HISTORY_LENGTH:],
            )
        except FileNotFoundError:
            return UpdateRecord()
        except (OSError, ValueError, KeyError, TypeError) as exc:
            _LOGGER.error("unreadable model update record %s (%s): starting from the configured model", self.path, exc)
            return UpdateRecord()

    def save(self) -> None:
        with self._lock:
            text = json.dumps(self.record.to_dict(), indent=1)
        try:
            write_atomic(self.path, text, durable=True)
        except OSError as exc:
            _LOGGER.error("cannot save the model update record %s: %s", self.path, exc)

    def add_history(self, version: int | None, name: str, result: str, reason: str | None = None) -> None:
        with self._lock:
            self.record.history.append(
                {"time": round(time.time(), 1), "version": version, "name": name, "result": result, "reason": reason}
            )
            del self.record.history[:-HISTORY_LENGTH]
        self.save()

    def decide(self, version: int) -> None:
        with self._lock:
            self.record.decided = max(self.record.decided, version)
        self.save()

    def save_envelope(self, envelope: bytes) -> None:
        """Keep the signed manifest of the latest decision: it is this node's retained copy."""
        try:
            write_atomic(self.directory / ENVELOPE_FILE, envelope)
        except OSError as exc:
            _LOGGER.error("cannot save %s: %s", self.directory / ENVELOPE_FILE, exc)

    def load_envelope(self) -> bytes | None:
        try:
            return (self.directory / ENVELOPE_FILE).read_bytes() or None
        except OSError:
            return None

    def path_of(self, name: str) -> Path:
        return self.directory / name

    def begin_trial(self, model: InstalledModel) -> None:
        with self._lock:
            self.record.trial = model
            self.record.decided = max(self.record.decided, model.version)
        self.save()

    def end_trial(self, passed: bool) -> None:
        """The watch period ended: the trial model becomes the active one, or goes."""
        with self._lock:
            trial, self.record.trial = self.record.trial, None
            if trial is None:
                return
            gone: list[InstalledModel] = []
            if passed:
                if self.record.previous is not None:  # two generations are kept: active and previous
                    gone.append(self.record.previous)
                self.record.previous, self.record.active = self.record.active, trial
            else:
                gone.append(trial)
        self.save()
        keep = {name for m in (self.record.active, self.record.previous) if m for name in (m.file, m.labels_file)}
        for model in gone:
            for name in (model.file, model.labels_file):
                if name not in keep:
                    self.path_of(name).unlink(missing_ok=True)

    def set_aside(self) -> None:
        """The configured model runs again (the owner changed it, or the update's file is unusable)."""
        with self._lock:
            self.record.active = None
        self.save()
