"""Logging settings."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from camwatch.config.base import Section

Level = Literal["debug", "info", "warning", "error", "critical"]


class LoggingConfig(Section):
    level: Level = Field("info", title="Level", description="Default log level.")
    modules: dict[str, Level] = Field(
        default_factory=dict,
        title="Per-module levels",
        description="Log level per logger name, e.g. {camwatch.comms: debug}.",
    )
