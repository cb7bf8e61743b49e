"""How the pages name things and show times — one place for every page and script.

- A camera is shown by its display name (``Front door``), never its key (``front_door``);
  a camera that was removed keeps its key, the only name left.
- An event is told in plain words: ``Grace``, ``Person``, ``Loitering``.
- A time is a ``<time>`` element that ``common.js`` writes in the browser's own locale and
  time zone, the same format the scripts use for what they add (``camwatch.formatTime``);
  the text inside is only what a browser without JavaScript shows.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from markupsafe import Markup

from camwatch.config import CamwatchConfig
from camwatch.events.story import UNKNOWN_FACE


def camera_name(config: CamwatchConfig, camera: str) -> str:
    """The camera's display name, else its key (also for a camera no longer configured)."""
    cam = config.cameras.get(camera)
    return (cam.name if cam is not None and cam.name else camera) or camera


def words(value: str | None) -> str:
    """``unusual_activity`` → ``unusual activity``."""
    return (value or "").replace("_", " ")


def event_title(event: dict[str, Any]) -> str:
    """What happened, in a word or two: the recognised name, the object, or the anomaly."""
    if event.get("kind") == "anomaly":
        what = words(event.get("subtype") or event.get("label") or "anomaly")
    elif event.get("sub_label") and event["sub_label"] != UNKNOWN_FACE:
        return str(event["sub_label"])
    else:
        what = words(event.get("label") or "something")
    return what[:1].upper() + what[1:]


def face_words(event: dict[str, Any]) -> str | None:
    """``recognised as Grace (91% sure)``, ``seen, not recognised``, ``seen`` or None (no face)."""
    name, score = event.get("sub_label"), event.get("sub_label_score")
    if name and name != UNKNOWN_FACE:
        return f"recognised as {name}" + (f" ({score:.0%} sure)" if score else "")
    if name == UNKNOWN_FACE:
        return "seen, not recognised"
    return "seen" if event.get("has_face") else None


def time_element(value: float | None, clock: bool = False) -> Markup:
    """A time for a page: ``<time datetime=… data-time=…>``, written out by the browser;
    ``clock``: the time of day only (moments of one event)."""
    if value is None:
        return Markup("—")
    try:
        moment = datetime.fromtimestamp(float(value), tz=timezone.utc)
    except (OverflowError, OSError, ValueError):
        return Markup("—")
    fallback = moment.astimezone().strftime("%H:%M:%S" if clock else "%Y-%m-%d %H:%M:%S")
    return Markup('<time datetime="{iso}" data-time="{ts}"{clock}>{text}</time>').format(
        iso=moment.isoformat(timespec="seconds").replace("+00:00", "Z"), ts=f"{float(value):.3f}",
        clock=Markup(" data-clock") if clock else "", text=fallback,
    )


def clock_element(value: float | None) -> Markup:
    return time_element(value, clock=True)
