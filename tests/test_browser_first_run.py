"""From an empty install to a recognised visitor, in Debian's Chromium, without a terminal.

camwatch runs as a real process (`camwatch run`) on the config `camwatch init` writes on a
machine without cameras, with an empty data directory (the models imported the way an
offline install does it; the test only moves the web port to a free one). Everything else
happens on the web page, as a homeowner would do it, reached through this machine's network
address (not loopback, so the first-run page asks for the setup code, read from the log
camwatch wrote and checked against `camwatch doctor`):

set the password → add a file camera (Test shows its picture) → an event from the clip →
"Who is this?" enrols the face → a notification destination (Apprise json:// to a local
endpoint) → a second camera sees the same person, recognised → the notification arrives →
delete the person. No config edited by hand, no restart (the same process throughout).
Screenshots of each step go to test-artifacts/screenshots/first-run-*.png.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from camwatch.models import ModelManager
from tests.conftest import MEDIA, MODELS, require
from tests.support.browser import PHONE, shot, wait_js
from tests.support.netutil import free_port, tail
from tests.support.notify_endpoint import NotifyEndpoint
from tests.support.web import PASSWORD

#: Two people facing the camera; the faces pipeline records a face for each and recognises
#: an enrolled one on a second camera (checked with the same models, see the test's steps).
CLIP = MEDIA / "head-pose-face-detection-female-and-male.gif"
MODEL_FILES = ("yolox_nano_ti_lite_320_full_integer_quant.tflite", "face_detection_short_range.tflite",
               "face_detection_full_range.tflite")
NAME = "Robin"
#: Chromium's console notice on a plain-HTTP network address (not localhost): it ignores the
#: Cross-Origin-Opener-Policy header there. A browser notice, not a page error.
COOP_NOTICE = "The Cross-Origin-Opener-Policy header has been ignored"
_URLS = re.compile(r"open camwatch in a browser: (.+)")
_CODE = re.compile(r"enter the setup code ([A-Z0-9-]+)")


def _wait(condition: Any, what: str, timeout: float = 60.0, log: Path | None = None) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = condition()
        if found:
            return found
        assert time.monotonic() < deadline, f"timed out waiting for {what}" + (f"\n{tail(log, 40)}" if log else "")
        time.sleep(0.3)


@pytest.fixture
def camwatch_process(tmp_path: Path, shared_media: Path) -> Iterator[tuple[subprocess.Popen[bytes], Path, Path, Path]]:
    """`camwatch run` on a fresh install: (process, config, data dir, log)."""
    require(importlib.util.find_spec("dlib") is not None, "dlib face recognition (the faces extra)")
    for name in MODEL_FILES:
        require((MODELS / name).is_file(), f"model {MODELS / name}")
    require(CLIP.is_file(), f"clip {CLIP}")
    config, data, log = tmp_path / "etc" / "config.yml", tmp_path / "data", tmp_path / "camwatch.log"
    env = {**os.environ, "CAMWATCH_CONFIG": str(config), "CAMWATCH_DATA": str(data), "PYTHONUNBUFFERED": "1"}
    subprocess.run([sys.executable, "-m", "camwatch", "init", "--config", str(config)], check=True, env=env,
                   capture_output=True, timeout=60)
    assert yaml.safe_load(config.read_text())["cameras"] == {}
    config.write_text(config.read_text().replace("port: 5080", f"port: {free_port()}"))
    manager = ModelManager(data)
    for name in MODEL_FILES:  # `camwatch models import`, as on a machine without internet
        manager.import_file(MODELS / name)
    with log.open("wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "camwatch", "run"], stdout=out, stderr=subprocess.STDOUT,
                                   env=env, start_new_session=True)
    try:
        _wait(lambda: process.poll() is not None or _CODE.search(log.read_text()), "the setup code in the log",
              120, log)
        assert process.poll() is None, tail(log, 40)
        yield process, config, data, log
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)


@pytest.fixture
def hook() -> Iterator[NotifyEndpoint]:
    with NotifyEndpoint() as endpoint:
        yield endpoint


def _api(page: Any, path: str) -> Any:
    response = page.request.get(path)
    assert response.ok, (path, response.status)
    return response.json()


def _add_file_camera(page: Any, base: str, name: str, shot_name: str) -> None:
    page.goto(base + "/cameras")
    page.wait_for_selector("#camera-form")
    assert page.input_value("#cam-url") == "" and page.input_value("#cam-name") == ""  # a blank form
    page.fill("#cam-name", name)
    page.check("#kind-file")
    page.fill("#cam-path", str(CLIP))
    page.click("#cam-test")
    wait_js(page, "document.querySelector('#test-result').getAttribute('data-ok') !== null", 30)
    message = page.locator("#test-result [data-field=message]").inner_text()
    assert page.locator("#test-result").get_attribute("data-ok") == "1", message
    assert "480×270" in message
    wait_js(page, "document.querySelector('#test-image').naturalWidth === 480")
    shot(page, shot_name)
    page.click("#cam-save")
    page.wait_for_selector(f"article.camera-settings[data-camera={name}]")
    assert "it is starting now" in page.locator("#form-result").inner_text()


@pytest.mark.slow
def test_from_an_empty_install_to_a_recognised_visitor(camwatch_process: Any, browser: Any,
                                                       hook: NotifyEndpoint) -> None:
    process, config_path, data, log = camwatch_process
    text = log.read_text()
    urls = _URLS.search(text).group(1).split()
    code = _CODE.search(text).group(1)
    base = urls[0]
    require(not base.startswith("http://127."), "a network address besides loopback (the setup code is asked there)")
    doctor = subprocess.run([sys.executable, "-m", "camwatch", "doctor", "--json", "--timeout", "2"],
                            capture_output=True, text=True, timeout=120,
                            env={**os.environ, "CAMWATCH_CONFIG": str(config_path), "CAMWATCH_DATA": str(data)})
    rows = {row["check"]: row for row in json.loads(doctor.stdout)["checks"]}
    assert code in rows["web setup"]["detail"]  # the code the log shows is the one doctor shows

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(20000)
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    failed: list[str] = []  # the console's "Failed to load resource" does not say which
    page.on("response", lambda response: failed.append(f"{response.status} {response.url}")
            if response.status >= 400 else None)
    page.on("dialog", lambda dialog: dialog.accept())

    # 1. The first-run page, reached over the network: it wants the setup code.
    page.goto(base + "/")
    assert page.url.endswith("/setup")
    page.fill("#setup_code", code.lower().replace("-", " "))  # typed as people type it
    page.fill("#password", PASSWORD)
    page.fill("#confirm", PASSWORD)
    shot(page, "first-run-01-setup")
    page.click("button[type=submit]")
    page.wait_for_url(base + "/")
    page.wait_for_selector("#no-cameras")
    shot(page, "first-run-02-no-camera")

    # 2. A file camera from the Cameras page: Test shows its picture, Save starts it.
    page.click("#add-camera")
    page.wait_for_url(base + "/cameras")
    _add_file_camera(page, base, "porch", "first-run-03-camera-test")
    shot(page, "first-run-04-camera-saved")
    phone = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True,
                                storage_state=context.storage_state())
    small = phone.new_page()
    small.goto(base + "/cameras")
    small.wait_for_selector("article.camera-settings[data-camera=porch]")
    widths = small.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], f"/cameras is {widths[0]} px wide on a {widths[1]} px phone"
    shot(small, "first-run-phone-cameras")
    phone.close()

    # 3. An event from the clip, with the face of each person.
    events = _wait(lambda: [e for e in _api(page, base + "/api/events?camera=porch&label=person")["events"]
                            if e["has_face"] and e["end_time"]], "a person event with a face on porch", 120, log)
    event = events[-1]
    page.goto(base + "/events?camera=porch")
    page.wait_for_selector(f"a.event[href='/events/{event['id']}']")
    shot(page, "first-run-05-events")

    # 4. "Who is this?" beside the face on the event page: the name, one click.
    page.goto(f"{base}/events/{event['id']}")
    page.click("#face-correct")
    page.fill("#face-new-name", NAME)
    page.click("#face-choices button[data-new]")
    # enrolling computes the face's views and embeddings: seconds on a loaded machine
    wait_js(page, f"document.querySelector('#face-name').textContent === '{NAME}'", timeout=60)
    shot(page, "first-run-06-enrolled")
    person = _api(page, f"{base}/api/faces/{NAME}")
    assert person["samples"] >= 1 and {s["source"] for s in person["sample_list"]} == {f"event:{event['id']}"}

    # 5. A notification destination: the local endpoint (text only, every event).
    page.goto(base + "/notifications")
    page.wait_for_selector("#choice-labels input[value=person]")
    page.fill("#dest-name", "phone")
    page.fill("#dest-url", hook.apprise_url("/phone"))
    page.check("#choice-labels input[value=person]")
    page.uncheck("#dest-only-armed")
    page.fill("#dest-interval", "0")
    page.click("#dest-save")
    page.wait_for_selector("article.destination[data-name=phone]")
    shot(page, "first-run-07-notifications")

    # 6. The same person in front of a second camera: recognised.
    _add_file_camera(page, base, "hall", "first-run-08-second-camera-test")
    left = (event["box"][0] + event["box"][2]) / 2 < event["frame_size"][0] / 2
    named = _wait(lambda: [e for e in _api(page, base + "/api/events?camera=hall&label=person")["events"]
                           if e["sub_label"] == NAME], f"{NAME} recognised on hall", 120, log)
    assert ((named[0]["box"][0] + named[0]["box"][2]) / 2 < named[0]["frame_size"][0] / 2) == left  # the same person
    page.goto(f"{base}/events/{named[0]['id']}")
    assert f"recognised as {NAME}" in page.locator("#face-words").inner_text()
    shot(page, "first-run-09-recognised")

    # 7. The notification arrives at the local endpoint, with the name.
    arrived = _wait(lambda: [n for n in hook.for_path("/phone") if n.title == f"{NAME} at hall"],
                    f"the notification '{NAME} at hall'", 60, log)
    assert NAME in arrived[0].title and not arrived[0].attachments  # text only unless opted in

    # 8. Delete the person from the Faces page.
    page.goto(base + "/faces")
    page.wait_for_selector(f"article.person[data-person={NAME}]")
    shot(page, "first-run-10-faces")
    page.locator(f"article.person[data-person={NAME}] button[data-action=delete-person]").click()
    page.wait_for_selector("#no-people:not([hidden])")
    assert _api(page, base + "/api/faces")["people"] == []
    shot(page, "first-run-11-person-deleted")

    # Nothing was edited by hand and nothing restarted: the same process, the config written by the page.
    assert process.poll() is None
    assert len(re.findall(r"camwatch \S+ started: ", log.read_text())) == 1
    saved = yaml.safe_load(config_path.read_text())
    assert set(saved["cameras"]) == {"porch", "hall"} and "phone" in saved["notify"]["destinations"]
    assert config_path.read_text().startswith("# camwatch configuration.")  # the starter config's comments
    assert hook.apprise_url("/phone") not in config_path.read_text()
    assert "Traceback" not in log.read_text(), tail(log, 60)
    assert not [p for p in problems if not p.startswith(COOP_NOTICE)], (problems, failed)
    context.close()
