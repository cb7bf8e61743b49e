"""Doctor checks that talk to other devices: each camera (reachable, real fps) and the MQTT login."""

from __future__ import annotations

import logging
import os
import ssl
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from camwatch.config.camera import CameraConfig
from camwatch.config.mqtt import MqttConfig
from camwatch.secrets import redact, redact_url
from camwatch.service.report import CheckResult, fail, ok, warn
from camwatch.sources.base import SourceKind, source_kind

_LOGGER = logging.getLogger(__name__)

SAMPLE_SECONDS = 2.0
FILE_FRAMES = 10
FPS_TOLERANCE = 0.9  # a camera below 90 % of the detect fps gets a warning


@dataclass(frozen=True)
class CameraProbe:
    opened: bool
    frames: int = 0
    fps: float = 0.0  # measured (streams, USB) or nominal (files)
    width: int = 0
    height: int = 0
    error: str = ""


def probe_camera(url: str, open_timeout: float, read_timeout: float, seconds: float = SAMPLE_SECONDS, rtsp_transport: str = "tcp") -> CameraProbe:
    """Open ``url`` with timeouts and read for ``seconds``; files report their own frame rate."""
    import cv2

    kind = source_kind(url)
    if kind is SourceKind.USB:
        node = Path(url) if url.startswith("/dev/") else Path(f"/dev/video{url}")
        if not node.exists():
            return CameraProbe(False, error=f"{node} does not exist")
        if not os.access(node, os.R_OK | os.W_OK):
            return CameraProbe(False, error=f"no access to {node} (not in group video?)")
        cap = cv2.VideoCapture(int(node.name[len("video") :]), cv2.CAP_V4L2)
    else:
        if kind is SourceKind.FILE and not Path(url).is_file():
            return CameraProbe(False, error=f"file not found: {url}")
        if url.lower().startswith("rtsp"):
            os.environ.setdefault("OPENCV_FFMPEG_CAPTURE_OPTIONS", f"rtsp_transport;{rtsp_transport}")
        params = [
            cv2.CAP_PROP_OPEN_TIMEOUT_MSEC,
            int(open_timeout * 1000),
            cv2.CAP_PROP_READ_TIMEOUT_MSEC,
            int(read_timeout * 1000),
        ]
        cap = cv2.VideoCapture(url, cv2.CAP_FFMPEG, params)
    try:
        if not cap.isOpened():
            return CameraProbe(False, error=f"cannot be opened (waited up to {open_timeout:g} s)")
        first: float | None = None
        last = 0.0
        frames = 0
        width = height = 0
        deadline = time.monotonic() + open_timeout + seconds
        while time.monotonic() < deadline:
            grabbed, image = cap.read()
            now = time.monotonic()
            if not grabbed:
                break
            frames += 1
            last = now
            if kind is SourceKind.FILE and frames >= FILE_FRAMES:
                break  # a file's rate is its own; a few frames prove it decodes
            if first is None:
                first = now
                height, width = image.shape[:2]
                deadline = now + seconds
        if frames == 0:
            return CameraProbe(False, error=f"opened, but no frame arrived within {read_timeout:g} s")
        if kind is SourceKind.FILE:
            fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
        else:
            fps = (frames - 1) / (last - first) if first is not None and last > first else 0.0
        return CameraProbe(True, frames, fps, width, height)
    finally:
        cap.release()


def check_camera(name: str, camera: CameraConfig, timeout: float) -> CheckResult:
    check = f"camera {name}"
    where = redact_url(camera.url)
    if not camera.enabled:
        return ok(check, f"{where}: disabled, not checked")
    source = camera.source
    kind = source_kind(camera.url)
    probe = probe_camera(
        camera.url,
        min(source.open_timeout, timeout),
        min(source.read_timeout, timeout),
        rtsp_transport=source.rtsp_transport,
    )
    if not probe.opened:
        fixes = {
            SourceKind.STREAM: "check the address, user and password, and that the camera is on the network (ffprobe URL)",
            SourceKind.USB: "plug the camera in; the service user needs the group video",
            SourceKind.FILE: f"fix the path in cameras.{name}.url",
        }
        return fail(check, f"{where}: {redact(probe.error)}", fixes[kind])
    size = f"{probe.width}x{probe.height}"
    if kind is SourceKind.FILE:
        detail = f"{where}: readable, {size} at {probe.fps:.1f} fps (file)"
    else:
        detail = f"{where}: {size}, {probe.fps:.1f} fps measured over {SAMPLE_SECONDS:g} s"
    wanted = camera.detect.fps
    if camera.detect.enabled and probe.fps and probe.fps < wanted * FPS_TOLERANCE:
        return warn(
            check,
            f"{detail}; below detect.fps {wanted:g}",
            f"lower cameras.{name}.detect.fps or raise the camera's frame rate",
        )
    return ok(check, detail)


