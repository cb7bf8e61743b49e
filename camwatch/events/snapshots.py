"""Best-snapshot files of an event: clean frame, annotated frame, thumbnail and face crop.

Files live flat in one directory, named after the event id::

    <id>-clean.jpg   the whole frame as captured
    <id>.jpg         the whole frame with the object's box, label and score (and zones)
    <id>-thumb.jpg   a crop around the object, ``thumb_height`` pixels high
    <id>-face.jpg    the best face crop (faces issue)

Every write goes to a temporary file first and is moved into place with ``os.replace``, so
a reader (or a ``kill -9``) never sees half a JPEG. A failing disk (ENOSPC, EIO...) never
raises: ``save`` returns False, the failure is logged once per burst and ``on_full`` is
called so that retention can free space at once.
"""

from __future__ import annotations

import errno
import logging
import re
import threading
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Literal

import cv2
import numpy as np

from camwatch.atomic import write_atomic

_LOGGER = logging.getLogger(__name__)

SnapshotKind = Literal["clean", "annotated", "thumb", "face"]
SNAPSHOT_KINDS: tuple[SnapshotKind, ...] = ("clean", "annotated", "thumb", "face")
_SUFFIX: dict[str, str] = {"clean": "-clean.jpg", "annotated": ".jpg", "thumb": "-thumb.jpg", "face": "-face.jpg"}
_SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})

_BOX_COLOR = (0, 200, 255)  # BGR amber
_ZONE_COLOR = (255, 160, 0)  # BGR blue-ish
_TEXT_COLOR = (0, 0, 0)

ZonePolygons = Sequence[tuple[str, Sequence[tuple[float, float]]]]


def is_valid_event_id(event_id: str) -> bool:
    """Event ids become file names: letters, digits, ``.``, ``_`` and ``-`` only, no ``..``."""
    return bool(_SAFE_ID.fullmatch(event_id)) and ".." not in event_id


def snapshot_path(directory: Path, event_id: str, kind: SnapshotKind = "annotated") -> Path:
    """Path of one snapshot file; raises ValueError for an unsafe id or an unknown kind."""
    if not is_valid_event_id(event_id):
        raise ValueError(f"invalid event id {event_id!r}")
    try:
        suffix = _SUFFIX[kind]
    except KeyError:
        raise ValueError(f"unknown snapshot kind {kind!r} (known: {', '.join(SNAPSHOT_KINDS)})") from None
    return directory / f"{event_id}{suffix}"


def event_id_of(filename: str) -> str | None:
    """The event id a snapshot file name belongs to, or None for a foreign file."""
    for suffix in ("-clean.jpg", "-thumb.jpg", "-face.jpg", ".jpg"):
        if filename.endswith(suffix):
            event_id = filename[: -len(suffix)]
            return event_id if is_valid_event_id(event_id) else None
    return None


