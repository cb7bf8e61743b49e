"""The root of camwatch's configuration file."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator

from camwatch.config.anomaly import AlertsConfig
from camwatch.config.base import Section
from camwatch.config.camera import CameraConfig
from camwatch.config.detector import DetectorConfig
from camwatch.config.faces import FacesConfig
from camwatch.config.fleet import NodeConfig, UpdatesConfig
from camwatch.config.logging import LoggingConfig
from camwatch.config.mqtt import MqttConfig
from camwatch.config.notify import NotifyConfig
from camwatch.config.storage import StorageConfig
from camwatch.config.web import WebConfig
from camwatch.names import CAMERA_NAME

CAMERA_NAME_RULE = CAMERA_NAME.rule


class CamwatchConfig(Section):
    cameras: dict[str, CameraConfig] = Field(
        default_factory=dict,
        title="Cameras",
        description="Cameras by name (lower case letters, digits and _; used in MQTT topics and URLs). "
        "None is fine: camwatch then serves its web page, where cameras can be added.",
    )
    detector: DetectorConfig = Field(
        default_factory=DetectorConfig, title="Detector", description="Object detector model and device."
    )
    data_dir: Path | None = Field(
        None,
        title="Data directory",
        description="Models, database and snapshots; default CAMWATCH_DATA, /var/lib/camwatch or XDG data home.",
    )
    storage: StorageConfig = Field(default_factory=StorageConfig, title="Storage", description="Retention.")
    mqtt: MqttConfig = Field(default_factory=MqttConfig, title="MQTT", description="MQTT publisher.")
    web: WebConfig = Field(default_factory=WebConfig, title="Web UI", description="Local web UI and API.")
    faces: FacesConfig = Field(default_factory=FacesConfig, title="Faces", description="Face alerts.")
    notify: NotifyConfig = Field(
        default_factory=NotifyConfig, title="Notifications", description="Messages to phones and services (Apprise)."
    )
    alerts: AlertsConfig = Field(
        default_factory=AlertsConfig, title="Alerts", description="Armed modes, schedules and unusual activity."
    )
    logging: LoggingConfig = Field(default_factory=LoggingConfig, title="Logging", description="Log levels.")
    node: NodeConfig = Field(
        default_factory=NodeConfig, title="Node", description="This camwatch's name among many on one broker."
    )
    updates: UpdatesConfig = Field(
        default_factory=UpdatesConfig,
        title="Model updates",
        description="Signed over-the-air model updates over MQTT (off until a key is set).",
    )

    @field_validator("cameras", mode="before")
    @classmethod
    def _no_cameras(cls, value: object) -> object:
        return {} if value is None else value  # `cameras:` with nothing under it

    @field_validator("cameras")
    @classmethod
    def _names(cls, value: dict[str, CameraConfig]) -> dict[str, CameraConfig]:
        for name in value:
            CAMERA_NAME.check(name)
        return value
