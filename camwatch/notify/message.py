"""The words of a notification: a short title and a few plain-text lines (phones show both)."""

from __future__ import annotations

import time
from dataclasses import dataclass

from camwatch.events.model import Event

UNKNOWN_FACE = "unknown"


@dataclass(frozen=True)
class Text:
    title: str
    body: str


def _clock(ts: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(ts))


def _what(event: Event) -> str:
    if event.kind == "anomaly":
        return (event.subtype or event.label or "anomaly").replace("_", " ")
    if event.sub_label and event.sub_label != UNKNOWN_FACE:
        return event.sub_label
    return event.label


def event_text(event: Event, camera_name: str, web_url: str | None = None, held_back: int = 0) -> Text:
    """``Person at Front door`` and its details; ``held_back`` events were rate limited before it."""
    what = _what(event)
    title = f"{what[:1].upper()}{what[1:]} at {camera_name}"
    lines = []
    if event.kind == "anomaly":
        lines.append(f"{event.description or what} · {_clock(event.start_time)}")
        if event.severity:
            lines.append(f"Severity: {event.severity}")
    else:
        score = event.top_score or event.score
        lines.append(f"{event.label} {score:.0%} · {_clock(event.start_time)}")
        if event.sub_label:
            face = event.sub_label if event.sub_label != UNKNOWN_FACE else "not recognised"
            score_text = f" ({event.sub_label_score:.0%})" if event.sub_label_score else ""
            lines.append(f"Face: {face}{score_text}")
    if event.zones_entered:
        lines.append("Zones: " + ", ".join(event.zones_entered))
    if held_back:
        plural = "s" if held_back != 1 else ""
        lines.append(f"{held_back} more event{plural} on {camera_name} held back by the rate limit.")
    if web_url:
        lines.append(f"{web_url}/events/{event.id}")
    return Text(title, "\n".join(lines))


def recognised_text(event: Event, camera_name: str, web_url: str | None = None) -> Text:
    """The follow-up when a face is recognised after the first message of an event."""
    lines = [f"The {event.label} at {camera_name} ({_clock(event.start_time)}) is {event.sub_label}."]
    if web_url:
        lines.append(f"{web_url}/events/{event.id}")
    return Text(f"{event.sub_label} at {camera_name}", "\n".join(lines))


def unknown_face_text(event: Event, camera_name: str, web_url: str | None = None) -> Text:
    """The message of a camera that alerts on faces nobody knows, when such a visitor has left."""
    lines = [f"A face nobody here knows was seen at {camera_name} ({_clock(event.start_time)})."]
    if web_url:
        lines.append(f"{web_url}/events/{event.id}")
    return Text(f"Unknown face at {camera_name}", "\n".join(lines))


def probe_text(destination: str) -> Text:
    return Text(
        "camwatch test notification",
        f"camwatch can reach the destination '{destination}'. Events will arrive like this.",
    )
