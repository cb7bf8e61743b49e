"""Helpers for the web tests: a WebContext on a fresh data dir, logging in, filling the store,
or a real Camwatch that has processed real clips."""

from __future__ import annotations

import re
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import yaml

from camwatch.config import parse_config
from camwatch.control import ControlState
from camwatch.events.model import Event, EventMessage
from camwatch.events.snapshots import SnapshotWriter, annotate
from camwatch.events.store import EventStore
from camwatch.ids import new_event_id
from camwatch.state import RuntimeState
from camwatch.web import WebContext

PASSWORD = "correct horse battery"
_CSRF = re.compile(r'name="csrf-token" content="([^"]+)"')


def make_context(
    root: Path,
    cameras: Iterable[str] = ("front",),
    web: dict[str, Any] | None = None,
    write_config: bool = True,
    applied: list[Any] | None = None,
) -> WebContext:
    """A context with a real store, state and control on ``root``; the config is written to root/config.yml."""
    raw: dict[str, Any] = {
        "cameras": {name: {"url": f"/media/{name}.mp4"} for name in cameras},
        "web": {"host": "127.0.0.1", **(web or {})},
    }
    config_path = root / "config.yml"
    if write_config:
        config_path.write_text("# camwatch test config\n" + yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    config = parse_config(raw)
    data_dir = root / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    store = EventStore(data_dir / "camwatch.db", data_dir / "snapshots")
    state = RuntimeState(list(cameras))
    control = ControlState(
        data_dir / "control.json",
        {n: {"detect": True, "snapshots": True, "motion": True, "zones": {}} for n in cameras},
    )
    sink = applied if applied is not None else []
    return WebContext(
        config=config, config_path=config_path if write_config else None, store=store, state=state,
        control=control, data_dir=data_dir, apply_config=sink.append, version="9.9.9-test",
    )


def page_csrf(html: bytes | str) -> str:
    text = html.decode() if isinstance(html, bytes) else html
    match = _CSRF.search(text)
    assert match, "page has no CSRF token"
    return match.group(1)


def setup_and_login(client: Any, password: str = PASSWORD) -> str:
    """First-run password through the real form; returns the session's CSRF token."""
    token = page_csrf(client.get("/setup").data)
    response = client.post("/setup", data={"csrf_token": token, "password": password, "confirm": password})
    assert response.status_code == 302, response.data
    return page_csrf(client.get("/").data)


def add_event(
    ctx: WebContext,
    frame_bgr: np.ndarray,
    *,
    camera: str = "front",
    label: str = "person",
    score: float = 0.8,
    box: tuple[float, float, float, float] = (10, 10, 100, 200),
    start: float | None = None,
    zones: list[str] | None = None,
    **fields: Any,
) -> Event:
    """Save snapshots of ``frame_bgr`` and store an ended event for them."""
    start = time.time() - 60 if start is None else start
    event = Event(
        id=new_event_id(start), camera=camera, label=label, start_time=start, score=score, top_score=score,
        box=list(box), frame_size=[frame_bgr.shape[1], frame_bgr.shape[0]], zones_entered=zones or [],
        end_time=start + 5, end_reason="left", snapshot_time=start + 1, **fields,
    )
    writer = SnapshotWriter(ctx.store.snapshot_dir)
    event.has_snapshot = writer.save(event.id, frame_bgr, box, label, score)
    ctx.store.handle("event", EventMessage("end", event))
    return event


def set_still(ctx: WebContext, camera: str, frame_bgr: np.ndarray, box: Any = None, label: str = "", score: float = 0) -> None:
    image = annotate(frame_bgr, box, label, score) if box is not None else frame_bgr
    ok, jpeg = cv2.imencode(".jpg", image)
    assert ok
    ctx.state.set_still(camera, jpeg.tobytes(), time.time())


def write_clip_config(root: Path, clips: dict[str, Path], web_port: int | None = None,
                      camera_settings: dict[str, dict[str, Any]] | None = None, **extra: Any) -> Path:
    """root/config.yml: one file camera per clip (played as fast as the pipeline takes it), the shared SSD;
    ``camera_settings``: more settings of a camera (its display name, zones...)."""
    from tests.conftest import SSD_MODEL

    more = camera_settings or {}
    raw: dict[str, Any] = {
        "detector": {"model_path": str(SSD_MODEL)},
        "cameras": {name: {"url": str(clip), "source": {"realtime": False}, **more.get(name, {})}
                    for name, clip in clips.items()},
        "web": {"enabled": web_port is not None, "host": "127.0.0.1", "port": web_port or 5080},
        **extra,
    }
    path = root / "config.yml"
    path.write_text("# camwatch test config\n" + yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return path


def import_face_models(data_dir: Path) -> None:
    """The BlazeFace models (short and full range) imported into ``data_dir`` like `camwatch models import`."""
    from camwatch.models import ModelManager
    from tests.conftest import MODELS

    manager = ModelManager(data_dir)
    for name in ("face_detection_short_range.tflite", "face_detection_full_range.tflite"):
        manager.import_file(MODELS / name)


def run_clips(
    root: Path, clips: dict[str, Path], web_port: int | None = None, timeout: float = 240,
    camera_settings: dict[str, dict[str, Any]] | None = None, **extra: Any,
) -> Any:
    """A real Camwatch (faces on, no MQTT) that has processed every clip; still running, web UI on ``web_port``.

    ``extra`` are further top-level config sections (e.g. ``notify``). The caller stops it (``app.stop()``).
    """
    from camwatch.app import Camwatch
    from camwatch.config import load_config

    config_path = write_clip_config(root, clips, web_port, camera_settings, **extra)
    data_dir = root / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    import_face_models(data_dir)
    app = Camwatch(
        load_config(config_path), config_path=config_path, data_dir=data_dir, with_web=web_port is not None,
        with_mqtt=False, start_time=time.time() - 3600,
    )
    app.start()
    try:
        assert app.wait(timeout), f"the clips were not processed within {timeout:.0f} s"
        assert app.bus.flush(30), "the event bus did not drain"
    except BaseException:
        app.stop()
        raise
    return app
