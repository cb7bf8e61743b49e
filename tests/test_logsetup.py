"""camwatch's log handler follows sys.stderr and masks secrets."""

from __future__ import annotations

import io
import logging
import sys
from urllib.parse import quote

import pytest

from camwatch.logsetup import setup_logging


@pytest.fixture
def camwatch_logging():
    root = logging.getLogger()
    before, level = list(root.handlers), root.level
    setup_logging("info")
    yield
    for handler in [h for h in root.handlers if h not in before]:
        root.removeHandler(handler)
    root.setLevel(level)


def test_log_lines_follow_a_replaced_stderr_and_mask_secrets(camwatch_logging, monkeypatch) -> None:
    first, second = io.StringIO(), io.StringIO()
    monkeypatch.setattr(sys, "stderr", first)
    logging.getLogger("camwatch.test").info("camera at rtsp://viewer:S3cret-pw@10.0.0.5/stream")
    assert "camera at rtsp://" in first.getvalue() and "S3cret-pw" not in first.getvalue()
    first.close()  # a capture that ended, a redirection that went away
    monkeypatch.setattr(sys, "stderr", second)
    logging.getLogger("camwatch.test").warning("after the switch")
    text = second.getvalue()
    assert "after the switch" in text and "Logging error" not in text


EVIL_NAME = "evil\u202egpj.exe\x1b[31m\n2030-01-01 00:00:00 INFO camwatch: <b>x</b>"


def test_an_uploaded_file_name_is_stored_and_logged_without_controls(camwatch_logging, monkeypatch,
                                                                      tmp_path) -> None:
    """A photo's file name with ESC, a newline and a right-to-left override: one log line, the
    characters written as escapes; the stored sample source has none of them either."""
    from camwatch.faces.enrol import FaceFinder
    from camwatch.faces.gallery import FaceGallery
    from camwatch.web import create_app
    from tests.conftest import MEDIA, MODELS, require
    from tests.support.web import make_context, setup_and_login

    short, full = MODELS / "face_detection_short_range.tflite", MODELS / "face_detection_full_range.tflite"
    require(short.is_file() and full.is_file(), f"BlazeFace models in {MODELS}")
    ctx = make_context(tmp_path)
    ctx.faces_gallery, ctx.faces_finder = FaceGallery(ctx.data_dir), FaceFinder([short, full])
    app = create_app(ctx)
    client = app.test_client()
    headers = {"X-CSRF-Token": setup_and_login(client)}
    log = io.StringIO()
    monkeypatch.setattr(sys, "stderr", log)
    import cv2

    photo = cv2.imencode(".jpg", cv2.imread(str(MEDIA / "grace_hopper.bmp")))[1].tobytes()
    try:
        # The name as RFC 2231 carries any character (a raw newline would end the header line).
        boundary = "camwatch-test-boundary"
        body = (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
                f"filename*=UTF-8''{quote(EVIL_NAME, safe='')}\r\nContent-Type: image/jpeg\r\n\r\n").encode()
        body += photo + f"\r\n--{boundary}--\r\n".encode()
        response = client.post("/api/faces/Grace", data=body, headers=headers,
                               content_type=f"multipart/form-data; boundary={boundary}")
        assert response.status_code == 201, response.get_json()
        sources = [s["source"] for s in client.get("/api/faces/Grace").get_json()["sample_list"]]
    finally:
        app.extensions["camwatch.accounts"].close()
        ctx.faces_gallery.close()
        ctx.store.close()
    assert len(sources) == 1 and sources[0].isprintable() and "gpj.exe" in sources[0], sources
    text = log.getvalue()
    lines = [line for line in text.splitlines() if "enrolled a face for Grace" in line]
    assert len(lines) == 1 and "gpj.exe" in lines[0], text
    assert "\x1b" not in text and "\u202e" not in text and "\n2030-01-01" not in text, text
    assert "\\x1b" in lines[0] and "\\u202e" in lines[0], lines[0]


def test_a_message_with_control_characters_stays_one_escaped_line(camwatch_logging, monkeypatch) -> None:
    log = io.StringIO()
    monkeypatch.setattr(sys, "stderr", log)
    logging.getLogger("camwatch.test").warning("client %s said hello", "x\x1b[2K\r\n2030 INFO camwatch: owner\u2066")
    try:
        raise ValueError("boom")
    except ValueError:
        logging.getLogger("camwatch.test").exception("with a traceback")
    lines = log.getvalue().splitlines()
    assert "said hello" in lines[0] and lines[0].endswith("\\x1b[2K\\r\\n2030 INFO camwatch: owner\\u2066 said hello"), lines
    assert not lines[1].startswith("2030") and "Traceback" in log.getvalue()  # tracebacks keep their lines
