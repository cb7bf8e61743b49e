"""A tracked person's name from the recognitions of their face over time.

For a security camera a wrong name is worse than none, so one match is not enough:

* a known name is given once ``votes`` recognitions of this person matched it, or at once when one
  recognition was sure (score ≥ ``sure``): a walker may show a usable face on one frame only,
  and a match that close is as safe as two ordinary ones (measured in docs/faces.md);
* until then the person is ``unknown`` (compared, not named yet or matching nobody);
* once named, "matches nobody" (a turned head, poor light) keeps the name;
* when a second known name also gathers ``votes`` matches on the same person, the name becomes
  ``uncertain`` for the rest of the track — never the other person's name. (The track may
  have jumped between two people, or two people look alike to the recogniser.)
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

UNKNOWN = "unknown"
UNCERTAIN = "uncertain"


@dataclass
class NameVotes:
    """The recognitions of one tracked person and the name they add up to."""

    votes: int = 2
    sure: float = 1.01  # a single match at least this close names at once (above 1: never)
    counts: Counter = field(default_factory=Counter)  # known name → matches
    best: dict[str, float] = field(default_factory=dict)  # known name → best similarity
    compared: int = 0

    def add(self, name: str | None, score: float | None = None) -> None:
        """One recognition: a known name with its similarity, or None for "matches nobody"."""
        self.compared += 1
        if name is None or name in (UNKNOWN, UNCERTAIN):
            return
        self.counts[name] += 1
        self.best[name] = max(self.best.get(name, 0.0), float(score or 0.0))

    @property
    def name(self) -> str | None:
        """The track's name: a known name, ``unknown``, ``uncertain``, or None before any comparison."""
        if self.compared == 0:
            return None
        settled = [n for n, c in self.counts.items() if c >= self.votes or self.best.get(n, 0.0) >= self.sure]
        if len(settled) > 1:
            return UNCERTAIN
        if settled:
            return settled[0]
        return UNKNOWN

    @property
    def score(self) -> float | None:
        name = self.name
        return self.best.get(name) if name not in (None, UNKNOWN, UNCERTAIN) else None