def annotate(
    frame_bgr: np.ndarray,
    box: Sequence[float],
    label: str,
    score: float,
    zones_polys: ZonePolygons | None = None,
) -> np.ndarray:
    """A copy of the frame with zones, the object's box and ``label score%`` drawn on it."""
    image = frame_bgr.copy()
    height, width = image.shape[:2]
    thickness = max(1, round(min(width, height) / 300))
    for name, points in zones_polys or ():
        pts = np.array([[round(x), round(y)] for x, y in points], dtype=np.int32)
        if len(pts) >= 3:
            cv2.polylines(image, [pts], True, _ZONE_COLOR, thickness, cv2.LINE_AA)
            cv2.putText(image, name, tuple(pts[0]), cv2.FONT_HERSHEY_SIMPLEX, 0.4 * thickness, _ZONE_COLOR, 1)
    x1, y1, x2, y2 = (round(v) for v in box)
    cv2.rectangle(image, (x1, y1), (x2, y2), _BOX_COLOR, thickness + 1)
    text = f"{label} {score * 100:.0f}%"
    scale = 0.5 * thickness
    (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)
    ty = y1 - 4 if y1 - th - base - 4 >= 0 else min(height - 1, y2 + th + base + 4)
    cv2.rectangle(image, (x1, ty - th - base), (x1 + tw + 4, ty + base // 2), _BOX_COLOR, -1)
    cv2.putText(image, text, (x1 + 2, ty - base // 2), cv2.FONT_HERSHEY_SIMPLEX, scale, _TEXT_COLOR, thickness)
    return image


def thumbnail(frame_bgr: np.ndarray, box: Sequence[float], height: int, margin: float = 0.25) -> np.ndarray:
    """A crop around the box (``margin`` of its size on each side, at least 4:3 wide), ``height`` px high."""
    frame_h, frame_w = frame_bgr.shape[:2]
    x1, y1, x2, y2 = box
    bw, bh = max(1.0, x2 - x1), max(1.0, y2 - y1)
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    half_h = bh * (0.5 + margin)
    half_w = max(bw * (0.5 + margin), half_h * 0.75)  # never narrower than 3:4
    cx1, cx2 = max(0, int(cx - half_w)), min(frame_w, int(cx + half_w))
    cy1, cy2 = max(0, int(cy - half_h)), min(frame_h, int(cy + half_h))
    crop = frame_bgr[cy1:cy2, cx1:cx2]
    if crop.size == 0:
        crop = frame_bgr
    scale = height / crop.shape[0]
    width = max(1, round(crop.shape[1] * scale))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    return cv2.resize(crop, (width, height), interpolation=interpolation)


class SnapshotWriter:
    """Writes and removes the snapshot files of events in ``directory``."""

    def __init__(
        self,
        directory: Path,
        quality: int = 85,
        thumb_height: int = 120,
        on_full: Callable[[], None] | None = None,
    ) -> None:
        self.directory = Path(directory)
        self.quality = int(quality)
        self.thumb_height = int(thumb_height)
        self.on_full = on_full  # called (outside any lock) when a write fails for lack of space
        self._lock = threading.Lock()
        self._failing = False
        self._disk_full = False
        self.failures = 0  # writes that failed since start
        self.saved = 0

    # ------------------------------------------------------------------ paths
    def path(self, event_id: str, kind: SnapshotKind = "annotated") -> Path:
        return snapshot_path(self.directory, event_id, kind)

    def files(self, event_id: str) -> list[Path]:
        """The snapshot files that exist for this event."""
        return [p for p in (self.path(event_id, k) for k in SNAPSHOT_KINDS) if p.is_file()]

    # ------------------------------------------------------------------ writing
    def save(
        self,
        event_id: str,
        frame_bgr: np.ndarray,
        box: Sequence[float],
        label: str,
        score: float,
        zones_polys: ZonePolygons | None = None,
    ) -> bool:
        """Write clean, annotated and thumbnail JPEGs; False (never an exception) when it fails."""
        try:
            images = {
                "clean": frame_bgr,
                "annotated": annotate(frame_bgr, box, label, score, zones_polys),
                "thumb": thumbnail(frame_bgr, box, self.thumb_height),
            }
        except (cv2.error, ValueError, TypeError) as exc:
            _LOGGER.error("cannot render snapshot of event %s: %s", event_id, exc)
            return False
        # The annotated file is written last: its presence means the set is complete.
        return self._write_all(event_id, [(k, images[k]) for k in ("clean", "thumb", "annotated")])

    def save_face(self, event_id: str, crop_bgr: np.ndarray) -> bool:
        """Write the face crop of an event; False when it fails."""
        if crop_bgr is None or crop_bgr.size == 0:
            return False
        return self._write_all(event_id, [("face", crop_bgr)])

    def delete(self, event_id: str) -> int:
        """Remove every snapshot file of the event; returns the bytes freed."""
        freed = 0
        for kind in SNAPSHOT_KINDS:
            path = self.path(event_id, kind)
            try:
                size = path.stat().st_size
                path.unlink()
                freed += size
            except FileNotFoundError:
                continue
            except OSError as exc:
                _LOGGER.warning("cannot remove %s: %s", path, exc)
        return freed

    def _write_all(self, event_id: str, images: Iterable[tuple[str, np.ndarray]]) -> bool:
        try:
            paths = [(self.path(event_id, kind), image) for kind, image in images]  # type: ignore[arg-type]
        except ValueError as exc:
            _LOGGER.error("not saving snapshot: %s", exc)
            return False
        params = [cv2.IMWRITE_JPEG_QUALITY, self.quality]
        full = False
        try:
            with self._lock:
                self.directory.mkdir(parents=True, exist_ok=True)
                for path, image in paths:
                    ok, buffer = cv2.imencode(".jpg", image, params)
                    if not ok:
                        raise OSError(errno.EINVAL, "JPEG encoding failed")
                    write_atomic(path, buffer.tobytes())
                self.saved += 1
                self._disk_full = False
                if self._failing:
                    self._failing = False
                    _LOGGER.info("snapshot writes to %s work again", self.directory)
            return True
        except OSError as exc:
            full = exc.errno in _FULL_ERRNOS
            with self._lock:
                self.failures += 1
                self._disk_full = full
                if not self._failing:
                    self._failing = True
                    _LOGGER.error("cannot write snapshots to %s: %s", self.directory, exc.strerror or exc)
            return False
        finally:
            if full and self.on_full is not None:
                try:
                    self.on_full()
                except Exception:
                    _LOGGER.exception("snapshot on_full callback failed")

    @property
    def failing(self) -> bool:
        """True between a failed write and the next successful one."""
        return self._failing

    @property
    def disk_full(self) -> bool:
        """True when the last write failed for lack of space (ENOSPC/EDQUOT), until one succeeds."""
        return self._disk_full


