"""Tamper, loitering, schedules and unusual-activity settings."""

from __future__ import annotations

import re

from pydantic import Field, field_validator, model_validator

from camwatch.config.base import Section

WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HHMM = re.compile(r"^([01]?\d|2[0-4]):([0-5]\d)$")


class TamperPersistence(Section):
    """Seconds a condition must last before it raises an alert."""

    covered: float = Field(3.0, ge=0, title="Covered (s)", description="A covered or blocked lens must last this long.")
    defocused: float = Field(5.0, ge=0, title="Defocused (s)", description="A blurred view must last this long.")
    moved: float = Field(5.0, ge=0, title="Moved (s)", description="A view that no longer matches the scene must last this long.")
    frozen: float = Field(5.0, ge=0, title="Frozen (s)", description="Identical frames must last this long.")
    view_dark: float = Field(10.0, ge=0, title="Dark (s)", description="A nearly black view must last this long (low severity).")
    offline: float = Field(0.0, ge=0, title="Offline (s)", description="Extra wait after the camera worker reports the stream lost.")


class TamperConfig(Section):
    enabled: bool = Field(True, title="Enabled", description="Watch this camera for covering, blur, moves and freezes.")
    sample_width: int = Field(
        160, ge=64, le=640, title="Analysis width", description="Width of the small grey image the checks run on (pixels)."
    )
    persistence: TamperPersistence = Field(
        default_factory=TamperPersistence, title="Persistence", description="Seconds each state must last before it fires."
    )
    clear_seconds: float = Field(
        2.0, ge=0, title="Clear after (s)", description="A state clears when the view has been healthy this long."
    )
    cooldown: float = Field(
        60.0, ge=0, title="Cooldown (s)",
        description="A state that fires again within this time of clearing is reported as a repeat (still alerted).",
    )
    learn_seconds: float = Field(
        300.0, gt=0, title="Learning time constant (s)", description="How slowly the reference scene follows a healthy, still view."
    )
    learn_motion: float = Field(
        3.0, gt=0, title="Learning motion limit", description="Mean grey change between samples above which the reference does not learn."
    )
    dark_luma: float = Field(
        20.0, ge=0, le=255, title="Dark level", description="Mean brightness (0-255) below which the view counts as dark."
    )
    uniform_std: float = Field(
        5.0, gt=0, title="Blank detail", description="Grey-level spread below which a grid cell counts as blank."
    )
    covered_fraction: float = Field(
        0.8, gt=0, le=1, title="Covered fraction", description="Share of the detailed scene that must turn blank to count as covered."
    )
    defocus_ratio: float = Field(
        0.45, gt=0, lt=1, title="Defocus ratio", description="Sharpness below this fraction of the reference counts as defocused."
    )
    match_threshold: float = Field(
        0.35, gt=-1, lt=1, title="Cell match", description="Edge correlation below which a grid cell no longer matches the reference."
    )
    moved_fraction: float = Field(
        0.7, gt=0, le=1, title="Moved fraction", description="Share of detailed cells that must stop matching to count as moved."
    )
    frozen_diff: float = Field(
        0.5, ge=0, title="Frozen difference", description="Largest grey change between samples that still counts as an identical frame."
    )
    relight_change: float = Field(
        0.25, gt=0, title="Light change", description="Relative brightness jump that counts as a light switch (re-reference if the edges still match)."
    )


class ScheduleWindow(Section):
    """One armed window, local time. A window whose end is before its start crosses midnight."""

    days: list[str] = Field(
        default_factory=lambda: list(WEEKDAYS),
        title="Days",
        description="Days the window starts on: mon tue wed thu fri sat sun.",
    )
    start: str = Field("00:00", title="Start", description="Start time HH:MM (local).")
    end: str = Field("24:00", title="End", description="End time HH:MM (local); earlier than start means the next day.")
    labels: list[str] = Field(
        default_factory=list, title="Labels", description="Alert labels this window arms; empty means every label."
    )

    @field_validator("days")
    @classmethod
    def _days(cls, value: list[str]) -> list[str]:
        days = [d.strip().lower()[:3] for d in value]
        bad = [d for d, raw in zip(days, value, strict=True) if d not in WEEKDAYS or not raw.strip()]
        if bad:
            raise ValueError(f"unknown day(s) {bad}; use {' '.join(WEEKDAYS)}")
        if not days:
            raise ValueError("at least one day is required")
        return days

    @field_validator("start", "end")
    @classmethod
    def _time(cls, value: str) -> str:
        value = str(value).strip()
        match = _HHMM.fullmatch(value)
        if not match or (match.group(1) == "24" and match.group(2) != "00"):
            raise ValueError(f"time {value!r} must be HH:MM between 00:00 and 24:00")
        return value

    def minutes(self) -> tuple[int, int]:
        """(start, end) in minutes after midnight."""
        sh, sm = self.start.split(":")
        eh, em = self.end.split(":")
        return int(sh) * 60 + int(sm), int(eh) * 60 + int(em)

    @model_validator(mode="after")
    def _not_empty(self) -> ScheduleWindow:
        start, end = self.minutes()
        if start == end:
            raise ValueError(f"window {self.start}-{self.end} is empty (start equals end)")
        return self


class UnusualActivityConfig(Section):
    enabled: bool = Field(True, title="Enabled", description="Learn normal activity and alert on rare events.")
    labels: list[str] = Field(
        default_factory=lambda: ["person", "car"], title="Labels", description="Labels whose activity is learned."
    )
    min_learning_days: float = Field(
        7.0, ge=0, title="Learning period (days)", description="No unusual-activity alert before this much history."
    )
    probability: float = Field(
        0.05,
        gt=0,
        lt=1,
        title="Probability threshold",
        description="An event is unusual when the chance of one in that hour of the week is below this.",
    )
    z_threshold: float | None = Field(
        None,
        gt=0,
        title="Z-score threshold",
        description="If set, use a Poisson z-score above this instead of the probability.",
    )
    half_life_days: float = Field(
        28.0, gt=0, title="Decay half-life (days)", description="Old activity counts half after this many days."
    )
    cooldown: float = Field(
        3600.0, ge=0, title="Cooldown (s)", description="At most one unusual-activity alert per camera and label in this time."
    )


class AlertsConfig(Section):
    """Global alerting (armed modes, schedules, unusual activity)."""

    armed: bool = Field(True, title="Armed", description="When disarmed, events are recorded but raise no alerts.")
    schedules: list[ScheduleWindow] = Field(
        default_factory=list,
        title="Armed schedule",
        description="Windows when alerts are on; a label named by no window is always armed.",
    )
    tamper_always: bool = Field(
        True, title="Tamper always alerts", description="Tamper and offline alerts ignore disarming and schedules."
    )
    unusual: UnusualActivityConfig = Field(
        default_factory=UnusualActivityConfig,
        title="Unusual activity",
        description="Per camera, label and hour-of-week activity baseline.",
    )
