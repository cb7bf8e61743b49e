"""Camera tampering and loss of view: covered, defocused, moved, frozen, dark, offline.

Each sampled frame is reduced to a small grey image and compared with a reference scene
that is learned slowly, only while the view is healthy and still. One condition (the first
that holds, in the order dark, covered, frozen, defocused, moved) is noted per frame; a
state fires when its condition has lasted its persistence and clears after
``clear_seconds`` of a healthy view. Every firing is reported, however soon after the last
one: a state that comes back within its cooldown is marked as a repeat (``repeat`` counts
them), never held back, so a camera cut twice in a minute raises two alerts.

A sudden global brightness change whose edges still match the reference (lights switched,
IR day/night) re-references the scene instead of raising anything.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from camwatch.anomaly import explain
from camwatch.anomaly.scene import ReferenceScene, SceneSample, cell_correlations, small_gray
from camwatch.config.anomaly import TamperConfig

_LOGGER = logging.getLogger(__name__)

COVERED = "covered"
DEFOCUSED = "defocused"
MOVED = "moved"
FROZEN = "frozen"
VIEW_DARK = "view_dark"
OFFLINE = "offline"
TAMPER_STATES: tuple[str, ...] = (COVERED, DEFOCUSED, MOVED, FROZEN, OFFLINE)
ALL_STATES: tuple[str, ...] = (*TAMPER_STATES, VIEW_DARK)
SEVERITY: dict[str, str] = {
    COVERED: "high",
    MOVED: "high",
    DEFOCUSED: "medium",
    FROZEN: "medium",
    OFFLINE: "medium",
    VIEW_DARK: "low",
}
# A dark view that follows a partial covering of the lit scene within this time is a cover.
_COVER_TO_DARK_SECONDS = 3.0
_PARTIAL_COVER = 0.3
# A covered view keeps less than this share of the reference's edge energy.
_COVER_EDGE_SHARE = 0.35
# A view still rejected as moved after this long is accepted as the new scene.
_RELEARN_MOVED_SECONDS = 900.0
# After a global light change, at least this share of the detailed cells must still match.
_RELIGHT_MAX_MISMATCH = 0.85
# A light change must hold this long (a passing truck does not) before the scene is re-referenced.
_RELIGHT_SETTLE_SECONDS = 1.0


@dataclass(frozen=True, slots=True)
class TamperChange:
    """A state starting (``active``) or clearing; ``state`` is one of ALL_STATES."""

    state: str
    active: bool
    ts: float
    severity: str
    description: str
    repeat: int = 0  # how many times it fired before within the cooldown of each clearing

    @property
    def is_tamper(self) -> bool:
        """True for real tampering; ``view_dark`` is only a low-severity notice."""
        return self.state in TAMPER_STATES

    def to_dict(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "active": self.active,
            "time": self.ts,
            "severity": self.severity,
            "description": self.description,
            "repeat": self.repeat,
        }


@dataclass(slots=True)
class _Timer:
    since: float | None = None  # condition first seen (this episode)
    last_true: float | None = None
    active: bool = False
    active_since: float = 0.0
    cleared_at: float | None = None
    repeats: int = 0


@dataclass(slots=True)
class _Finding:
    state: str | None
    info: dict[str, float] = field(default_factory=dict)


class TamperDetector:
    """Per-camera tamper watcher; call :meth:`update` on every sampled frame (about 2-5 fps)."""

    def __init__(self, config: TamperConfig, frame_size: tuple[int, int] | None = None, camera: str = "") -> None:
        self._cfg = config
        self._camera = camera
        self.frame_size = frame_size
        self.reference = ReferenceScene()
        self._timers: dict[str, _Timer] = {s: _Timer() for s in ALL_STATES}
        self._prev: SceneSample | None = None
        self._current: SceneSample | None = None
        self._last_learn: float | None = None
        self._partial_cover_ts: float | None = None
        self._relit_since: float | None = None
        self._offline = False

    # ------------------------------------------------------------------ public
    @property
    def active_states(self) -> list[str]:
        return [s for s, t in self._timers.items() if t.active]

    def status(self) -> dict[str, Any]:
        """For RuntimeState.tamper: every state's on/off, plus whether a scene is learned."""
        status: dict[str, Any] = {s: t.active for s, t in self._timers.items()}
        status["reference"] = self.reference.ready
        return status

    def update(self, frame_bgr: np.ndarray, ts: float) -> list[TamperChange]:
        if not self._cfg.enabled:
            return []
        sample = SceneSample.measure(small_gray(frame_bgr, self._cfg.sample_width))
        motion, max_diff = self._difference(sample)
        self._current = sample
        finding = self._classify(sample, motion, max_diff, ts)
        changes = self._step(finding, ts)
        if finding.state is None:
            self._maybe_learn(sample, motion, ts)
        elif finding.state == MOVED:
            self._maybe_accept_move(sample, motion, ts)
        self._prev = sample
        return changes

    def _maybe_accept_move(self, sample: SceneSample, motion: float, ts: float) -> None:
        """A moved view that stayed still for a long time becomes the new reference."""
        timer = self._timers[MOVED]
        if timer.active and ts - timer.active_since >= _RELEARN_MOVED_SECONDS and motion < self._cfg.learn_motion:
            _LOGGER.info("%s: moved view stable for %.0f s, accepting it as the new scene", self._camera or "camera", ts - timer.active_since)
            self.reference.reset(sample)

    def set_offline(self, ts: float) -> list[TamperChange]:
        """The camera worker lost the stream."""
        if not self._offline:
            self._offline = True
            timer = self._timers[OFFLINE]
            timer.since = timer.last_true = ts
        return self.poll(ts)

    def set_online(self, ts: float) -> list[TamperChange]:
        """The stream is back; frames before and after the gap are not compared."""
        self._offline = False
        self._prev = None
        timer = self._timers[OFFLINE]
        timer.since = timer.last_true = None
        if timer.active:
            return [self._clear(OFFLINE, timer, ts)]
        return []

    def poll(self, ts: float) -> list[TamperChange]:
        """Advance timers without a frame (call periodically while the camera is offline)."""
        if not self._offline:
            return []
        timer = self._timers[OFFLINE]
        timer.last_true = ts
        fired = self._maybe_fire(OFFLINE, timer, ts, {})
        return [fired] if fired else []

    # ---------------------------------------------------------------- analysis
    def _difference(self, sample: SceneSample) -> tuple[float, float]:
        if self._prev is None or self._prev.gray.shape != sample.gray.shape:
            return float("inf"), float("inf")
        diff = np.abs(sample.gray - self._prev.gray)
        return float(diff.mean()), float(diff.max())

    def _classify(self, s: SceneSample, motion: float, max_diff: float, ts: float) -> _Finding:
        cfg = self._cfg
        ref = self.reference
        blank = self._blank_fraction(s, ts)
        if s.mean < cfg.dark_luma:
            cover = self._timers[COVERED]
            recent_partial = self._partial_cover_ts is not None and ts - self._partial_cover_ts <= _COVER_TO_DARK_SECONDS
            if cover.active or cover.since is not None or recent_partial:
                return _Finding(COVERED, {"blank": 1.0})
            return _Finding(VIEW_DARK, {"mean": s.mean})
        if blank >= cfg.covered_fraction and self._edges_lost(s):
            return _Finding(COVERED, {"blank": blank})
        if max_diff <= cfg.frozen_diff:
            return _Finding(FROZEN)
        if not ref.ready or ref.cell_std is None or ref.grad is None:
            return _Finding(None)
        if ref.sharpness > 0 and s.sharpness < cfg.defocus_ratio * ref.sharpness:
            return _Finding(DEFOCUSED, {"sharp": s.sharpness / ref.sharpness})
        cells = ref.detailed_cells(2 * cfg.uniform_std)
        corr = cell_correlations(ref.grad, s.grad)[cells]
        mismatch = float((corr < cfg.match_threshold).mean())
        relit = self._relit(s)
        stable = motion <= 2 * cfg.learn_motion
        if not relit:
            self._relit_since = None
        elif self._relit_since is None:
            self._relit_since = ts
        if relit and mismatch <= _RELIGHT_MAX_MISMATCH:
            if stable and self._relit_since is not None and ts - self._relit_since >= _RELIGHT_SETTLE_SECONDS:
                _LOGGER.info(
                    "%s: light change (brightness %.0f -> %.0f), edges still match: re-referencing the scene",
                    self._camera or "camera", ref.mean, s.mean,
                )
                ref.reset(s)
            return _Finding(None)
        if mismatch >= cfg.moved_fraction:
            return _Finding(MOVED, {"mismatch": mismatch})
        return _Finding(None)

    def _edges_lost(self, s: SceneSample) -> bool:
        """Most of the edge energy is gone (allowing for a dimmer light)."""
        ref = self.reference
        if ref.grad is None:
            return True
        gain = min(1.0, s.mean / max(ref.mean, 1.0))
        return float(s.grad.mean()) < _COVER_EDGE_SHARE * float(ref.grad.mean()) * gain

    def _relit(self, s: SceneSample) -> bool:
        """A global brightness change: most detailed cells got brighter (or darker) together."""
        ref = self.reference
        if ref.cell_mean is None:
            return False
        ratio = (s.cell_mean + 1.0) / (ref.cell_mean + 1.0)
        step = self._cfg.relight_change
        brighter = float((ratio > 1.0 + step / 2).mean())
        darker = float((ratio < 1.0 - step / 2).mean())
        overall = abs(s.mean - ref.mean) / max(ref.mean, 1.0)
        return overall > step and max(brighter, darker) >= 0.8

    def _blank_fraction(self, s: SceneSample, ts: float) -> float:
        """Share of the reference's detailed cells that are now blank (all cells without a reference)."""
        cfg = self._cfg
        ref = self.reference
        if ref.cell_std is None:
            return 1.0 if s.std < cfg.uniform_std else 0.0
        cells = ref.detailed_cells(2 * cfg.uniform_std)
        gain = min(1.0, s.mean / max(ref.mean, 1.0))
        blank = (s.cell_std[cells] < cfg.uniform_std) & (s.cell_std[cells] < 0.3 * ref.cell_std[cells] * gain + 1.0)
        fraction = float(blank.mean())
        if fraction >= _PARTIAL_COVER and blank.any() and not blank.all():
            open_cells = cells[~blank]
            lit = float(np.mean(s.cell_mean[open_cells]))
            if lit >= 0.6 * max(ref.mean, 1.0):  # the rest of the view stays lit: something is in front
                self._partial_cover_ts = ts
        return fraction

    def _maybe_learn(self, s: SceneSample, motion: float, ts: float) -> None:
        if self.active_states and self.active_states != [OFFLINE]:
            return
        if motion > self._cfg.learn_motion and self.reference.ready:
            return
        dt = 0.2 if self._last_learn is None else max(0.0, ts - self._last_learn)
        self._last_learn = ts
        self.reference.learn(s, min(1.0, dt / self._cfg.learn_seconds))

    # ------------------------------------------------------------ state machine
    def _step(self, finding: _Finding, ts: float) -> list[TamperChange]:
        changes: list[TamperChange] = []
        for state, timer in self._timers.items():
            if state == OFFLINE:
                continue
            if state == finding.state:
                if timer.since is None or (timer.last_true is not None and ts - timer.last_true > self._cfg.clear_seconds):
                    timer.since = ts
                timer.last_true = ts
                fired = self._maybe_fire(state, timer, ts, finding.info)
                if fired:
                    changes.append(fired)
            elif timer.last_true is not None and ts - timer.last_true >= self._cfg.clear_seconds:
                timer.since = timer.last_true = None
                if timer.active:
                    changes.append(self._clear(state, timer, ts))
        return changes

    def _maybe_fire(self, state: str, timer: _Timer, ts: float, info: dict[str, float]) -> TamperChange | None:
        if timer.active or timer.since is None:
            return None
        lasted = ts - timer.since
        if lasted < getattr(self._cfg.persistence, state):
            return None
        recent = timer.cleared_at is not None and ts - timer.cleared_at < self._cfg.cooldown
        timer.repeats = timer.repeats + 1 if recent else 0
        timer.active = True
        timer.active_since = ts
        description = self._describe(state, lasted, info)
        if timer.repeats:
            description += f" (again: {timer.repeats + 1} times, each within {self._cfg.cooldown:g} s of the last)"
        change = TamperChange(state, True, ts, SEVERITY[state], description, timer.repeats)
        log = _LOGGER.info if state == VIEW_DARK else _LOGGER.warning
        log("%s: %s", self._camera or "camera", change.description)
        return change

    def _clear(self, state: str, timer: _Timer, ts: float) -> TamperChange:
        timer.active = False
        timer.cleared_at = ts
        change = TamperChange(
            state, False, ts, SEVERITY[state], explain.recovered(state, ts - timer.active_since), timer.repeats
        )
        _LOGGER.info("%s: %s", self._camera or "camera", change.description)
        return change

    def _describe(self, state: str, lasted: float, info: dict[str, float]) -> str:
        if state == COVERED:
            return explain.covered(100 * info.get("blank", 1.0), lasted)
        if state == DEFOCUSED:
            return explain.defocused(100 * info.get("sharp", 0.0), lasted)
        if state == MOVED:
            current = self._current
            dx, dy = self.reference.shift_percent(current.gray) if current is not None else (0.0, 0.0)
            return explain.moved(100 * info.get("mismatch", 1.0), dx, dy, lasted)
        if state == FROZEN:
            return explain.frozen(lasted)
        if state == VIEW_DARK:
            return explain.view_dark(info.get("mean", 0.0), lasted)
        return explain.offline(lasted)
