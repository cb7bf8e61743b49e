"""Every import in camwatch points down: no upward import and no import circle.

The packages and top-level modules stand on floors, lowest first. A module may import its
own package and anything on a lower floor — never a neighbour on its own floor, never a
floor above. Every import counts, also one inside a function or under TYPE_CHECKING: a
type that flows upward is a dependency that flows upward. Inside a package the modules
may import each other, but never in a circle.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "camwatch"

FLOORS: tuple[tuple[str, ...], ...] = (
    # plain facts and helpers that know nothing of cameras
    ("camwatch", "camwatch.const", "camwatch.secrets", "camwatch.ids", "camwatch.geometry", "camwatch.atomic",
     "camwatch.state", "camwatch.datafiles", "camwatch.names", "camwatch.setup_code",
     "camwatch.cpu", "camwatch.imaging"),
    ("camwatch.node",),  # a node's name, by the rule of names
    # configuration, runtime switches, file locations, logging, the model manager
    ("camwatch.models",),  # the model manifest and files (config checks model names against it)
    ("camwatch.model_install",),  # offline installs from a folder; every missing model file at once
    ("camwatch.config", "camwatch.control", "camwatch.paths", "camwatch.logsetup"),
    ("camwatch.detectors", "camwatch.sources"),  # what comes in
    ("camwatch.motion", "camwatch.track"),  # where things move, what they are, which zone
    ("camwatch.events", "camwatch.faces"),  # events, the stage protocol; faces on people
    ("camwatch.anomaly", "camwatch.comms", "camwatch.notify"),  # anomalies as events; results out (MQTT, notifications)
    ("camwatch.fleet",),  # many nodes on one broker: fleet status, signed over-the-air model updates
    ("camwatch.pipeline", "camwatch.web", "camwatch.service"),  # a camera's chain; the web UI; systemd, doctor
    ("camwatch.app",),  # the life cycle
    ("camwatch.cli",),
    ("camwatch.__main__",),
)  # fmt: skip


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def unit_of(module: str) -> str:
    """The floor entry a module belongs to: its top-level package or module under camwatch."""
    parts = module.split(".")
    return ".".join(parts[:2])


def imports_of(module: str) -> set[str]:
    """camwatch modules that ``module`` imports anywhere in its text."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join([*package.split(".")[: len(package.split(".")) - node.level + 1], *filter(None, [base])])
            # `from pkg import sub` names the submodule where one exists, else pkg itself
            names = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names]
        else:
            continue
        for name in names:
            while name and name not in MODULES:
                name = name.rpartition(".")[0]
            if name.startswith("camwatch") and name != module:
                found.add(name)
    return found


GRAPH = {module: imports_of(module) for module in MODULES}


def floor_of(unit: str) -> int:
    for number, units in enumerate(FLOORS):
        if unit in units:
            return number
    raise AssertionError(f"{unit} stands on no floor: add it to FLOORS in {Path(__file__).name}")


def test_every_module_stands_on_a_floor() -> None:
    for module in MODULES:
        floor_of(unit_of(module))


def wrong_imports(graph: dict[str, set[str]]) -> list[str]:
    wrong = []
    for module, targets in sorted(graph.items()):
        unit = unit_of(module)
        for target in sorted(targets):
            other = unit_of(target)
            if other == unit or other == "camwatch":
                continue
            if floor_of(other) >= floor_of(unit):
                how = "sideways" if floor_of(other) == floor_of(unit) else "upward"
                wrong.append(f"{module} -> {target} ({how})")
    return wrong


def import_circles(graph: dict[str, set[str]]) -> list[str]:
    circles = []
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    path: list[str] = []

    def visit(module: str) -> None:
        state[module] = 1
        path.append(module)
        for target in sorted(graph.get(module, ())):
            if state.get(target) == 1:
                circles.append(" -> ".join([*path[path.index(target) :], target]))
            elif target not in state:
                visit(target)
        path.pop()
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module)
    return circles


def test_every_import_points_down() -> None:
    wrong = wrong_imports(GRAPH)
    assert not wrong, "imports that do not point down:\n" + "\n".join(wrong)


def test_no_import_circle() -> None:
    circles = import_circles(GRAPH)
    assert not circles, "import circles:\n" + "\n".join(circles)


def test_the_checks_catch_what_they_are_for() -> None:
    """The tracker importing an event id from the events package, the app and a pipeline
    module importing each other, two comms modules in a loop: each is caught."""
    graph = {
        "camwatch.track.tracker": {"camwatch.events.model", "camwatch.geometry"},
        "camwatch.app": {"camwatch.pipeline.hooks"},
        "camwatch.pipeline.hooks": {"camwatch.app"},
        "camwatch.comms.a": {"camwatch.comms.b"},
        "camwatch.comms.b": {"camwatch.comms.a"},
        "camwatch.web.api": {"camwatch.comms.client"},
        "camwatch.faces.stage": {"camwatch.events.model"},
    }
    assert wrong_imports(graph) == [
        "camwatch.faces.stage -> camwatch.events.model (sideways)",
        "camwatch.pipeline.hooks -> camwatch.app (upward)",
        "camwatch.track.tracker -> camwatch.events.model (upward)",
    ]
    assert import_circles(graph) == [
        "camwatch.app -> camwatch.pipeline.hooks -> camwatch.app",
        "camwatch.comms.a -> camwatch.comms.b -> camwatch.comms.a",
    ]
    # and the real graph is read from the code, imports inside functions too
    assert "camwatch.ids" in GRAPH["camwatch.track.tracker"]
    assert "camwatch.comms.publisher" in GRAPH["camwatch.app"]
