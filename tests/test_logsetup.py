"""camwatch's log handler follows sys.stderr and masks secrets."""

from __future__ import annotations

import io
import logging
import sys

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
