"""Per-camera config: source, sampling, objects, motion, zones, snapshots."""

from __future__ import annotations

from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator

from camwatch.config.anomaly import TamperConfig
from camwatch.config.base import Section
from camwatch.config.faces import CameraFacesConfig
from camwatch.config.motion import MotionConfig
from camwatch.config.tracking import TrackingConfig
from camwatch.config.zones import ZoneConfig, check_labels, check_zone_name
from camwatch.const import DEFAULT_DETECT_FPS, DEFAULT_TRACKED_LABELS

Polygon = list[tuple[float, float]]


class SourceConfig(Section):
    realtime: bool = Field(
        True,
        title="Real-time files",
        description="Play a file at its own frame rate (false: as fast as the pipeline can take it).",
    )
    loop: bool = Field(False, title="Loop files", description="Start a file again when it ends.")
    open_timeout: float = Field(5.0, gt=0, title="Open timeout (s)", description="Give up opening a stream after this.")
    read_timeout: float = Field(
        3.0, gt=0, title="Read timeout (s)", description="A stream that sends no frame for this long is offline."
    )
    reconnect_min: float = Field(1.0, gt=0, title="First retry (s)", description="First reconnect delay.")
    reconnect_max: float = Field(60.0, gt=0, title="Longest retry (s)", description="Reconnect backoff cap.")
    rtsp_transport: str = Field("tcp", title="RTSP transport", description="tcp or udp.")


class DetectConfig(Section):
    enabled: bool = Field(True, title="Detection", description="Run object detection on this camera.")
    fps: float = Field(
        DEFAULT_DETECT_FPS, gt=0, le=60, title="Detect fps", description="Frames per second sampled for detection."
    )
    tracked_interval: float = Field(
        2.0,
        ge=0,
        title="Tracked re-detect (s)",
        description="A confirmed object whose motion stays within its box is re-detected this often; "
        "new motion and unconfirmed objects are detected every frame.",
    )
    full_frame_interval: float = Field(
        20.0,
        ge=0,
        title="Full-frame check (s)",
        description="Run the detector on the whole frame this often even without motion; 0 disables.",
    )
    full_frame_tiles: bool = Field(
        False,
        title="Tiled full-frame check",
        description="On a frame at least twice the detector's input on its short side, run the full-frame check "
        "on overlapping tiles (6 on a 960x1080 view, 8 on 1080p) instead of the whole frame shrunk to the "
        "input. Off by default: people who move are already looked at closely where they move, and on the "
        "test footage tiles found nobody more while costing detector calls.",
    )
    max_regions: int = Field(
        4,
        ge=1,
        le=64,
        title="Detector budget per frame",
        description="Most detector calls one sampled frame of this camera may take (times the detect fps per "
        "second; the periodic full-frame check aside): a busy scene is looked at in larger squares, then in "
        "turns, so it cannot starve the other cameras.",
    )
    brighten_dim: bool = Field(
        True,
        title="Brighten very dim views",
        description="Stretch the grey range of a very dim view (a room lit by a screen) before the detector looks: "
        "people there score much higher; a view with more contrast is left alone.",
    )
    region_context: float | None = Field(
        None,
        ge=1.0,
        le=6.0,
        title="Region context",
        description="Side of the square the detector looks at around something that moves, as a multiple of "
        "its size: the detector needs some scene around a person to recognise one (a small, dim or half-hidden "
        "person more than a clear one). Empty: what suits the detector model (3 for the YOLOX models, 2 for "
        "the SSDs).",
    )
    max_upscale: float | None = Field(
        None,
        ge=1.0,
        le=6.0,
        title="Largest enlargement",
        description="How much a region around something small may be enlarged to the detector's input size "
        "(a distant person scores higher enlarged, but an enlarged crop is only blur to some models); 1 never "
        "enlarges. Empty: what suits the detector model (2 for the YOLOX models, 3 for the SSDs).",
    )


class ObjectFilter(Section):
    min_score: float = Field(0.5, ge=0, le=1, title="Minimum score", description="Detections below are discarded.")
    threshold: float = Field(
        0.65, ge=0, le=1, title="Confirm threshold", description="Median score an object needs to be confirmed."
    )
    moving_threshold: float = Field(
        0.5,
        ge=0,
        le=1,
        title="Moving confirm threshold",
        description="Median score enough to confirm an object that has really moved (travelled across the view "
        "on moving pixels, see tracking.moving_distance): small and dimly lit walkers score lower than people "
        "close by, and scenery that looks like a person never moves.",
    )
    min_area: float = Field(0, ge=0, title="Minimum area", description="Box area in pixels (or 0..1 of the frame).")
    max_area: float = Field(1e12, gt=0, title="Maximum area", description="Box area in pixels (or 0..1 of the frame).")
    min_ratio: float = Field(0, ge=0, title="Minimum width/height", description="Smallest box aspect ratio.")
    max_ratio: float = Field(1e6, gt=0, title="Maximum width/height", description="Largest box aspect ratio.")
    mask: list[Polygon] = Field(
        default_factory=list,
        title="Object masks",
        description="Polygons where an object's bottom centre is ignored (shares of the frame when every value lies in 0..1, else pixels).",
    )


