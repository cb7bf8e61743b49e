"""The test helpers themselves: real Mosquitto (auth, TLS, ACL, restart), RTSP server, HTTP faults."""

from __future__ import annotations

import http.client
import ssl
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

import cv2
import paho.mqtt.client as mqtt
import pytest

from tests.support.http_server import ModelHttpServer
from tests.support.mosquitto import MosquittoBroker
from tests.support.rtsp import RtspServer

# Generous: on a busy machine (the suite's parallel workers) the server's per-client media takes
# seconds to start; these tests prove the servers stream, not how fast.
CAPTURE_PARAMS = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, 20000, cv2.CAP_PROP_READ_TIMEOUT_MSEC, 10000]


class ConnectResult:
    def __init__(self) -> None:
        self.done = threading.Event()
        self.reason: object = None
        self.messages: list[tuple[str, bytes]] = []
        self.subscribed = threading.Event()


def mqtt_client(
    result: ConnectResult,
    username: str | None = None,
    password: str | None = None,
) -> mqtt.Client:
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"t-{time.monotonic_ns()}")
    if username is not None:
        client.username_pw_set(username, password)

    def on_connect(_c, _u, _flags, reason_code, _props) -> None:
        result.reason = reason_code
        result.done.set()

    def on_message(_c, _u, msg) -> None:
        result.messages.append((msg.topic, msg.payload))

    def on_subscribe(*_args) -> None:
        result.subscribed.set()

    client.on_connect = on_connect
    client.on_message = on_message
    client.on_subscribe = on_subscribe
    return client


def connect(
    port: int,
    username: str | None = None,
    password: str | None = None,
    tls: Callable[[mqtt.Client], None] | None = None,
    host: str = "127.0.0.1",
) -> tuple[mqtt.Client, ConnectResult]:
    result = ConnectResult()
    client = mqtt_client(result, username, password)
    if tls is not None:
        tls(client)
    client.connect(host, port, keepalive=10)
    client.loop_start()
    assert result.done.wait(10), "no CONNACK within 10 s"
    return client, result


def close(client: mqtt.Client) -> None:
    client.disconnect()
    client.loop_stop()


# ----------------------------------------------------------------- mosquitto
def test_broker_accepts_good_password_and_refuses_others(
    mosquitto_factory: Callable[..., MosquittoBroker],
) -> None:
    broker = mosquitto_factory(users={"camwatch": "s3cret", "other": "pw2"})
    client, result = connect(broker.port, "camwatch", "s3cret")
    assert not result.reason.is_failure
    close(client)

    for user, password in [("camwatch", "wrong"), (None, None), ("nobody", "s3cret")]:
        client, result = connect(broker.port, user, password)
        assert result.reason.is_failure, (user, result.reason)
        assert "authori" in str(result.reason).lower()
        client.loop_stop()


def test_broker_round_trip_and_restart_on_same_port(mosquitto_broker: MosquittoBroker) -> None:
    port = mosquitto_broker.port
    sub, sub_result = connect(port)
    sub.subscribe("camwatch/#", qos=1)
    assert sub_result.subscribed.wait(5)
    pub, _ = connect(port)
    pub.publish("camwatch/test", b"hello", qos=1).wait_for_publish(5)
    deadline = time.monotonic() + 5
    while not sub_result.messages and time.monotonic() < deadline:
        time.sleep(0.02)
    assert sub_result.messages == [("camwatch/test", b"hello")]
    close(sub)
    close(pub)

    mosquitto_broker.restart()
    assert mosquitto_broker.port == port and mosquitto_broker.running
    client, result = connect(port)
    assert not result.reason.is_failure
    close(client)

    mosquitto_broker.kill()
    assert not mosquitto_broker.running
    with pytest.raises(ConnectionRefusedError):
        mqtt_client(ConnectResult()).connect("127.0.0.1", port)


def test_broker_tls_with_ca_and_refuses_untrusted_ca(
    mosquitto_factory: Callable[..., MosquittoBroker],
) -> None:
    broker = mosquitto_factory(users={"cam": "pw"}, tls=True)
    assert broker.tls_port is not None and broker.tls_port != broker.port

    client, result = connect(
        broker.tls_port, "cam", "pw", tls=lambda c: c.tls_set(ca_certs=str(broker.ca_path)),
        host="localhost",
    )  # fmt: skip
    assert not result.reason.is_failure
    close(client)

    bad = mqtt_client(ConnectResult(), "cam", "pw")
    bad.tls_set(ca_certs=str(broker.untrusted_ca_path))
    with pytest.raises(ssl.SSLCertVerificationError):
        bad.connect("localhost", broker.tls_port)

    # the plain listener still speaks plain MQTT with the same users
    client, result = connect(broker.port, "cam", "pw")
    assert not result.reason.is_failure
    close(client)