def check_cameras(cameras: dict[str, CameraConfig], timeout: float) -> list[CheckResult]:
    """Every camera at once (one thread each) so that a dead one costs one timeout, not N."""
    results: dict[str, CheckResult] = {}

    def work(name: str, camera: CameraConfig) -> None:
        try:
            results[name] = check_camera(name, camera, timeout)
        except Exception as exc:  # a probe must never break the whole report
            results[name] = fail(f"camera {name}", f"probe crashed: {exc}", "report this as a bug")

    threads = [threading.Thread(target=work, args=item, name=f"doctor-{item[0]}", daemon=True) for item in cameras.items()]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 2 * timeout + SAMPLE_SECONDS + 5
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    return [
        results.get(name)
        or fail(f"camera {name}", f"{redact_url(cam.url)}: no answer within {timeout:g} s", "check that the camera is on")
        for name, cam in cameras.items()
    ]


# -------------------------------------------------------------------- MQTT
def _tls_context(mqtt: MqttConfig) -> ssl.SSLContext | None:
    """TLS when the config asks for it (fields added by the MQTT section, read defensively)."""
    tls = getattr(mqtt, "tls", None)
    enabled = tls if isinstance(tls, bool) else bool(getattr(tls, "enabled", False))
    if not enabled:
        return None
    source = tls if tls is not None and not isinstance(tls, bool) else mqtt
    ca = next((getattr(source, a) for a in ("ca_file", "ca_certs", "tls_ca", "ca") if getattr(source, a, None)), None)
    context = ssl.create_default_context(cafile=str(ca) if ca else None)
    cert = getattr(source, "certfile", None) or getattr(source, "client_cert", None)
    key = getattr(source, "keyfile", None) or getattr(source, "client_key", None)
    if cert:
        context.load_cert_chain(str(cert), str(key) if key else None)
    if getattr(source, "insecure", False) or getattr(source, "tls_insecure", False):
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def check_mqtt(mqtt: MqttConfig, timeout: float) -> CheckResult:
    if not mqtt.enabled:
        return ok("mqtt", "disabled (mqtt.enabled: false)")
    import paho.mqtt.client as paho

    where = f"{mqtt.host}:{mqtt.port}"
    client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=f"camwatch-doctor-{os.getpid()}")
    client.connect_timeout = timeout
    answer: dict[str, object] = {}
    done = threading.Event()

    def on_connect(_c: object, _u: object, _f: object, reason: object, _p: object = None) -> None:
        answer["reason"] = reason
        done.set()

    client.on_connect = on_connect
    if mqtt.username:
        password = mqtt.password.get_secret_value() if mqtt.password else None
        client.username_pw_set(mqtt.username, password)
    try:
        context = _tls_context(mqtt)
    except (OSError, ssl.SSLError) as exc:
        return fail("mqtt", f"TLS files cannot be loaded: {exc}", "fix the mqtt TLS file paths")
    if context is not None:
        client.tls_set_context(context)
    try:
        client.connect(mqtt.host, mqtt.port, keepalive=max(5, int(timeout)))
    except ssl.SSLError as exc:
        return fail("mqtt", f"TLS handshake with {where} failed: {exc.reason or exc}", "check the CA file and the broker's certificate name")
    except OSError as exc:
        return fail("mqtt", f"cannot reach {where}: {exc.strerror or exc}", "start the broker, or fix mqtt.host / mqtt.port")
    client.loop_start()
    try:
        if not done.wait(timeout):
            return fail("mqtt", f"{where} accepted the connection but sent no answer within {timeout:g} s", "is this port really an MQTT broker (TLS on a plain port)?")
        reason = answer["reason"]
        if getattr(reason, "is_failure", False):
            user = f" as {mqtt.username}" if mqtt.username else " anonymously"
            return fail("mqtt", f"{where} refused the login{user}: {reason}", "check mqtt.username and mqtt.password (and the broker's ACL)")
        tls_note = " over TLS" if context is not None else ""
        return ok("mqtt", f"logged in to {where}{tls_note}" + (f" as {mqtt.username}" if mqtt.username else ""))
    finally:
        client.disconnect()
        client.loop_stop()
