"""How the parallel test workers (pytest-xdist) share the suite.

Two rules, both about wall time on a small machine:

- **A file marked ``pytestmark = pytest.mark.one_worker`` runs on one worker.** Its tests
  share an expensive module fixture (a clip replayed once for the whole file); spread over
  four workers it would be made four times. Every other test is handed out on its own, to
  whichever worker is free, so the workers end together.
- **Long tests start early, spread out.** A test marked ``slow`` (a minute of real-time clip,
  broker outages, a browser session) that starts last makes the whole run wait for it alone;
  started all at once at the beginning they would crowd each other. They are spread over the
  first half of the run instead.

``pytest_xdist_make_scheduler`` and ``pytest_collection_modifyitems`` in tests/conftest.py
call into this module.
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path
from typing import Any

import pytest

ONE_WORKER = "one_worker"  # pytestmark = pytest.mark.one_worker


@functools.cache
def kept_on_one_worker(path: Path) -> bool:
    """Whether the test file says ``pytestmark = pytest.mark.one_worker`` (read from its source:
    xdist's controller sees test ids only, never marks)."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, ValueError):
        return False
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "pytestmark" for t in node.targets):
            return any(isinstance(n, ast.Attribute) and n.attr == ONE_WORKER for n in ast.walk(node.value))
    return False


def _unit_key(item: pytest.Item) -> str:
    path = item.path
    return str(path) if kept_on_one_worker(path) else item.nodeid


def long_tests_early(items: list[pytest.Item]) -> None:
    """Reorder ``items`` in place: units holding a ``slow`` test spread over the first half.

    A unit is one test, or a whole ``one_worker`` file (kept together so its module fixture
    is still made once)."""
    units: dict[str, list[pytest.Item]] = {}
    for item in items:
        units.setdefault(_unit_key(item), []).append(item)
    long_units = [unit for unit in units.values() if any(i.get_closest_marker("slow") for i in unit)]
    if not long_units:
        return
    short_units = [unit for unit in units.values() if not any(i.get_closest_marker("slow") for i in unit)]
    spacing = len(items) / 2 / len(long_units)
    ordered: list[pytest.Item] = []
    pending = list(long_units)
    for unit in short_units:
        while pending and len(ordered) >= spacing * (len(long_units) - len(pending)):
            ordered += pending.pop(0)
        ordered += unit
    for unit in pending:
        ordered += unit
    items[:] = ordered


def make_scheduler(config: pytest.Config, log: Any) -> Any:
    """xdist's per-scope scheduler, with a scope per ``one_worker`` file and per test otherwise."""
    from xdist.scheduler import LoadScopeScheduling

    root = Path(config.rootpath)

    class SharedFixtureScheduling(LoadScopeScheduling):  # type: ignore[misc]
        def __init__(self, config: pytest.Config, log: Any = None) -> None:
            super().__init__(config, log)
            config.option.loadscopereorder = False  # keep the order tests were collected in

        def _split_scope(self, nodeid: str) -> str:
            file = nodeid.split("::", 1)[0]
            return file if kept_on_one_worker(root / file) else nodeid

    return SharedFixtureScheduling(config, log)

