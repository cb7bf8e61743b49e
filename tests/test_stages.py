"""The stage chain a camera gets from its config, what its stages can reach, and what a
rebuild for a changed config keeps."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from camwatch.app import Camwatch
from camwatch.config import CamwatchConfig, parse_config
from camwatch.config.anomaly import ScheduleWindow
from camwatch.const import TOPIC_TAMPER
from camwatch.events.alerting import AlertPolicy
from camwatch.events.bus import EventBus
from camwatch.events.stage import Status, TickContext
from camwatch.pipeline.camera import CameraPipeline
from camwatch.pipeline.services import Services
from camwatch.pipeline.stages import FaceStep, LoiteringStep, TamperStep, UnusualActivityStep
from camwatch.state import RuntimeState
from tests.conftest import MODELS, SSD_MODEL, require
from tests.support.web import import_face_models

FORBIDDEN = (Camwatch, CameraPipeline, Services, EventBus, RuntimeState)


def config(**camera: Any) -> CamwatchConfig:
    return parse_config({
        "detector": {"model_path": str(SSD_MODEL)},
        "faces": {"enabled": True, "recognition": False},
        "web": {"enabled": False},
        "mqtt": {"enabled": False},
        "cameras": {"door": {"url": "unused.mp4", **camera}},
    })  # fmt: skip


def reachable(root: object, depth: int = 4) -> list[object]:
    """Objects reachable from ``root`` through attributes, bound methods and containers."""
    seen: dict[int, object] = {}
    todo = [(root, 0)]
    while todo:
        obj, level = todo.pop()
        if id(obj) in seen or level > depth or isinstance(obj, (str, bytes, int, float, np.ndarray, type)):
            continue
        seen[id(obj)] = obj
        children: list[object] = []
        if hasattr(obj, "__self__"):
            children.append(obj.__self__)
        if isinstance(obj, dict):
            children += list(obj.values())
        elif isinstance(obj, (list, tuple, set)):
            children += list(obj)
        for name in getattr(type(obj), "__slots__", ()):
            children.append(getattr(obj, name, None))
        children += list(getattr(obj, "__dict__", {}).values())
        todo += [(child, level + 1) for child in children if child is not None]
    return list(seen.values())


def test_the_chain_and_what_its_stages_can_reach(tmp_path: Path) -> None:
    require(SSD_MODEL.is_file() and (MODELS / "face_detection_short_range.tflite").is_file(), "models")
    import_face_models(tmp_path)
    zones = {"porch": {"coordinates": [[0, 0.5], [1, 0.5], [1, 1], [0, 1]], "loitering_time": 20}}
    app = Camwatch(config(zones=zones), data_dir=tmp_path, with_web=False, with_mqtt=False)
    try:
        stages = app.pipelines["door"].stages
        assert [type(s) for s in stages] == [FaceStep, TamperStep, LoiteringStep, UnusualActivityStep, AlertPolicy]
        for stage in stages:
            found = [type(o).__name__ for o in reachable(stage) if isinstance(o, FORBIDDEN)]
            assert found == [], f"{type(stage).__name__} reaches {found}"
    finally:
        app.stop()


def test_a_rebuild_keeps_state_whose_config_did_not_change(tmp_path: Path) -> None:
    require(SSD_MODEL.is_file() and (MODELS / "face_detection_short_range.tflite").is_file(), "models")
    import_face_models(tmp_path)
    app = Camwatch(config(), data_dir=tmp_path, with_web=False, with_mqtt=False)
    try:
        before = app.pipelines["door"]
        faces, tamper = before.stages[0], before.stages[1]
        assert isinstance(faces, FaceStep) and isinstance(tamper, TamperStep)
        assert not any(isinstance(s, LoiteringStep) for s in before.stages)

        # a zone with loitering added: loitering joins the chain; faces and tamper carry on
        zones = {"porch": {"coordinates": [[0, 0.5], [1, 0.5], [1, 1], [0, 1]], "loitering_time": 20}}
        app.apply_config(config(zones=zones))
        after = app.pipelines["door"]
        assert after is not before and after.tracker is before.tracker
        assert [type(s) for s in after.stages][:3] == [FaceStep, TamperStep, LoiteringStep]
        assert after.stages[0].faces is faces.faces and after.stages[1] is tamper  # type: ignore[attr-defined]
        assert after.engine.config.zones.keys() == {"porch"}

        # another tamper sensitivity: a fresh tamper detector
        app.apply_config(config(zones=zones, tamper={"persistence": {"covered": 9}}))
        assert app.pipelines["door"].stages[1] is not tamper

        # new armed schedules: the alerting stage decides by them from now on
        monday_noon = datetime(2026, 1, 5, 12, 0).timestamp()
        alerting = app.pipelines["door"].stages[-1]
        assert isinstance(alerting, AlertPolicy) and alerting.alerts_enabled("person", monday_noon)
        night = config(zones=zones, tamper={"persistence": {"covered": 9}})
        night = night.model_copy(update={"alerts": night.alerts.model_copy(update={
            "schedules": [ScheduleWindow(start="20:00", end="06:00", labels=["person"])]})})
        app.apply_config(night)
        assert app.pipelines["door"].stages[-1] is alerting
        assert not alerting.alerts_enabled("person", monday_noon) and alerting.alerts_enabled("car", monday_noon)
    finally:
        app.stop()


def test_tamper_status_goes_through_emit_and_its_events_are_returned() -> None:
    """A stage reports a status through the context and returns its events: it has no bus."""
    step = TamperStep("door", config().cameras["door"].tamper)
    emitted: list[Status] = []
    offline = TickContext(camera="door", ts=100.0, messages=(), emit=emitted.append, offline=True)
    messages = step.on_idle(offline)
    assert [m.event.subtype for m in messages] == ["offline"] and messages[0].type == "new"
    assert [s.topic for s in emitted] == [TOPIC_TAMPER]
    assert emitted[0].payload["state"] == "offline" and emitted[0].state["tamper"]["offline"] is True
    ended = step.on_finish(TickContext(camera="door", ts=101.0, messages=(), emit=emitted.append))
    assert [(m.type, m.event.end_reason) for m in ended] == [("end", "camwatch stopped")]
