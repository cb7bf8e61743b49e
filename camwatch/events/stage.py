"""The stage protocol: a step after tracking that turns a camera's frames into events.

A camera's pipeline runs its stages in order on every processed frame (``on_frame``), when
no frame came for a while (``on_idle``: the camera may be offline) and when the camera
stops or its stage is replaced by a config change (``on_finish``). A stage sees a narrow
context: the frame, the tracked objects, the messages this pass produced so far, snapshot
saving and ``emit`` — never the application or the pipeline.

Event messages are *returned*: later stages see them in ``messages`` and the pipeline
publishes the whole pass once, after the last stage. A status that is not an event (the
tamper states) goes out through ``emit``, the camera's one path to the live state and the
bus. No stage publishes on the bus or writes the live state itself.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from camwatch.const import END_REASON_STOPPED
from camwatch.events.model import EventMessage
from camwatch.events.snapshots import SnapshotWriter
from camwatch.sources.base import Frame
from camwatch.track.model import TrackedObject


@dataclass(frozen=True, slots=True)
class Status:
    """A change of a camera's live status: ``payload`` on the bus ``topic``, and the
    :class:`camwatch.state.CameraStatus` fields it sets (``state``)."""

    topic: str
    payload: dict[str, Any]
    state: dict[str, Any] = field(default_factory=dict)


Emit = Callable[[Status], None]


@dataclass(frozen=True, slots=True)
class TickContext:
    """What a stage sees when no frame came (idle) or the camera stops (finish)."""

    camera: str
    ts: float
    messages: Sequence[EventMessage]
    emit: Emit
    offline: bool = False  # the source reports the camera offline
    reason: str = END_REASON_STOPPED  # why open events end at a finish (stop, end of file, removed)


@dataclass(frozen=True, slots=True)
class FrameContext:
    """What a stage sees on a processed frame."""

    camera: str
    frame: Frame
    objects: Sequence[TrackedObject]  # every live tracked object, confirmed or not
    messages: Sequence[EventMessage]  # produced so far in this pass (engine, earlier stages)
    snapshots: SnapshotWriter | None  # saves an event's snapshot files; None while snapshots are off
    emit: Emit

    @property
    def ts(self) -> float:
        return self.frame.ts


class Stage(Protocol):
    """A step of the chain; each hook returns the event messages it adds (none by default)."""

    def on_frame(self, ctx: FrameContext) -> list[EventMessage]:
        return []

    def on_idle(self, ctx: TickContext) -> list[EventMessage]:
        return []

    def on_finish(self, ctx: TickContext) -> list[EventMessage]:
        return []
