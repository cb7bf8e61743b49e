"""Notifications end to end: a real Camwatch plays a real clip (six visitors one at a time)
through the whole pipeline, and Apprise delivers to a local HTTP endpoint (``json://``).

Three destinations: every person event as text; the snapshot opted in with a one-hour rate
limit (exactly one message with the picture, the rest held back and counted); cars only
(none on this clip). The endpoint refuses the very first request: it is retried.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.support.notify_endpoint import NotifyEndpoint
from tests.support.web import run_clips

CLIP = "one-by-one-person-detection.mp4"


@pytest.fixture
def hook() -> Iterator[NotifyEndpoint]:
    with NotifyEndpoint() as endpoint:
        yield endpoint


def test_a_real_clip_reaches_the_endpoint(tmp_path: Path, shared_media: Path, ssd_model: Path,
                                          hook: NotifyEndpoint) -> None:
    notify = {
        "destinations": {
            "every": {"url": hook.apprise_url("/every"), "labels": ["person"], "min_interval": 0},
            "photo": {"url": hook.apprise_url("/photo"), "labels": ["person"], "attach_snapshot": True,
                      "min_interval": 3600},
            "cars": {"url": hook.apprise_url("/cars"), "labels": ["car"], "min_interval": 0},
        },
        "retry_delay": 0.2,
        "web_url": "http://camwatch.local:5080",
    }
    hook.fail_next(1)
    app = run_clips(tmp_path, {"room": shared_media / CLIP}, notify=notify)
    try:
        assert app.notifications.wait_idle(60), "notifications still queued after the clip"
        people, total = app.store.query(camera="room", label="person", limit=500, order="asc")
        assert total >= 4, f"the pipeline recorded only {total} person event(s) on {CLIP}"
        _cars, car_events = app.store.query(camera="room", label="car", limit=1)

        every = hook.for_path("/every")
        assert len(every) == total
        assert all(n.title == "Person at room" and n.attachments == [] for n in every)
        assert {n.message.rsplit("/events/", 1)[1] for n in every} == {e.id for e in people}

        photo = hook.for_path("/photo")
        assert len(photo) == 1 and photo[0].message.endswith(f"/events/{people[0].id}")
        assert len(photo[0].attachments) == 1
        image = cv2.imdecode(np.frombuffer(photo[0].attachments[0].data, np.uint8), cv2.IMREAD_COLOR)
        assert [image.shape[1], image.shape[0]] == people[0].frame_size
        assert app.state.notify["photo"]["held_back"] == total - 1

        assert len(hook.for_path("/cars")) == car_events
        assert [status for _p, status in hook.requests].count(503) == 1
        assert sum(s["retries"] for s in app.state.notify.values()) == 1
        assert sum(s["failed"] for s in app.state.notify.values()) == 0
    finally:
        app.stop()


def test_a_replay_never_notifies(tmp_path: Path, shared_media: Path, ssd_model: Path, hook: NotifyEndpoint) -> None:
    """`camwatch replay --config` uses the real config's cameras, not its notification destinations."""
    config = tmp_path / "config.yml"
    config.write_text(
        "cameras:\n  hall:\n    url: /dev/null\n"
        f"notify:\n  destinations:\n    phone:\n      url: {hook.apprise_url('/phone')}\n      min_interval: 0\n",
        encoding="utf-8",
    )
    result = subprocess.run(
        [sys.executable, "-m", "camwatch", "replay", str(shared_media / "walking-by.h264"), "--config", str(config),
         "--json", "--model-path", str(ssd_model), "--data-dir", str(tmp_path / "data")],
        capture_output=True, text=True, timeout=300, env={**os.environ, "CAMWATCH_DATA": str(tmp_path / "data")},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert '"label": "person"' in result.stdout  # the replay did find the person
    assert hook.requests == []
