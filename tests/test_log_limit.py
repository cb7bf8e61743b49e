"""LogLimit: one line per kind within the quiet time; a flood of kinds cannot grow it."""

from __future__ import annotations

from camwatch.comms.log_limit import LogLimit


def test_one_line_per_kind_within_the_quiet_time() -> None:
    limit = LogLimit(quiet=3600.0)
    assert limit.due(("a/set", "json"))
    assert not limit.due(("a/set", "json"))  # the same kind again: quiet
    assert limit.due(("a/set", "type"))  # another kind: its own line
    assert limit.due(("b/set", "json"))


def test_a_flood_of_kinds_is_forgotten_past_the_cap() -> None:
    limit = LogLimit(quiet=3600.0, max_keys=10)
    for n in range(11):
        assert limit.due(n)
    assert not limit.due(0)  # still remembered: 11 kinds, the cap not yet passed
    assert limit.due(11)  # past the cap: all forgotten, then this one kept
    assert limit.due(0) and not limit.due(11)
