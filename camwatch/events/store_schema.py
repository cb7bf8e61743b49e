"""The event database's tables and the Event <-> row conversion (used by EventStore).

Lists and dicts are stored as JSON text, booleans as 0/1. Fields added to Event later
become columns automatically (``add_new_columns``).
"""

from __future__ import annotations

import json
import logging
import sqlite3
from typing import Any

from camwatch.events.model import Event

_LOGGER = logging.getLogger(__name__)

SCHEMA_VERSION = 1
_JSON_FIELDS = ("box", "frame_size", "zones_entered", "current_zones", "attributes")
_BOOL_FIELDS = ("stationary", "has_snapshot", "has_face", "alerted", "keep")
FIELDS = tuple(Event.__dataclass_fields__)
_FIELD_TYPES = {name: str(f.type) for name, f in Event.__dataclass_fields__.items()}

SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    id TEXT PRIMARY KEY,
    camera TEXT NOT NULL,
    label TEXT NOT NULL,
    kind TEXT NOT NULL DEFAULT 'object',
    start_time REAL NOT NULL,
    end_time REAL,
    end_reason TEXT,
    last_seen REAL,
    score REAL NOT NULL DEFAULT 0,
    top_score REAL NOT NULL DEFAULT 0,
    box TEXT NOT NULL DEFAULT '[]',
    frame_size TEXT NOT NULL DEFAULT '[]',
    zones_entered TEXT NOT NULL DEFAULT '[]',
    current_zones TEXT NOT NULL DEFAULT '[]',
    stationary INTEGER NOT NULL DEFAULT 0,
    has_snapshot INTEGER NOT NULL DEFAULT 0,
    snapshot_time REAL,
    sub_label TEXT,
    sub_label_score REAL,
    has_face INTEGER NOT NULL DEFAULT 0,
    face_score REAL,
    subtype TEXT,
    severity TEXT,
    description TEXT,
    alerted INTEGER NOT NULL DEFAULT 1,
    keep INTEGER NOT NULL DEFAULT 0,
    attributes TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS events_start ON events(start_time);
CREATE INDEX IF NOT EXISTS events_camera_start ON events(camera, start_time);
CREATE INDEX IF NOT EXISTS events_label_start ON events(label, start_time);
CREATE INDEX IF NOT EXISTS events_kind_subtype ON events(kind, subtype);
CREATE INDEX IF NOT EXISTS events_open ON events(end_time) WHERE end_time IS NULL;
CREATE TABLE IF NOT EXISTS snapshots (
    event_id TEXT NOT NULL REFERENCES events(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    bytes INTEGER NOT NULL,
    mtime REAL NOT NULL,
    PRIMARY KEY (event_id, kind)
);
CREATE TABLE IF NOT EXISTS camera_state (
    camera TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    updated REAL NOT NULL
);
"""


def add_new_columns(conn: sqlite3.Connection) -> None:
    """Fields added to Event after the table was created become columns."""
    have = {r[1] for r in conn.execute("PRAGMA table_info(events)").fetchall()}
    for name in FIELDS:
        if name not in have:
            conn.execute(f'ALTER TABLE events ADD COLUMN "{name}"')
            _LOGGER.info("event database: added column %s", name)


def to_row(event: Event) -> dict[str, Any]:
    row = event.to_dict()
    for name, value in row.items():
        if isinstance(value, (list, dict, tuple)) or name in _JSON_FIELDS:
            row[name] = json.dumps(value)
        elif isinstance(value, bool):
            row[name] = int(value)
    return row


def from_row(row: sqlite3.Row) -> Event:
    columns = set(row.keys())
    data = {name: row[name] for name in FIELDS if name in columns}
    for name, value in data.items():
        if name in _JSON_FIELDS or (
            isinstance(value, str) and _FIELD_TYPES[name].startswith(("list", "dict"))
        ):
            data[name] = json.loads(value) if value else ({} if name == "attributes" else [])
        elif name in _BOOL_FIELDS or (_FIELD_TYPES[name] == "bool" and value is not None):
            data[name] = bool(value)
    return Event.from_dict(data)
