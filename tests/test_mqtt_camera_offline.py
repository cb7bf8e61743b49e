"""A camera cut while camwatch runs, as Home Assistant sees it over MQTT.

Real GStreamer RTSP camera (killed and restarted), real detector, real Mosquitto. The
offline alert must reach Home Assistant: the alert event entity and the tamper sensor stay
available while the camera's Connectivity is off, and every cut raises its own alert, even
two within the tamper cooldown.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from camwatch.app import Camwatch
from camwatch.config import parse_config
from tests.conftest import SSD_MODEL
from tests.mqtt_support import Subscriber, ha_available
from tests.support.mosquitto import MosquittoBroker
from tests.support.rtsp import RtspServer

CAMERA = "gate"
DISCOVERY = f"homeassistant/+/camwatch_node1_{CAMERA}/+/config"


def _app(broker: MosquittoBroker, url: str, data_dir: Path) -> Camwatch:
    config = parse_config({
        "detector": {"model_path": str(SSD_MODEL)},
        "faces": {"enabled": False},
        "web": {"enabled": False},
        "mqtt": {"enabled": True, "host": "127.0.0.1", "port": broker.port, "reconnect_min": 1, "reconnect_max": 2},
        "node": {"name": "node1"},
        "cameras": {CAMERA: {
            "url": url,
            "source": {"open_timeout": 3, "read_timeout": 2, "reconnect_min": 0.5, "reconnect_max": 2},
            "detect": {"fps": 5},
            # the live test pattern is a ball on black: keep the dark-view notice out of the way;
            # tamper OFF half a second after the picture is back (not the default 2 s)
            "tamper": {"cooldown": 60, "clear_seconds": 0.5, "persistence": {"view_dark": 100000}},
        }},
    })  # fmt: skip
    return Camwatch(config, data_dir=data_dir, with_web=False)


def _offline_alerts(sub: Subscriber) -> list[dict[str, Any]]:
    alerts = [m.json() for m in sub.on(f"camwatch/node1/{CAMERA}/alerts")]
    return [a for a in alerts if a["event_type"] == "tamper" and a.get("subtype") == "offline"]


def _entity(sub: Subscriber, component: str, key: str) -> dict[str, Any]:
    found = sub.last(f"homeassistant/{component}/camwatch_node1_{CAMERA}/{key}/config")
    assert found is not None, f"no discovery config for {component} {key}"
    return found.json()


def _last(sub: Subscriber) -> Callable[[str], bytes | None]:
    def last(topic: str) -> bytes | None:
        message = sub.last(topic)
        return None if message is None else message.payload

    return last


def test_a_cut_camera_alerts_in_home_assistant_every_time(
    mosquitto_broker: MosquittoBroker, rtsp_server_factory: Callable[..., RtspServer], data_dir: Path, ssd_model: Path
) -> None:
    camera = rtsp_server_factory(None)
    sub = Subscriber(mosquitto_broker.port, ["camwatch/#", "homeassistant/#"])
    app = _app(mosquitto_broker, camera.url, data_dir)
    app.start()
    try:
        status = f"camwatch/node1/{CAMERA}/status"
        sub.wait_payload(status, "online", timeout=30)
        alert, tamper = _entity(sub, "event", "alert"), _entity(sub, "binary_sensor", "tamper")
        connectivity = _entity(sub, "binary_sensor", "connectivity")
        assert ha_available(alert, _last(sub)) and ha_available(tamper, _last(sub))

        camera.kill()
        first = sub.wait_for(lambda: _offline_alerts(sub), 20, "an offline alert")[0]
        assert sub.last(status).payload == b"offline"
        # Home Assistant: Connectivity off (and itself available), the alert entity and the
        # tamper sensor available, so the offline alert and tamper ON are shown.
        assert ha_available(connectivity, _last(sub))
        assert sub.last(status).payload == connectivity["payload_off"].encode()
        assert ha_available(alert, _last(sub)), alert["availability"]
        assert ha_available(tamper, _last(sub)), tamper["availability"]
        assert first["event_type"] in alert["event_types"] and first["camera"] == CAMERA
        sub.wait_for(lambda: (sub.last(f"camwatch/node1/{CAMERA}/tamper").json() or {}).get("active"), 10, "tamper ON")

        camera.restart()
        sub.wait_payload(status, "online", timeout=30)
        sub.wait_for(lambda: not sub.last(f"camwatch/node1/{CAMERA}/tamper").json()["active"], 10, "tamper OFF")
        back = time.monotonic()
        camera.kill()  # cut again well within the 60 s cooldown
        alerts = sub.wait_for(lambda: len(_offline_alerts(sub)) >= 2 and _offline_alerts(sub), 20, "a second alert")
        assert time.monotonic() - back < 60
        assert alerts[1]["event_id"] != alerts[0]["event_id"]
        assert ha_available(alert, _last(sub))
    finally:
        app.stop()
        sub.close()
