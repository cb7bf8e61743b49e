"""Everything the web layer reads and changes, handed over by the application."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from camwatch.config import CamwatchConfig
from camwatch.control import ControlState
from camwatch.events.store import EventStore
from camwatch.state import RuntimeState


@dataclass
class WebContext:
    config: CamwatchConfig
    config_path: Path | None
    store: EventStore
    state: RuntimeState
    control: ControlState
    data_dir: Path
    apply_config: Callable[[CamwatchConfig], None] | None = None
    version: str = "0"
    #: Known-faces gallery and face finder (faces issue); the /api/faces routes need them.
    faces_gallery: Any = None
    faces_finder: Any = None
    #: Set when the server stops: live streams end.
    stopping: threading.Event = field(default_factory=threading.Event)
    #: Serialises config file writes (zones editor).
    config_lock: threading.Lock = field(default_factory=threading.Lock)
