"""The camera test (Test button): one picture through the pipeline's own source, or the reason.

Every reason is produced for real: a GStreamer RTSP camera that wants a login (Digest and
Basic), a closed port, a port that accepts and never answers, a local web server that
serves a page instead of video (and one that wants a login), a missing file and a file that
is not a video.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from camwatch.config.camera import SourceConfig
from camwatch.sources import diagnose
from camwatch.sources.trial import try_source
from tests.conftest import MEDIA
from tests.support.netutil import LOOPBACK, free_port
from tests.support.rtsp import RtspServer, rtsp_missing

USER = "viewer"
PASSWORD = "s3cr:et@/pw"  # characters that must be percent-encoded in an address
QUICK = SourceConfig(open_timeout=2.0, read_timeout=2.0)


def _picture(jpeg: bytes | None) -> np.ndarray:
    assert jpeg is not None
    image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert image is not None
    return image


@pytest.fixture(scope="module")
def rtsp_camera() -> Iterator[RtspServer]:
    missing = rtsp_missing()
    if missing:
        from tests.conftest import require

        require(False, "GStreamer RTSP test camera: " + "; ".join(missing))
    with RtspServer.live(username=USER, password=PASSWORD) as server:
        yield server


def test_a_video_file_gives_its_first_picture(shared_media: Path) -> None:
    result = try_source(str(MEDIA / "walking-by.h264"), fps=5)
    assert result.ok and result.reason is None, result.message
    image = _picture(result.jpeg)
    assert image.shape[1] == result.width and image.shape[0] == result.height
    assert result.fps > 0 and not result.fps_measured  # a file's own rate


def test_a_missing_file_and_a_file_that_is_no_video(tmp_path: Path) -> None:
    missing = try_source(str(tmp_path / "nothing.mp4"))
    assert (missing.ok, missing.reason) == (False, diagnose.NOT_FOUND) and "nothing.mp4" in missing.message
    text = tmp_path / "notes.mp4"
    text.write_text("not a video at all\n" * 100)
    junk = try_source(str(text))
    assert (junk.ok, junk.reason) == (False, diagnose.NOT_VIDEO), junk.message


def test_an_rtsp_camera_with_the_right_login(rtsp_camera: RtspServer) -> None:
    result = try_source(rtsp_camera.url, username=USER, password=PASSWORD, options=QUICK)
    assert result.ok, result.message
    assert (result.width, result.height) == (640, 360)
    assert _picture(result.jpeg).shape[:2] == (360, 640)
    assert result.fps_measured and result.fps > 0
    print(f"RTSP test: {result.message} in {result.seconds:.1f} s")


def test_an_rtsp_camera_with_a_wrong_or_no_password(rtsp_camera: RtspServer) -> None:
    wrong = try_source(rtsp_camera.url, username=USER, password="guess", options=QUICK)
    assert (wrong.ok, wrong.reason) == (False, diagnose.AUTH)
    assert "RTSP 401" in wrong.message and "guess" not in wrong.message
    anonymous = try_source(rtsp_camera.url, options=QUICK)
    assert anonymous.reason == diagnose.AUTH and "asks for a user name and password" in anonymous.message
    elsewhere = try_source(rtsp_camera.url.replace("/cam", "/nothing-here"), username=USER, password=PASSWORD,
                           options=QUICK)
    assert elsewhere.reason in (diagnose.NOT_FOUND, diagnose.AUTH), elsewhere.message


def test_basic_login_works_too() -> None:
    missing = rtsp_missing()
    if missing:
        pytest.skip("; ".join(missing))
    with RtspServer.live(username=USER, password=PASSWORD, auth="basic") as server:
        assert try_source(server.url, username=USER, password=PASSWORD, options=QUICK).ok
        wrong = try_source(server.url, username=USER, password="nope", options=QUICK)
        assert wrong.reason == diagnose.AUTH and "401" in wrong.message


def test_a_closed_port_is_unreachable() -> None:
    result = try_source(f"rtsp://{LOOPBACK}:{free_port()}/stream", options=QUICK)
    assert (result.ok, result.reason) == (False, diagnose.UNREACHABLE)
    assert "refused" in result.message


def test_a_camera_that_never_answers_is_a_timeout() -> None:
    with socket.socket() as listener:  # accepts connections (the kernel's backlog), never answers
        listener.bind((LOOPBACK, 0))
        listener.listen(8)
        port = listener.getsockname()[1]
        result = try_source(f"rtsp://{LOOPBACK}:{port}/stream", options=QUICK)
    assert (result.ok, result.reason) == (False, diagnose.TIMEOUT), result.message
    assert "did not answer within 2 s" in result.message


class _WebPage(BaseHTTPRequestHandler):
    """A camera's web interface: an HTML page, and a login for /private."""

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass

    def do_GET(self) -> None:  # noqa: N802
        if self.path.startswith("/private") and self.headers.get("Authorization") != "Basic dmlld2VyOnJpZ2h0":
            body = b"<html>login</html>"
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="camera"')
        else:
            body = b"<!doctype html><html><body>Welcome to your camera</body></html>"
            self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def web_page() -> Iterator[int]:
    server = ThreadingHTTPServer((LOOPBACK, 0), _WebPage)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield int(server.server_address[1])
    server.shutdown()
    server.server_close()


