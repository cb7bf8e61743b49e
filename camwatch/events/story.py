"""An event's story, told from what camwatch already knows (no video).

The engine announces an event (``new``), then sends an ``update`` whenever something
significant changes and finally ``end``. Comparing each message with the event as it was
stored before it says what happened in between: the person appeared and was confirmed,
entered or left a zone, stood still, showed a face, was recognised, left. The store keeps
these moments as they arrive (:func:`moments`); the web page tells them in plain words
(:func:`tell`), with the best picture's moment added from the event itself.

Times are the frame times the messages carry (``last_seen``); a moment whose time is not
known (an event stored whole, by an older camwatch or after a crash) has ``time`` None.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from camwatch.const import EVENT_END, EVENT_NEW, EVENT_UPDATE
from camwatch.events.model import Event

APPEARED = "appeared"
CONFIRMED = "confirmed"
STARTED = "started"  # an anomaly
ENTERED = "entered"
LEFT_ZONE = "left_zone"
STOOD_STILL = "stood_still"
MOVED = "moved"
FACE = "face"
NAMED = "named"
PICTURE = "picture"  # told from the event, never stored
ENDED = "ended"

UNKNOWN_FACE = "unknown"
_GONE = ("gone", "left")  # the tracker lost the object: it walked out of the picture


@dataclass(frozen=True)
class Moment:
    time: float | None
    what: str
    detail: str | None = None
    score: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"time": self.time, "what": self.what, "detail": self.detail, "score": self.score}


def moments(previous: Event | None, message_type: str, event: Event) -> list[Moment]:
    """What changed from ``previous`` (the stored event, None for a new one) to ``event``."""
    now = event.last_seen if event.last_seen is not None else event.start_time
    found: list[Moment] = []
    if previous is None:
        found += _opening(message_type, event, now)
        before = Event(id=event.id, camera=event.camera, label=event.label, start_time=event.start_time)
        # States already there when the event was first stored: timed at the confirmation,
        # untimed when the first message camwatch stored was not the event's `new`.
        when = now if message_type == EVENT_NEW else None
    else:
        before, when = previous, now
    if message_type != EVENT_END:  # at its end an object leaves every zone with the picture
        found += [Moment(when, ENTERED, z) for z in event.current_zones if z not in before.current_zones]
        found += [Moment(when, LEFT_ZONE, z) for z in before.current_zones if z not in event.current_zones]
    passed = [z for z in event.zones_entered if z not in before.zones_entered and z not in event.current_zones]
    found += [Moment(when, ENTERED, z) for z in passed]  # in and out between two messages
    if event.stationary != before.stationary and message_type != EVENT_END:
        found.append(Moment(when, STOOD_STILL if event.stationary else MOVED))
    if event.has_face and not before.has_face:
        found.append(Moment(when, FACE, None, event.face_score))
    if event.sub_label and event.sub_label != before.sub_label:
        found.append(Moment(when, NAMED, event.sub_label, event.sub_label_score))
    already_ended = previous is not None and previous.end_time is not None  # an `end` sent again after a crash
    if message_type == EVENT_END and event.end_time is not None and not already_ended:
        found.append(Moment(event.end_time, ENDED, event.end_reason))
    return found


def _opening(message_type: str, event: Event, now: float) -> list[Moment]:
    if event.kind != "object":
        return [Moment(event.start_time, STARTED, event.description or event.subtype)]
    opening = [Moment(event.start_time, APPEARED, event.label)]
    if message_type == EVENT_NEW:
        opening.append(Moment(max(now, event.start_time), CONFIRMED, event.label, event.score))
    return opening


def fallback(event: Event) -> list[Moment]:
    """The story of an event stored before stories were kept: its fields, mostly untimed."""
    return moments(None, EVENT_END if event.end_time is not None else EVENT_UPDATE, event)


def with_picture(event: Event, told: list[Moment]) -> list[Moment]:
    """The stored moments and, at its time, the moment the best picture was taken."""
    if not event.has_snapshot or event.snapshot_time is None:
        return told
    picture = Moment(event.snapshot_time, PICTURE, None, event.attributes.get("snapshot_score"))
    at = next((i for i, m in enumerate(told) if m.time is not None and m.time > picture.time), len(told))
    if told and told[-1].what == ENDED and at == len(told):
        at -= 1
    return [*told[:at], picture, *told[at:]]


def _zone(name: str | None) -> str:
    return (name or "a zone").replace("_", " ")


def _percent(score: float | None) -> str:
    return f" ({score:.0%} sure)" if score else ""


def tell(moment: Moment, label: str) -> str:
    """The moment in plain words: ``Entered porch``, ``Recognised as Grace (91% sure)``."""
    thing = (label or "something").replace("_", " ")
    what, detail = moment.what, moment.detail
    if what == APPEARED:
        return f"A {thing} appeared"
    if what == CONFIRMED:
        return f"Confirmed as a {thing}{_percent(moment.score)}"
    if what == STARTED:
        return (detail or thing).replace("_", " ").capitalize()
    if what == ENTERED:
        return f"Entered {_zone(detail)}"
    if what == LEFT_ZONE:
        return f"Left {_zone(detail)}"
    if what == STOOD_STILL:
        return "Stood still"
    if what == MOVED:
        return "Moved again"
    if what == FACE:
        return f"Face seen{_percent(moment.score)}"
    if what == NAMED:
        return "Face not recognised" if detail == UNKNOWN_FACE else f"Recognised as {detail}{_percent(moment.score)}"
    if what == PICTURE:
        return "Best picture taken"
    if what == ENDED:
        return "Left the picture" if detail in (None, *_GONE) else f"Ended: {detail}"
    return what.replace("_", " ").capitalize()
