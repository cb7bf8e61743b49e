"""Constants shared across camwatch (one place, as in Home Assistant integrations)."""

from __future__ import annotations

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
MODELS_MANIFEST = PROJECT_ROOT / "models" / "manifest.yml"
WEB_ROOT = PROJECT_ROOT / "web"

DEFAULT_CONFIG_PATH = Path("/etc/camwatch/config.yml")
ENV_CONFIG = "CAMWATCH_CONFIG"
ENV_DATA = "CAMWATCH_DATA"

DEFAULT_TRACKED_LABELS: tuple[str, ...] = ("person", "car", "dog", "cat", "bicycle", "motorcycle")
# Chosen by person recall per detector-millisecond on ../shared/eval (docs/detection.md).
DEFAULT_DETECTOR_MODEL = "yolox_nano_ti_lite_320"
DEFAULT_DETECT_FPS = 5.0

# Model output layouts (camwatch.detectors.layout reads them from a model's tensors).
#: TFLite_Detection_PostProcess outputs: boxes [1,N,4], classes [1,N], scores [1,N], count [1].
LAYOUT_SSD = "ssd"
#: One [1, anchors, 5 + classes] tensor over grids of strides 8, 16 and 32 (no NMS inside).
LAYOUT_YOLOX = "yolox"
#: MediaPipe BlazeFace: regressors [1,A,16] and classificators [1,A,1] (a face detector).
LAYOUT_BLAZEFACE = "blazeface"
OBJECT_LAYOUTS = (LAYOUT_SSD, LAYOUT_YOLOX)

EDGETPU_LIBRARY = "libedgetpu.so.1"
EDGETPU_USB_IDS = ("1a6e:089a", "18d1:9302")
EDGETPU_PCIE_DEVICE = Path("/dev/apex_0")

# Event types carried on the bus and over MQTT.
EVENT_NEW = "new"
EVENT_UPDATE = "update"
EVENT_END = "end"
# End reason of events still open when camwatch stops cleanly.
END_REASON_STOPPED = "camwatch stopped"

# Alert kinds (Home Assistant `event` entity event types).
ALERT_TYPES: tuple[str, ...] = (
    "person",
    "vehicle",
    "animal",
    "object",
    "face",
    "known_face",
    "zone_entry",
    "loitering",
    "tamper",
    "unusual_activity",
)
VEHICLE_LABELS = frozenset({"car", "truck", "bus", "motorcycle", "bicycle"})
ANIMAL_LABELS = frozenset({"dog", "cat", "bird", "horse", "sheep", "cow", "bear"})

# Bus topics (camwatch.events.bus.EventBus). Payload shapes:
#   TOPIC_EVENT:        camwatch.events.model.EventMessage
#   TOPIC_CAMERA_STATE: camwatch.state.CameraStatus.to_dict()
#   TOPIC_MOTION:       {"camera": str, "active": bool, "time": float}
#   TOPIC_COUNTS:       {"camera": str, "counts": {label: n}, "zones": {zone: {label: n}}}
#   TOPIC_STATS:        {"uptime": s, "cpu_percent": .., "memory_mb": .., "detector": {...}, "cameras": {...}}
#   TOPIC_TAMPER:       {"camera": str, "state": str, "active": bool, "time": float}
TOPIC_EVENT = "event"
TOPIC_CAMERA_STATE = "camera_state"
TOPIC_MOTION = "motion"
TOPIC_COUNTS = "counts"
TOPIC_STATS = "stats"
TOPIC_TAMPER = "tamper"