def test_a_web_page_is_not_a_video_stream(web_page: int) -> None:
    result = try_source(f"http://{LOOPBACK}:{web_page}/index.html", options=QUICK)
    assert (result.ok, result.reason) == (False, diagnose.NOT_VIDEO), result.message
    assert "text/html" in result.message


def test_an_http_login_is_checked(web_page: int) -> None:
    wrong = try_source(f"http://{LOOPBACK}:{web_page}/private/video", username=USER, password="wrong", options=QUICK)
    assert wrong.reason == diagnose.AUTH and "HTTP 401" in wrong.message
    right = try_source(f"http://{LOOPBACK}:{web_page}/private/video", username=USER, password="right", options=QUICK)
    assert right.reason == diagnose.NOT_VIDEO  # logged in, and then it is a web page


def test_digest_answers_follow_the_rfc_example() -> None:
    """RFC 2617 section 3.5: Mufasa, Circle Of Life, qop=auth (cnonce fixed by the server's example)."""
    challenge = ('Digest realm="testrealm@host.com", qop="auth,auth-int", '
                 'nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41"')
    header = diagnose.authorize(challenge, "GET", "/dir/index.html", "Mufasa", "Circle Of Life")
    assert header is not None and header.startswith("Digest ") and 'opaque="5ccc069c403ebaf9f0171e9517f40e41"' in header
    fields = dict(part.strip().split("=", 1) for part in header[len("Digest "):].split(","))
    import hashlib

    def md5(text: str) -> str:
        return hashlib.md5(text.encode()).hexdigest()

    cnonce = fields["cnonce"].strip('"')
    ha1 = md5("Mufasa:testrealm@host.com:Circle Of Life")
    expected = md5(f"{ha1}:dcd98b7102dd2f0e8b11d0f600bfb0c093:00000001:{cnonce}:auth:{md5('GET:/dir/index.html')}")
    assert fields["response"].strip('"') == expected


def test_usb_cameras_are_listed_with_their_driver_names(tmp_path: Path) -> None:
    """/dev/video* with the names and node indexes sysfs gives (a UVC camera has a metadata node)."""
    from camwatch.sources.devices import video_devices

    dev, sysfs = tmp_path / "dev", tmp_path / "sys"
    for node, name, index in (("video0", "HD Pro Webcam C920", "0"), ("video1", "HD Pro Webcam C920", "1"),
                              ("video2", "USB2.0 Camera", "0"), ("video10", "", "")):
        (dev / node).parent.mkdir(parents=True, exist_ok=True)
        (dev / node).touch()
        if name:
            (sysfs / node).mkdir(parents=True)
            (sysfs / node / "name").write_text(name + "\n")
            (sysfs / node / "index").write_text(index + "\n")
    (dev / "video-bogus").touch()
    found = [(d.path, d.name, d.index) for d in video_devices(dev, sysfs)]
    assert found == [(str(dev / "video0"), "HD Pro Webcam C920", 0), (str(dev / "video2"), "USB2.0 Camera", 0),
                     (str(dev / "video10"), "video10", 0), (str(dev / "video1"), "HD Pro Webcam C920", 1)]
