"""Where camwatch keeps its data (models, database, snapshots)."""

from __future__ import annotations

import os
from pathlib import Path

from camwatch.const import ENV_DATA


def default_data_dir() -> Path:
    """CAMWATCH_DATA, else /var/lib/camwatch for root, else the XDG data directory."""
    env = os.environ.get(ENV_DATA)
    if env:
        return Path(env).expanduser()
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        return Path("/var/lib/camwatch")
    xdg = os.environ.get("XDG_DATA_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".local" / "share"
    return base / "camwatch"


def models_dir(data_dir: Path) -> Path:
    return data_dir / "models"


def database_path(data_dir: Path) -> Path:
    return data_dir / "camwatch.db"


def snapshots_dir(data_dir: Path) -> Path:
    return data_dir / "snapshots"
