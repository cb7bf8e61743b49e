"""Label maps: one name per line, line number = class output of the model."""

from __future__ import annotations

from pathlib import Path

from camwatch.detectors.base import ModelError

#: Names that mark an unused class id in a label map (never reported as a detection).
UNUSED_LABELS = frozenset({"n/a", "???", ""})


def load_labels(path: Path) -> list[str]:
    """One label per line, index = class output. ``0 person`` style lines are accepted too."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise ModelError(f"cannot read label file {path}: {reason}") from exc
    labels = []
    for line in lines:
        parts = line.strip().split(maxsplit=1)
        labels.append(parts[1] if len(parts) == 2 and parts[0].isdigit() else line.strip())
    while labels and labels[-1] == "":
        labels.pop()
    if not labels:
        raise ModelError(f"label file {path} is empty")
    return labels
