"""Ids of tracked objects and events (an object keeps its id when it becomes an event)."""

from __future__ import annotations

import uuid


def new_event_id(ts: float) -> str:
    """A unique, time-sortable id: ``<unix seconds>.<6 decimals>-<random>``."""
    return f"{ts:.6f}-{uuid.uuid4().hex[:8]}"
