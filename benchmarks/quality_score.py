"""Scoring of person events against ground-truth visits (the rule of ../shared/eval/README.md).

Times are seconds into the clip (an event's start/end minus the replay's start time).

- A visit's *window* is ``[start - 1 s, end + 1 s]``; the ground truth was set by eye at
  0.5-2 s steps, so an event is compared with the window, never the bare visit.
- A required visit is *found* when some person event overlaps its window.
- An event is *false* when it overlaps no visit window (required or not), or when more
  than 10 s of it lies outside every visit window (stuck on scenery after the person left).
  On a clip expected to hold nobody, every person event is false.
- recall = found / required visits; precision = (events - false) / events.
- Each true event is given to one visit: first one event per visit, largest overlap first
  (two people crossing are two events for two visits, not a split), then every remaining
  true event to the visit it overlaps most. A visit holding two or more events is *split*;
  a found visit holding none of its own is *merged* (its only event is another visit's: two
  people, or two visits one after the other, made one event).
- Latency of a found required visit: its earliest event start minus the visit start (at
  least 0; an event that began inside the 1 s tolerance counts as on time).
- First alert of a found required visit: the earliest alert (the pass that announced an
  event: when the notification and the Home Assistant alert go out) of an event touching
  the visit's window, sent while the window was open, minus the visit start (at least 0).
  An alert before the visit began is another visitor's; a found visit with no alert of its
  own during it (its person merged into an event announced earlier) is *unalerted*.
  *Events per visit* counts the events given to it.
- Per-frame counts (``people_per_frame``): counted people at the sampled frame nearest to
  each ground-truth second, compared with the ground-truth count.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

TOLERANCE = 1.0  # seconds added on both sides of a visit
STUCK_SECONDS = 10.0  # more than this outside every visit makes an event false
COUNT_TOLERANCE = 0.2  # per-frame count within ±20 % of the ground truth

Span = tuple[float, float]


@dataclass(frozen=True)
class Visit:
    id: str
    start: float
    end: float
    required: bool

    @property
    def window(self) -> Span:
        return (self.start - TOLERANCE, self.end + TOLERANCE)


@dataclass(frozen=True)
class VisitScore:
    """One required visit: how many events it got and when the first one alerted."""

    id: str
    events: int
    first_alert: float | None  # seconds from the visit's start (None: not found, or no alert)
    # ... of the first alert of an event given to this visit: an alert for someone else in view
    # at the time (first_alert counts it) is not this person's own
    own_alert: float | None = None

    def to_dict(self) -> dict[str, Any]:
        alert = None if self.first_alert is None else round(self.first_alert, 2)
        own = None if self.own_alert is None else round(self.own_alert, 2)
        return {"id": self.id, "events": self.events, "first_alert": alert, "own_alert": own}


@dataclass
class ClipScore:
    clip: str
    required: int = 0
    found: int = 0
    events: int = 0
    false_events: int = 0
    split_visits: int = 0  # required visits given two or more events
    merged_visits: int = 0  # found required visits given no event of their own
    latencies: list[float] = field(default_factory=list)  # per found required visit, seconds
    first_alerts: list[float] = field(default_factory=list)  # per found required visit with an alert, seconds
    own_alerts: list[float] = field(default_factory=list)  # ... whose own event alerted, seconds
    per_visit: list[VisitScore] = field(default_factory=list)  # every required visit, in ground-truth order
    missed: list[str] = field(default_factory=list)  # ids of required visits not found
    unalerted: list[str] = field(default_factory=list)  # ids of found required visits with no alert during them
    false_spans: list[Span] = field(default_factory=list)
    empty_clip: bool = False  # expected to hold nobody
    scored: bool = True  # False when the clip has no visits to score events against
    counts: list[tuple[float, int, int | None]] = field(default_factory=list)  # (second, truth, counted)
    frame_recall: float | None = None  # see frame_recall()

    @property
    def recall(self) -> float | None:
        return self.found / self.required if self.required else None

    @property
    def precision(self) -> float | None:
        return (self.events - self.false_events) / self.events if self.events else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "clip": self.clip,
            "required": self.required,
            "found": self.found,
            "recall": self.recall,
            "events": self.events,
            "false_events": self.false_events,
            "precision": self.precision,
            "split_visits": self.split_visits,
            "merged_visits": self.merged_visits,
            "latencies": [round(v, 2) for v in self.latencies],
            "first_alerts": [round(v, 2) for v in self.first_alerts],
            "own_alerts": [round(v, 2) for v in self.own_alerts],
            "visits": [v.to_dict() for v in self.per_visit],
            "missed": self.missed,
            "unalerted": self.unalerted,
            "false_spans": [[round(a, 2), round(b, 2)] for a, b in self.false_spans],
            "empty_clip": self.empty_clip,
            "scored": self.scored,
            "counts": [{"second": s, "truth": t, "counted": c} for s, t, c in self.counts],
            "count_ratio": count_ratio(self.counts),
            "counts_within": counts_within(self.counts),
            "frame_recall": self.frame_recall,
        }


def overlap(a: Span, b: Span) -> float:
    """Length of the overlap of two spans (0 when they only touch or are apart)."""
    return max(0.0, min(a[1], b[1]) - max(a[0], b[0]))


def touches(a: Span, b: Span) -> bool:
    """The spans share at least one instant (a zero-length event inside a window counts)."""
    return a[0] <= b[1] and b[0] <= a[1]


def _covered_length(span: Span, windows: Sequence[Span]) -> float:
    """Length of ``span`` inside the union of ``windows``."""
    parts = sorted((max(span[0], w[0]), min(span[1], w[1])) for w in windows if touches(span, w))
    total, cur_start, cur_end = 0.0, None, None
    for a, b in parts:
        if b <= a:
            continue
        if cur_end is None or a > cur_end:
            if cur_end is not None:
                total += cur_end - cur_start
            cur_start, cur_end = a, b
        else:
            cur_end = max(cur_end, b)
    if cur_end is not None:
        total += cur_end - cur_start
    return total


def parse_visits(entry: Mapping[str, Any]) -> list[Visit] | None:
    visits = entry.get("visits")
    if visits is None:
        return None
    return [Visit(str(v["id"]), float(v["start"]), float(v["end"]), bool(v.get("required", True))) for v in visits]


def score_clip(
    clip: str,
    entry: Mapping[str, Any],
    events: Sequence[Span],
    counts_at: Mapping[float, int] | None = None,
    alerts: Sequence[float | None] | None = None,
) -> ClipScore:
    """Score one clip's person events (clip-time spans) against its ground-truth ``entry``.

    ``counts_at`` maps clip time of each processed frame to the number of people counted
    there; it is compared with ``people_per_frame`` when the entry has it. ``alerts`` gives,
    for each event, the clip time it alerted (None: it did not); without it no first-alert
    latency is reported.
    """
    alert_of: dict[Span, float] = {}  # two events with the same span: the earlier alert
    for span, alert in zip(events, alerts if alerts is not None else [None] * len(events), strict=True):
        if alert is not None:
            alert_of[span] = min(alert, alert_of.get(span, alert))
    result = ClipScore(clip, events=len(events))
    result.empty_clip = bool(entry.get("expected_zero_person_events"))
    visits = parse_visits(entry)
    if "people_per_frame" in entry:
        result.counts = compare_counts(entry["people_per_frame"], counts_at or {})
    if result.empty_clip:
        result.false_events = len(events)
        result.false_spans = list(events)
        return result
    if visits is None:
        result.scored = False
        return result
    if counts_at is not None:
        result.frame_recall = frame_recall(visits, counts_at)
    windows = [v.window for v in visits]
    true_events: list[Span] = []
    for span in events:
        outside = (span[1] - span[0]) - _covered_length(span, windows)
        if not any(touches(span, w) for w in windows) or outside > STUCK_SECONDS:
            result.false_events += 1
            result.false_spans.append(span)
        else:
            true_events.append(span)

    assigned = assign_events(visits, true_events)
    for k, visit in enumerate(visits):
        if not visit.required:
            continue
        result.required += 1
        overlapping = [e for e in events if touches(e, visit.window)]
        if not overlapping:
            result.missed.append(visit.id)
            result.per_visit.append(VisitScore(visit.id, 0, None))
            continue
        result.found += 1
        if len(assigned[k]) >= 2:
            result.split_visits += 1
        if not assigned[k]:
            result.merged_visits += 1
        first = min(e[0] for e in (assigned[k] or overlapping))
        result.latencies.append(max(0.0, first - visit.start))
        start, end = visit.window
        alerted = [a for e in overlapping if (a := alert_of.get(e)) is not None and start <= a <= end]
        first_alert = max(0.0, min(alerted) - visit.start) if alerted else None
        if first_alert is not None:
            result.first_alerts.append(first_alert)
        else:
            result.unalerted.append(visit.id)
        own = [a for e in assigned[k] if (a := alert_of.get(e)) is not None and start <= a <= end]
        own_alert = max(0.0, min(own) - visit.start) if own else None
        if own_alert is not None:
            result.own_alerts.append(own_alert)
        result.per_visit.append(VisitScore(visit.id, len(assigned[k]), first_alert, own_alert))
    return result


def assign_events(visits: Sequence[Visit], events: Sequence[Span]) -> list[list[Span]]:
    """Give each event to one visit (see the module doc); returns the events of each visit."""
    out: list[list[Span]] = [[] for _ in visits]
    pairs = sorted(
        ((_affinity(e, v), i, k) for i, e in enumerate(events) for k, v in enumerate(visits) if touches(e, v.window)),
        reverse=True,
    )
    given: set[int] = set()
    for _, i, k in pairs:  # first one event per visit
        if i in given or out[k]:
            continue
        out[k].append(events[i])
        given.add(i)
    for _, i, k in pairs:  # then the rest to their best visit
        if i in given:
            continue
        out[k].append(events[i])
        given.add(i)
    return out


def _affinity(event: Span, visit: Visit) -> float:
    # overlap length first; a zero-length event still prefers the visit it is closest to
    mid = (event[0] + event[1]) / 2
    centre = (visit.start + visit.end) / 2
    return overlap(event, visit.window) - 1e-3 * abs(mid - centre)


def frame_recall(visits: Sequence[Visit], counts_at: Mapping[float, int]) -> float | None:
    """Share of (frame, required visit in progress) pairs covered by an in-view person count:
    sum over frames of min(counted, visits in progress) / sum of visits in progress. A finer
    measure than visit recall of how much of each visit the pipeline sees a confirmed person."""
    wanted = seen = 0
    for t, count in counts_at.items():
        active = sum(1 for v in visits if v.required and v.start <= t <= v.end)
        wanted += active
        seen += min(count, active)
    return seen / wanted if wanted else None


def compare_counts(truth: Mapping[str, int], counts_at: Mapping[float, int]) -> list[tuple[float, int, int | None]]:
    """(second, truth, counted at the processed frame nearest that second or None)."""
    times = sorted(counts_at)
    rows: list[tuple[float, int, int | None]] = []
    for key, value in sorted(truth.items(), key=lambda kv: float(kv[0])):
        second = float(key)
        nearest = min(times, key=lambda t: abs(t - second), default=None)
        counted = counts_at[nearest] if nearest is not None and abs(nearest - second) <= 0.5 else None
        rows.append((second, int(value), counted))
    return rows


def count_ratio(rows: Sequence[tuple[float, int, int | None]]) -> float | None:
    """Sum of counted people / sum of ground-truth people over the compared frames."""
    pairs = [(t, c) for _, t, c in rows if c is not None]
    truth = sum(t for t, _ in pairs)
    return sum(c for _, c in pairs) / truth if truth else None


def counts_within(rows: Sequence[tuple[float, int, int | None]], tolerance: float = COUNT_TOLERANCE) -> float | None:
    """Share of compared frames whose count is within ``tolerance`` of the truth."""
    pairs = [(t, c) for _, t, c in rows if c is not None]
    if not pairs:
        return None
    return sum(abs(c - t) <= tolerance * t for t, c in pairs) / len(pairs)


@dataclass
class Totals:
    required: int = 0
    found: int = 0
    events: int = 0
    false_events: int = 0
    split_visits: int = 0
    merged_visits: int = 0
    unalerted_visits: int = 0
    visit_events: int = 0  # events given to the found required visits (one each is the target)
    empty_clip_events: int = 0
    latencies: list[float] = field(default_factory=list)
    first_alerts: list[float] = field(default_factory=list)
    own_alerts: list[float] = field(default_factory=list)
    frame_recalls: list[float] = field(default_factory=list)

    @property
    def recall(self) -> float | None:
        return self.found / self.required if self.required else None

    @property
    def precision(self) -> float | None:
        return (self.events - self.false_events) / self.events if self.events else None

    @property
    def split_share(self) -> float | None:
        return self.split_visits / self.found if self.found else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "required": self.required,
            "found": self.found,
            "recall": self.recall,
            "events": self.events,
            "false_events": self.false_events,
            "precision": self.precision,
            "split_visits": self.split_visits,
            "split_share": self.split_share,
            "merged_visits": self.merged_visits,
            "unalerted_visits": self.unalerted_visits,
            "visit_events": self.visit_events,
            "empty_clip_events": self.empty_clip_events,
            "latency_median": median(self.latencies),
            "first_alert_median": median(self.first_alerts),
            "first_alert_p90": percentile(self.first_alerts, 90),
            "own_alert_median": median(self.own_alerts),
            "own_alert_p90": percentile(self.own_alerts, 90),
            "frame_recall_mean": sum(self.frame_recalls) / len(self.frame_recalls) if self.frame_recalls else None,
        }


def totals(scores: Sequence[ClipScore]) -> Totals:
    """Totals over the scored clips (a clip without visits adds nothing to recall or precision)."""
    out = Totals()
    for s in scores:
        if not s.scored:
            continue
        out.required += s.required
        out.found += s.found
        out.events += s.events
        out.false_events += s.false_events
        out.split_visits += s.split_visits
        out.merged_visits += s.merged_visits
        out.unalerted_visits += len(s.unalerted)
        out.visit_events += sum(v.events for v in s.per_visit)
        out.latencies += s.latencies
        out.first_alerts += s.first_alerts
        out.own_alerts += s.own_alerts
        if s.frame_recall is not None:
            out.frame_recalls.append(s.frame_recall)
        if s.empty_clip:
            out.empty_clip_events += s.events
    return out


def median(values: Sequence[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def percentile(values: Sequence[float], pct: float) -> float | None:
    """The ``pct``-th percentile, linear between the two nearest ranks (numpy's default)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * pct / 100.0
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)
