"""Everything the web layer reads and changes, handed over by the application."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from camwatch.config import CamwatchConfig
from camwatch.config.writer import ConfigWriteError, ConfigWriter
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

    @property
    def secrets_dir(self) -> Path:
        """Where passwords and keys given on the settings pages are kept (0600 files)."""
        return self.data_dir / "secrets"

    def config_writer(self, what: str) -> ConfigWriter:
        """The config file's writer; a 409 naming ``what`` cannot be saved when camwatch
        runs without a config file."""
        if self.config_path is None:
            raise ConfigWriteError(f"camwatch runs without a config file: {what} cannot be saved", 409)
        return ConfigWriter(self.config_path, self.config_lock)

    def use_config(self, config: CamwatchConfig) -> None:
        """A config just written: the pages and the running system follow it."""
        self.config = config
        if self.apply_config is not None:
            self.apply_config(config)
