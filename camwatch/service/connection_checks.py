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
from camwatch.sources.base import SourceKind, source_kind, with_credentials

_LOGGER = logging.getLogger(__name__)

SAMPLE_SECONDS = 2.0
# Streams hand over the frames FFmpeg buffered while probing in one burst: skip them.
WARMUP_SECONDS = 0.5
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
        first: float | None = None  # first decoded frame
        start: float | None = None  # first frame after the warm-up: the measurement begins
        last = 0.0
        frames = measured = 0
        width = height = 0
        deadline = time.monotonic() + open_timeout + read_timeout
        while time.monotonic() < deadline:
            grabbed, image = cap.read()
            now = time.monotonic()
            if not grabbed:
                break
            frames += 1
            if first is None:
                first = now
                height, width = image.shape[:2]
                deadline = now + WARMUP_SECONDS + seconds + read_timeout
            if kind is SourceKind.FILE and frames >= FILE_FRAMES:
                break  # a file's rate is its own; a few frames prove it decodes
            if start is None and now - first >= WARMUP_SECONDS:
                start = now
                deadline = now + seconds
            elif start is not None:
                measured += 1
                last = now
        if frames == 0:
            return CameraProbe(False, error=f"opened, but no frame arrived within {read_timeout:g} s")
        if kind is SourceKind.FILE:
            fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
        elif start is not None and last > start:
            fps = measured / (last - start)
        else:
            return CameraProbe(False, frames, error=f"frames stopped after {frames} (no frame for {read_timeout:g} s)")
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
    password = camera.password.get_secret_value() if camera.password is not None else None
    probe = probe_camera(
        with_credentials(camera.url, camera.username, password),
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
    """The same TLS settings the publisher uses (camwatch.comms.client)."""
    if not mqtt.use_tls:
        return None
    for name, path in (("ca_file", mqtt.ca_file), ("cert_file", mqtt.cert_file), ("key_file", mqtt.key_file)):
        if path is not None and not Path(path).is_file():
            raise OSError(f"mqtt.{name}: {path} is not a readable file")
    key_password = mqtt.key_password.get_secret_value() if mqtt.key_password else None
    context = ssl.create_default_context(cafile=str(mqtt.ca_file) if mqtt.ca_file else None)
    if mqtt.cert_file is not None:
        context.load_cert_chain(str(mqtt.cert_file), str(mqtt.key_file), password=key_password)
    if mqtt.tls_insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def check_mqtt(mqtt: MqttConfig, timeout: float) -> CheckResult:
    """Connect and log in with the configured credentials and TLS, then disconnect."""
    if not mqtt.enabled:
        return ok("mqtt", "disabled (mqtt.enabled: false)")
    import paho.mqtt.client as paho

    from camwatch.comms.client import describe_connect_error, describe_refusal

    where = f"{mqtt.host}:{mqtt.port}"
    client = paho.Client(
        paho.CallbackAPIVersion.VERSION2,
        client_id=f"camwatch-doctor-{os.getpid()}",
        protocol=paho.MQTTv5 if mqtt.protocol == "5" else paho.MQTTv311,
    )
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
        return fail("mqtt", f"TLS files cannot be used: {exc}", "fix mqtt.ca_file / cert_file / key_file")
    if context is not None:
        client.tls_set_context(context)
    try:
        client.connect(mqtt.host, mqtt.port, keepalive=max(5, int(timeout)))
    except (OSError, ssl.SSLError) as exc:
        fix = "check mqtt.ca_file and the broker certificate's name" if isinstance(exc, ssl.SSLError) else (
            "start the broker, or fix mqtt.host / mqtt.port"
        )
        return fail("mqtt", f"{where}: {describe_connect_error(exc)}", fix)
    client.loop_start()
    try:
        if not done.wait(timeout):
            return fail(
                "mqtt",
                f"{where} accepted the connection but sent no answer within {timeout:g} s",
                "is this port an MQTT broker, and TLS set as the broker expects (mqtt.tls)?",
            )
        reason = answer["reason"]
        if getattr(reason, "is_failure", False):
            user = f" as {mqtt.username}" if mqtt.username else " anonymously"
            return fail(
                "mqtt",
                f"{where} refused the login{user}: {describe_refusal(reason)}",  # type: ignore[arg-type]
                "check mqtt.username and mqtt.password (and the broker's ACL)",
            )
        tls_note = " over TLS" if context is not None else ""
        return ok("mqtt", f"logged in to {where}{tls_note}" + (f" as {mqtt.username}" if mqtt.username else ""))
    finally:
        client.disconnect()
        client.loop_stop()