def test_broker_requires_client_certificate_from_its_ca(
    mosquitto_factory: Callable[..., MosquittoBroker],
) -> None:
    broker = mosquitto_factory(tls=True, require_client_cert=True)
    assert broker.tls_port is not None
    ca = str(broker.ca_path)
    client, result = connect(
        broker.tls_port,
        tls=lambda c: c.tls_set(ca, str(broker.client_cert), str(broker.client_key)),
    )
    assert not result.reason.is_failure
    close(client)

    rogue_result = ConnectResult()
    rogue = mqtt_client(rogue_result)
    dropped = threading.Event()
    rogue.on_disconnect = lambda *_args: dropped.set()
    rogue.tls_set(ca, str(broker.untrusted_client_cert), str(broker.untrusted_client_key))
    try:
        rogue.connect("127.0.0.1", broker.tls_port)
    except (ssl.SSLError, OSError):
        dropped.set()  # refused during the handshake
    else:  # TLS 1.3: the server's refusal arrives after the client's handshake returns
        rogue.loop_start()
        assert dropped.wait(5), "a client cert from an untrusted CA was not refused"
        rogue.loop_stop()
    assert not (rogue_result.done.is_set() and not rogue_result.reason.is_failure)
    assert "certificate" in broker.log_text().lower()


def test_broker_acl_limits_topics(mosquitto_factory: Callable[..., MosquittoBroker]) -> None:
    acl = "user cam\ntopic readwrite camwatch/#\n"
    broker = mosquitto_factory(users={"cam": "pw"}, acl=acl)
    sub, sub_result = connect(broker.port, "cam", "pw")
    sub.subscribe("#", qos=1)
    assert sub_result.subscribed.wait(5)
    sub.publish("elsewhere/x", b"no", qos=1).wait_for_publish(5)
    sub.publish("camwatch/x", b"yes", qos=1).wait_for_publish(5)
    deadline = time.monotonic() + 5
    while not sub_result.messages and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.2)
    close(sub)
    assert sub_result.messages == [("camwatch/x", b"yes")]


# ---------------------------------------------------------------------- rtsp
def read_frames(url: str, count: int) -> list:
    cap = cv2.VideoCapture(url, cv2.CAP_FFMPEG, CAPTURE_PARAMS)
    try:
        assert cap.isOpened(), f"cannot open {url}"
        frames = []
        for _ in range(count):
            ok, frame = cap.read()
            assert ok, f"read failed after {len(frames)} frames"
            frames.append(frame)
        return frames
    finally:
        cap.release()


def test_rtsp_live_server_serves_moving_frames_and_restarts(
    rtsp_live_server: RtspServer,
) -> None:
    frames = read_frames(rtsp_live_server.url, 20)
    assert frames[0].shape == (360, 640, 3)
    assert float(cv2.absdiff(frames[0], frames[-1]).mean()) > 0.5  # the ball moves
    port = rtsp_live_server.port
    rtsp_live_server.kill()
    cap = cv2.VideoCapture(rtsp_live_server.url, cv2.CAP_FFMPEG, CAPTURE_PARAMS)
    assert not cap.isOpened()
    cap.release()
    rtsp_live_server.restart()
    assert rtsp_live_server.port == port
    assert len(read_frames(rtsp_live_server.url, 5)) == 5


def test_rtsp_clip_server_streams_the_clip(
    rtsp_server_factory: Callable[..., RtspServer], shared_media: Path
) -> None:
    server = rtsp_server_factory(shared_media / "walking-by.h264", seconds=6)
    frames = read_frames(server.url, 10)
    assert frames[0].shape[1] == 640
    assert float(frames[-1].std()) > 10  # real picture content, not a blank stream


# ---------------------------------------------------------------------- http
def test_model_http_server_faults(model_http_server: ModelHttpServer) -> None:
    payload = bytes(range(256)) * 100
    (model_http_server.directory / "m.tflite").write_bytes(payload)
    url = model_http_server.url("/m.tflite")

    model_http_server.fail_times("/m.tflite", 2, status=503)
    for _ in range(2):
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(url, timeout=5)
        assert err.value.code == 503
    with urllib.request.urlopen(url, timeout=5) as resp:
        assert resp.read() == payload

    model_http_server.truncate("/m.tflite", 1000)
    with urllib.request.urlopen(url, timeout=5) as resp:
        assert int(resp.headers["Content-Length"]) == len(payload)
        with pytest.raises(http.client.IncompleteRead) as short:
            resp.read()
    assert len(short.value.partial) == 1000

    model_http_server.clear("/m.tflite")
    request = urllib.request.Request(url, headers={"Range": "bytes=1000-"})
    with urllib.request.urlopen(request, timeout=5) as resp:
        assert resp.status == 206 and resp.read() == payload[1000:]

    model_http_server.corrupt("/m.tflite")
    with urllib.request.urlopen(url, timeout=5) as resp:
        body = resp.read()
    assert len(body) == len(payload) and body != payload

    with pytest.raises(urllib.error.HTTPError) as missing:
        urllib.request.urlopen(model_http_server.url("/nope"), timeout=5)
    assert missing.value.code == 404
    statuses = [r.status for r in model_http_server.requests_for("/m.tflite")]
    assert statuses == [503, 503, 200, 200, 206, 200]
