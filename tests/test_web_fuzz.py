"""schemathesis against a live camwatch web app: the OpenAPI document matches the API.

A real waitress server on a free port, logged in as the owner (session cookie + CSRF
header), with two cameras, stored events and a face gallery. schemathesis runs every check
it has (server errors, status codes, content types, headers, response schemas, valid data
accepted, invalid data refused, auth enforced, Allow on 405...), a few examples per
operation, one worker. Left out: ``POST /logout`` (it would end the fuzzer's own session)
and ``GET /api/stream`` (an endless event stream by design).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import cv2
import pytest
import requests

from camwatch.web import WebServer
from tests.conftest import MEDIA, MODELS, ROOT, require
from tests.support.web import PASSWORD, add_event, make_context, page_csrf, set_still

MAX_EXAMPLES = int(os.environ.get("CAMWATCH_FUZZ_EXAMPLES", "6"))
SEED = os.environ.get("CAMWATCH_FUZZ_SEED", "13")  # fixed: the same cases every run
FACE_PHOTO = MEDIA / "grace_hopper.bmp"


@pytest.fixture
def live(tmp_path: Path, shared_media: Path):
    from camwatch.faces.enrol import FaceFinder
    from camwatch.faces.gallery import FaceGallery

    model = MODELS / "face_detection_short_range.tflite"
    require(model.is_file(), f"BlazeFace model {model}")
    require(FACE_PHOTO.is_file(), f"photo {FACE_PHOTO}")
    ctx = make_context(tmp_path, cameras=("front", "back"))
    frame = cv2.imread(str(FACE_PHOTO))
    now = time.time()
    events = [add_event(ctx, frame, camera=camera, start=now - offset)
              for offset, camera in ((600, "front"), (300, "back"))]
    set_still(ctx, "front", frame)
    ctx.faces_gallery = FaceGallery(ctx.data_dir)
    ctx.faces_finder = FaceFinder([model], 0.5)
    server = WebServer(ctx, port=0)
    server.start()
    session = requests.Session()
    token = page_csrf(session.get(server.url + "/setup", timeout=10).text)
    session.post(server.url + "/setup", data={"csrf_token": token, "password": PASSWORD, "confirm": PASSWORD},
                 timeout=10)
    csrf = page_csrf(session.get(server.url + "/", timeout=10).text)
    yield server, session, csrf, [e.id for e in events]
    server.stop()
    ctx.store.close()


@pytest.mark.slow
def test_schemathesis_finds_no_server_error_and_no_mismatch(live, tmp_path: Path) -> None:
    server, session, csrf, (kept, deleted) = live
    spec = session.get(server.url + "/api/openapi.json", timeout=10)
    assert spec.status_code == 200
    schema_file = tmp_path / "openapi.json"
    schema_file.write_text(spec.text)
    report = tmp_path / "schemathesis.json"
    config = tmp_path / "schemathesis.toml"  # the owner's session, as the document's security schemes
    config.write_text(
        f'[auth.openapi.session]\napi_key = "{session.cookies.get("camwatch_session")}"\n'
        f'[auth.openapi.csrf]\napi_key = "{csrf}"\n'
        # Real resources for the operations on one event or camera; deletions get their own event.
        f'[parameters]\n"path.event_id" = "{kept}"\n"path.camera" = "front"\n'
        # HTML pages refuse a browser without a login by sending it to the login page.
        '[[operations]]\ninclude-tag-regex = "^(pages|auth|manage)$"\n'
        'checks.negative_data_rejection.expected-statuses = [302, 400, 401, 403, 404, 405, 409, 413, 429]\n'
        f'[[operations]]\ninclude-path-regex = "^/(api/)?events/\\\\{{event_id\\\\}}(/delete)?$"\n'
        'include-method-regex = "^(DELETE|POST)$"\n'
        f'parameters = {{ "path.event_id" = "{deleted}" }}\n'
        # Removing a camera: the other one (front stays for the operations on one camera).
        '[[operations]]\ninclude-path-regex = "^/api/cameras/\\\\{camera\\\\}$"\ninclude-method-regex = "^DELETE$"\n'
        'parameters = { "path.camera" = "back" }\n'
    )
    command = [
        sys.executable, "-m", "schemathesis.cli", "--config-file", str(config), "run", str(schema_file),
        "--url", server.url, "--checks", "all", "--exclude-path", "/logout", "--exclude-path", "/api/stream",
        "--max-examples", str(MAX_EXAMPLES), "--workers", "1", "--seed", SEED, "--request-timeout", "30",
        "--phases", "examples,coverage,fuzzing", "--report", "json", "--report-json-path", str(report),
        "--max-failures", "50", "--generation-database", "none",  # no .hypothesis/ in the tree: each run the same
    ]
    env = {**os.environ, "SCHEMATHESIS_HOOKS": "tests.support.schemathesis_hooks",
           "CAMWATCH_FUZZ_FACE": str(FACE_PHOTO), "PYTHONPATH": str(ROOT), "NO_COLOR": "1"}
    started = time.monotonic()
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, env=env, cwd=ROOT)
    elapsed = time.monotonic() - started
    output = result.stdout + result.stderr
    (tmp_path / "schemathesis.log").write_text(output)
    print(output[-6000:][:6000])
    print(f"schemathesis took {elapsed:.1f} s")
    assert result.returncode == 0, output[-8000:][:8000]
    assert "Traceback" not in server_log_errors(output)
    summary = json.loads(report.read_text()) if report.is_file() else {}
    print(json.dumps(summary.get("summary", summary), indent=1)[:3000])


def server_log_errors(output: str) -> str:
    return "\n".join(line for line in output.splitlines() if "Traceback" in line)
