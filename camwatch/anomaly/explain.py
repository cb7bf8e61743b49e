"""One-sentence explanations of every anomaly, as shown in the UI, MQTT and `camwatch replay`."""

from __future__ import annotations

from datetime import datetime, tzinfo

_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def duration(seconds: float) -> str:
    """``42 s``, ``3 min``, ``2 h 5 min``."""
    seconds = max(0.0, seconds)
    if seconds < 90:
        return f"{seconds:.0f} s"
    minutes = round(seconds / 60)
    if minutes < 90:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60} min"


def covered(blank_percent: float, seconds: float) -> str:
    return f"View covered: {blank_percent:.0f}% of the scene turned blank for {duration(seconds)} (lens blocked or covered)."


def defocused(sharp_percent: float, seconds: float) -> str:
    return f"View out of focus: sharpness fell to {sharp_percent:.0f}% of normal for {duration(seconds)} (blurred, smeared or defocused lens)."


def moved(mismatch_percent: float, shift_x: float, shift_y: float, seconds: float) -> str:
    parts = []
    if abs(shift_x) >= 2:
        parts.append(f"{abs(shift_x):.0f}% {'right' if shift_x > 0 else 'left'}")
    if abs(shift_y) >= 2:
        parts.append(f"{abs(shift_y):.0f}% {'down' if shift_y > 0 else 'up'}")
    turned = f", picture shifted about {' and '.join(parts)}" if parts else ""
    return f"Camera moved: {mismatch_percent:.0f}% of the scene no longer matches the learned view{turned} for {duration(seconds)}."


def frozen(seconds: float) -> str:
    return f"Picture frozen: every frame has been identical for {duration(seconds)}."


def view_dark(mean_luma: float, seconds: float) -> str:
    return f"View dark: the picture has been nearly black (brightness {mean_luma:.0f}/255) for {duration(seconds)}; lights off or night without IR."


def offline(seconds: float) -> str:
    return f"Camera offline: no frames for {duration(seconds)}."


def recovered(state: str, seconds: float) -> str:
    names = {
        "covered": "no longer covered",
        "defocused": "back in focus",
        "moved": "matches its usual scene again",
        "frozen": "moving again",
        "view_dark": "no longer dark",
        "offline": "back online",
    }
    return f"View recovered: {names.get(state, state + ' cleared')} after {duration(seconds)}."


def loitering(label: str, zone: str, seconds: float, limit: float) -> str:
    return f"{label.capitalize()} loitering in {zone}: {duration(seconds)} in the zone (limit {duration(limit)})."


def unusual(label: str, ts: float, rate: float, tz: tzinfo | None = None) -> str:
    """``person at 03:12 on a Tuesday; usually 0.02 per hour at this time``."""
    when = datetime.fromtimestamp(ts, tz)
    return f"{label} at {when:%H:%M} on a {_DAYS[when.weekday()]}; usually {rate:.2f} per hour at this time."
