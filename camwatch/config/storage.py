"""Event store and retention."""

from __future__ import annotations

from pydantic import Field

from camwatch.config.base import Section


class StorageConfig(Section):
    retain_days: float = Field(30, gt=0, title="Retention (days)", description="Events older than this are deleted.")
    max_snapshot_mb: float = Field(
        1024, gt=0, title="Snapshot budget (MB)", description="Total snapshot size; the oldest are pruned beyond it."
    )
    prune_interval: float = Field(
        3600,
        ge=60,
        title="Pruning interval (s)",
        description="How often retention runs; it also runs at once when the disk is full.",
    )