class ObjectsConfig(Section):
    track: list[str] = Field(
        default_factory=lambda: list(DEFAULT_TRACKED_LABELS),
        title="Tracked labels",
        description="Labels turned into tracked objects and events.",
    )
    filters: dict[str, ObjectFilter] = Field(
        default_factory=dict, title="Filters", description="Per-label filters; missing labels use the defaults."
    )

    @field_validator("track")
    @classmethod
    def _labels(cls, value: list[str]) -> list[str]:
        return check_labels(value)  # they become MQTT topic levels

    def filter_for(self, label: str) -> ObjectFilter:
        return self.filters.get(label) or ObjectFilter()


class SnapshotsConfig(Section):
    enabled: bool = Field(True, title="Snapshots", description="Save the best snapshot of each event.")
    quality: int = Field(85, ge=10, le=100, title="JPEG quality", description="JPEG quality of saved snapshots.")
    thumbnail_height: int = Field(
        120, ge=32, le=720, title="Thumbnail height", description="Height of the event thumbnail in pixels."
    )


class CameraMqttConfig(Section):
    snapshot: bool = Field(
        False,
        title="Publish snapshots",
        description="Opt in to publishing the best-snapshot JPEG (cropped, scaled) over MQTT.",
    )
    snapshot_height: int = Field(
        270, ge=64, le=1080, title="Snapshot height", description="Height of the published snapshot crop."
    )


def has_scheme(url: str) -> bool:
    """A network address (rtsp://, http://...) rather than a file or a device."""
    return "://" in url


class CameraConfig(Section):
    url: str = Field(
        title="Source",
        description="rtsp:// or http(s):// stream, a video file path, or a USB camera (/dev/videoN).",
    )
    username: str | None = Field(
        None,
        title="User name",
        description="Login of an rtsp:// or http(s):// stream; camwatch adds it to the address only when it "
        "opens the stream (keep it out of url).",
    )
    password: SecretStr | None = Field(
        None,
        title="Password",
        description="Password of the stream: write ${file:/path} or ${ENV_VAR}, never the password itself (the "
        "web page stores it in a 0600 file). Added to the address only when the stream is opened; never shown.",
    )
    enabled: bool = Field(True, title="Enabled", description="Capture from this camera.")
    name: str | None = Field(None, title="Display name", description="Human-friendly name; defaults to the key.")
    source: SourceConfig = Field(default_factory=SourceConfig, title="Source options", description="Capture options.")
    detect: DetectConfig = Field(default_factory=DetectConfig, title="Detection", description="Sampling and detection.")
    objects: ObjectsConfig = Field(
        default_factory=ObjectsConfig, title="Objects", description="Tracked labels and filters."
    )
    motion: MotionConfig = Field(default_factory=MotionConfig, title="Motion", description="Motion gating.")
    zones: dict[str, ZoneConfig] = Field(
        default_factory=dict, title="Zones",
        description="Named zones; names are lower case letters, digits and _ (used in MQTT topics).",
    )
    tracking: TrackingConfig = Field(
        default_factory=TrackingConfig, title="Tracking", description="Object tracker settings."
    )
    snapshots: SnapshotsConfig = Field(
        default_factory=SnapshotsConfig, title="Snapshots", description="Best-snapshot settings."
    )
    mqtt: CameraMqttConfig = Field(
        default_factory=CameraMqttConfig, title="MQTT", description="Per-camera MQTT options."
    )
    faces: CameraFacesConfig = Field(
        default_factory=CameraFacesConfig, title="Faces", description="Per-camera face options."
    )
    tamper: TamperConfig = Field(default_factory=TamperConfig, title="Tamper", description="Tamper detection.")

    @field_validator("zones")
    @classmethod
    def _zone_names(cls, value: dict[str, ZoneConfig]) -> dict[str, ZoneConfig]:
        for name in value:
            check_zone_name(name)
        return value

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty")
        return value.strip()

    @model_validator(mode="after")
    def _login(self) -> CameraConfig:
        if self.username is None and self.password is None:
            return self
        if not has_scheme(self.url):
            raise ValueError("username and password apply to rtsp:// and http(s):// streams only")
        try:
            in_url = urlsplit(self.url).username is not None
        except ValueError:
            in_url = False
        if in_url:
            raise ValueError("the url holds a user name already: give it either in the url or as username/password")
        if self.password is not None and not self.username:
            raise ValueError("a password needs a username")
        return self
