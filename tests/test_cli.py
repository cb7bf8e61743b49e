"""The command line: detect, init, run/stop, and clear errors with non-zero exits."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from camwatch.const import DEFAULT_DETECTOR_MODEL
from camwatch.models import ModelManager
from tests.conftest import COCO_LABELS, MEDIA, MODELS, SSD_MODEL


def camwatch(*args: str, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "camwatch", *args],
        capture_output=True, text=True, timeout=timeout, env={**os.environ, **(env or {})},
    )


def test_detect_image_prints_detections(ssd_model, shared_media, data_dir):
    result = camwatch("detect", str(MEDIA / "grace_hopper.bmp"), "--model-path", str(SSD_MODEL))
    assert result.returncode == 0, result.stderr
    assert "person" in result.stdout


def test_detect_video_json_per_frame(ssd_model, shared_media, data_dir):
    result = camwatch(
        "detect", str(MEDIA / "one-by-one-person-detection.mp4"), "--model-path", str(SSD_MODEL),
        "--labels", str(COCO_LABELS), "--json", "--fps", "1", "--threshold", "0.5", "--max-frames", "40",
    )
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(lines) == 40
    assert [f["frame"] for f in lines[:3]] == [0, 10, 20]  # 10 fps clip sampled at 1 fps
    people = [d for f in lines for d in f["detections"] if d["label"] == "person"]
    assert people, "someone walks in within the first 40 s"
    for d in people:
        x1, y1, x2, y2 = d["box"]
        assert 0 <= x1 < x2 <= 768 and 0 <= y1 < y2 <= 432 and d["score"] >= 0.5


def test_detect_uses_installed_model(ssd_model, shared_media, data_dir):
    default = MODELS / ModelManager(data_dir).get(DEFAULT_DETECTOR_MODEL).main.file
    assert camwatch("models", "import", str(default)).returncode == 0
    result = camwatch("detect", str(MEDIA / "traffic_frame_0001.bmp"))
    assert result.returncode == 0, result.stderr
    assert "car" in result.stdout


def test_detect_missing_model_is_clear(data_dir, shared_media):
    result = camwatch("detect", str(MEDIA / "grace_hopper.bmp"))
    assert result.returncode == 1
    assert "camwatch models pull" in result.stderr and "Traceback" not in result.stderr


def test_detect_bad_threshold_and_missing_file(ssd_model, data_dir):
    result = camwatch("detect", "nope.jpg", "--model-path", str(SSD_MODEL))
    assert result.returncode == 1 and "no such file" in result.stderr
    result = camwatch("detect", str(MEDIA / "pets.jpg"), "--model-path", str(SSD_MODEL), "--threshold", "3")
    assert result.returncode == 1 and "--threshold" in result.stderr


def test_unreachable_camera_url_is_clear(ssd_model, data_dir):
    result = camwatch("detect", "rtsp://admin:hunter22@127.0.0.1:9/stream", "--model-path", str(SSD_MODEL))
    assert result.returncode == 1
    assert "cannot connect to rtsp://admin:***@127.0.0.1:9/stream" in result.stderr
    assert "hunter22" not in result.stderr + result.stdout


def test_init_writes_a_valid_commented_config(tmp_path):
    path = tmp_path / "etc" / "config.yml"
    result = camwatch("init", "--config", str(path), "--url", str(MEDIA / "walking-by.h264"))
    assert result.returncode == 0, result.stderr
    text = path.read_text()
    assert text.count("#") > 5 and "walking-by.h264" in text
    assert camwatch("config", "check", str(path)).returncode == 0
    again = camwatch("init", "--config", str(path))
    assert again.returncode == 1 and "already exists" in again.stderr


def test_init_without_a_camera_writes_a_valid_config_with_none(tmp_path):
    """No --url and (on a machine without USB cameras) nothing found: no camera, nothing to fill in."""
    if list(Path("/dev").glob("video*")):
        return  # init offers the USB camera here (covered by the config it writes being valid)
    path = tmp_path / "etc" / "config.yml"
    result = camwatch("init", "--config", str(path))
    assert result.returncode == 0, result.stderr
    assert "add your cameras on the web page" in result.stderr
    text = path.read_text()
    assert "cameras: {}" in text
    assert [line for line in text.splitlines() if "${" in line.split("#")[0]] == []  # no secret to provide
    check = camwatch("config", "check", str(path))
    assert check.returncode == 0, check.stderr


def test_detect_and_replay_do_not_need_the_secrets_of_cameras_they_do_not_open(
    tmp_path, ssd_model, shared_media, data_dir, monkeypatch
):
    """A config whose camera URL needs ${CAMWATCH_CAMERA_PASSWORD} (written where it is not set)."""
    starter = tmp_path / "etc" / "config.yml"
    url = "rtsp://user:${CAMWATCH_CAMERA_PASSWORD}@192.168.1.10:554/stream1"
    monkeypatch.delenv("CAMWATCH_CAMERA_PASSWORD", raising=False)
    assert camwatch("init", "--config", str(starter), "--url", url).returncode == 0
    assert "${CAMWATCH_CAMERA_PASSWORD}" in starter.read_text()
    monkeypatch.setenv("CAMWATCH_CONFIG", str(starter))
    check = camwatch("config", "check")  # running the cameras does need it, and says so
    assert check.returncode == 1 and "CAMWATCH_CAMERA_PASSWORD is not set" in check.stderr

    detect = camwatch("detect", str(MEDIA / "grace_hopper.bmp"), "--model-path", str(SSD_MODEL))
    assert detect.returncode == 0, detect.stderr
    assert "person" in detect.stdout
    replay = camwatch(
        "replay", str(MEDIA / "total-darkness-to-light.h264"), "--config", str(starter),
        "--model-path", str(SSD_MODEL), "--json",
    )
    assert replay.returncode == 0, replay.stderr
    summary = json.loads(replay.stdout.splitlines()[-1])["summary"]
    assert summary["camera"] == "camera_1" and summary["frames_processed"] > 0


def test_replay_takes_a_config_without_cameras_and_names_a_missing_camera(tmp_path, ssd_model, shared_media):
    """A config with only detector settings replays under the name "replay"; asking it for a
    camera it does not have is one line listing what it has."""
    settings = tmp_path / "detector.yml"
    settings.write_text("detector:\n  num_threads: 1\n")
    clip = str(MEDIA / "total-darkness-to-light.h264")
    replay = camwatch("replay", clip, "--config", str(settings), "--model-path", str(SSD_MODEL), "--json")
    assert replay.returncode == 0, replay.stderr
    summary = json.loads(replay.stdout.splitlines()[-1])["summary"]
    assert summary["camera"] == "replay" and summary["frames_processed"] > 0
    missing = camwatch("replay", clip, "--config", str(settings), "--camera", "porch")
    assert missing.returncode != 0 and "Traceback" not in missing.stderr
    assert missing.stderr.strip().splitlines()[-1].endswith("no camera 'porch' in " + str(settings) + " (cameras: none)")


def test_run_with_missing_model_exits_1(tmp_path, data_dir):
    cfg = tmp_path / "c.yml"
    cfg.write_text(f"cameras:\n  a:\n    url: {MEDIA / 'walking-by.h264'}\nweb:\n  enabled: false\n")
    result = camwatch("run", "--config", str(cfg))
    assert result.returncode == 1
    assert "model files are missing" in result.stderr and "Traceback" not in result.stderr


def test_run_stops_cleanly_on_sigterm(tmp_path, ssd_model, data_dir):
    cfg = tmp_path / "c.yml"
    cfg.write_text(
        f"cameras:\n  a:\n    url: {MEDIA / 'walking-by.h264'}\n    source:\n      loop: true\n"
        f"detector:\n  model_path: {SSD_MODEL}\n  labels_path: {COCO_LABELS}\n"
        "web:\n  enabled: false\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "camwatch", "run", "--config", str(cfg)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=os.environ.copy(),
    )
    try:
        deadline = time.monotonic() + 60
        db = Path(data_dir) / "camwatch.db"
        while time.monotonic() < deadline and not db.exists():
            time.sleep(0.2)
        time.sleep(3)
        assert proc.poll() is None, proc.stderr.read()
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "received SIGTERM" in err and "camwatch stopping" in err
    assert "Traceback" not in err
