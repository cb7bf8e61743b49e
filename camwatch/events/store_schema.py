"""The event database's tables and the Event <-> row conversion (used by EventStore).

Lists and dicts are stored as JSON text, booleans as 0/1. Fields added to Event later
become columns automatically (``add_new_columns``); ``migrate`` brings a database written
by an older camwatch to ``SCHEMA_VERSION`` (``PRAGMA user_version``):

2. ``events.seen_at`` (when the owner first looked at the event; NULL: not yet) and the
   ``event_story`` table (the moments of each event). Events already stored count as seen:
   the owner is not handed a backlog of years at the upgrade.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Sequence
from typing import Any

from camwatch.events.model import Event

_LOGGER = logging.getLogger(__name__)

SCHEMA_VERSION = 2
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
    attributes TEXT NOT NULL DEFAULT '{}',
    seen_at REAL
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
CREATE TABLE IF NOT EXISTS event_story (
    event_id TEXT NOT NULL REFERENCES events(id) ON DELETE CASCADE,
    time REAL,
    what TEXT NOT NULL,
    detail TEXT,
    score REAL
);
CREATE INDEX IF NOT EXISTS event_story_event ON event_story(event_id);
"""
#: After ``migrate``: an index on a column an older database gets only there.
UNSEEN_INDEX = "CREATE INDEX IF NOT EXISTS events_unseen ON events(start_time) WHERE seen_at IS NULL"


def migrate(conn: sqlite3.Connection, now: float) -> None:
    """Bring a database of an older schema version up to ``SCHEMA_VERSION`` (in the caller's transaction)."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    have = {r[1] for r in conn.execute("PRAGMA table_info(events)").fetchall()}
    if "seen_at" not in have:
        conn.execute("ALTER TABLE events ADD COLUMN seen_at REAL")
    if 0 < version < 2:
        marked = conn.execute("UPDATE events SET seen_at=? WHERE seen_at IS NULL", (now,)).rowcount
        _LOGGER.info("event database upgraded to version 2: %d stored event(s) count as seen", marked)
    conn.execute(UNSEEN_INDEX)
    conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")


def add_new_columns(conn: sqlite3.Connection) -> None:
    """Fields added to Event after the table was created become columns."""
    have = {r[1] for r in conn.execute("PRAGMA table_info(events)").fetchall()}
    for name in FIELDS:
        if name not in have:
            conn.execute(f'ALTER TABLE events ADD COLUMN "{name}"')
            _LOGGER.info("event database: added column %s", name)


def where_clause(
    *,
    camera: str | Sequence[str] | None,
    label: str | Sequence[str] | None,
    zone: str | None,
    after: float | None,
    before: float | None,
    has_face: bool | None,
    sub_label: str | None,
    kind: str | None,
    subtype: str | None,
    keep: bool | None,
) -> tuple[str, list[Any]]:
    """The ``WHERE`` of an event query (every given filter; start_time in [after, before)) and its arguments."""
    where: list[str] = []
    args: list[Any] = []
    for column, value in (("camera", camera), ("label", label)):
        if value is None:
            continue
        values = [value] if isinstance(value, str) else list(value)
        where.append(f"{column} IN ({', '.join('?' * len(values))})" if values else "0")
        args += values
    for column, value in (("sub_label", sub_label), ("kind", kind), ("subtype", subtype)):
        if value is not None:
            where.append(f"{column}=?")
            args.append(value)
    for column, flag in (("has_face", has_face), ("keep", keep)):
        if flag is not None:
            where.append(f"{column}=?")
            args.append(int(bool(flag)))
    if zone is not None:
        where.append("EXISTS (SELECT 1 FROM json_each(events.zones_entered) WHERE value=?)")
        args.append(zone)
    if after is not None:
        where.append("start_time>=?")
        args.append(float(after))
    if before is not None:
        where.append("start_time<?")
        args.append(float(before))
    return (f"WHERE {' AND '.join(where)}" if where else ""), args


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
