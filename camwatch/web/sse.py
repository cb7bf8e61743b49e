"""Live updates over Server-Sent Events: ``GET /api/stream``.

Every second the stream compares the cameras' status (and still timestamps) and the newest
events with what it last sent, and sends only what changed:

    event: cameras   data: {"cameras": [camera_json...]}
    event: events    data: {"events": [event_json of the 10 newest]}
    event: control   data: the runtime switches (GET /api/control): armed, per camera detect…

A comment line every 15 s keeps proxies from closing the connection and lets waitress notice
a gone client. A stream ends after ``MAX_SECONDS`` (the browser's EventSource reconnects
by itself), so no request thread is held forever; at most ``threads - 2`` streams run at once
(``StreamSlots``): API tokens never take the last ``OWNER_STREAMS`` of them, so the owner's
dashboard always gets its live updates, and one token holds at most ``TOKEN_STREAMS``.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

from flask import Blueprint, Response, current_app, stream_with_context

from camwatch.web.api import camera_json, event_json
from camwatch.web.auth import current_token, web_context

bp = Blueprint("sse", __name__, url_prefix="/api")

POLL_SECONDS = 1.0
HEARTBEAT_SECONDS = 15.0
MAX_SECONDS = 300.0
#: Request threads kept free of streams (pages and API calls go on while streams run).
FREE_THREADS = 2
#: Streams only the owner (logged in) may use: a browser on the phone and one on the desktop.
OWNER_STREAMS = 2
#: Streams one API token may hold.
TOKEN_STREAMS = 2
OWNER = "owner"


class StreamSlots:
    """Who holds which live streams: ``total`` in all, the last ``OWNER_STREAMS`` for the owner."""

    def __init__(self, threads: int) -> None:
        self.total = max(1, threads - FREE_THREADS)
        self.for_tokens = max(0, self.total - OWNER_STREAMS)
        self._lock = threading.Lock()
        self._held: dict[str, int] = {}

    def acquire(self, holder: str) -> bool:
        with self._lock:
            used = sum(self._held.values())
            if used >= self.total:
                return False
            if holder != OWNER:
                by_tokens = used - self._held.get(OWNER, 0)
                if by_tokens >= self.for_tokens or self._held.get(holder, 0) >= TOKEN_STREAMS:
                    return False
            self._held[holder] = self._held.get(holder, 0) + 1
            return True

    def release(self, holder: str) -> None:
        with self._lock:
            left = self._held.get(holder, 0) - 1
            if left > 0:
                self._held[holder] = left
            else:
                self._held.pop(holder, None)


def _message(kind: str, data: Any) -> str:
    return f"event: {kind}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


@bp.get("/stream")
def stream() -> Any:
    """Server-Sent Events: `cameras`, `events` and `control` messages whenever they change."""
    slots: StreamSlots = current_app.extensions["camwatch.sse_slots"]
    token = current_token()
    holder = f"token:{token.id}" if token is not None else OWNER
    if not slots.acquire(holder):
        response = Response(json.dumps({"error": "too many live streams open; try again later"}), 503,
                            mimetype="application/json")
        response.headers["Retry-After"] = "10"
        return response
    ctx = web_context()

    def generate() -> Iterator[str]:
        yield "retry: 3000\n\n"
        last_cameras = last_events = last_control = None
        started = last_beat = time.monotonic()
        while not ctx.stopping.is_set() and time.monotonic() - started < MAX_SECONDS:
            cameras = [camera_json(name) for name in ctx.config.cameras]
            if cameras != last_cameras:
                last_cameras = cameras
                yield _message("cameras", {"cameras": cameras})
                last_beat = time.monotonic()
            control = ctx.control.snapshot()
            if control != last_control:
                last_control = control
                yield _message("control", control)
                last_beat = time.monotonic()
            newest, _ = ctx.store.query(limit=10)
            events = [event_json(e) for e in newest]
            if events != last_events:
                last_events = events
                yield _message("events", {"events": events})
                last_beat = time.monotonic()
            if time.monotonic() - last_beat >= HEARTBEAT_SECONDS:
                last_beat = time.monotonic()
                yield ": keep-alive\n\n"
            ctx.stopping.wait(POLL_SECONDS)

    response = Response(stream_with_context(generate()), mimetype="text/event-stream")
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Accel-Buffering"] = "no"
    response.call_on_close(lambda: slots.release(holder))
    return response
