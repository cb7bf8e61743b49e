"""An offline install: every missing model named at once (pull, run, doctor, verify), then
every known model in a folder imported in one command — with the real model files of
../shared/models and a real local HTTP server standing in for a download site that has
none of them."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from camwatch.model_install import ALREADY, IMPORTED, REFUSED, SKIPPED, import_folder
from camwatch.models import ModelManager, sha256_of
from camwatch.service.doctor import run_doctor
from tests.conftest import MODELS
from tests.support.http_server import ModelHttpServer

#: What the default configuration (no detector set, faces on) needs.
NEEDED = {
    "yolox_nano_ti_lite_320_full_integer_quant.tflite",
    "face_detection_short_range.tflite",
    "face_detection_full_range.tflite",
}


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "camwatch", *args], capture_output=True, text=True,
                          timeout=180, env={**os.environ, **(env or {})})


@pytest.fixture
def config(tmp_path: Path, data_dir: Path) -> Path:
    """The starter configuration's models: the default detector and faces on; no camera."""
    path = tmp_path / "config.yml"
    path.write_text(f"data_dir: {data_dir}\ncameras: {{}}\nweb:\n  enabled: false\n", encoding="utf-8")
    return path


def _names_every_file(text: str) -> None:
    line = next((line for line in text.splitlines() if "model files are missing" in line), "")
    assert line, text
    for name in NEEDED:
        assert name in line, f"{name} not named in: {line}"
    assert "camwatch models import FOLDER" in line
    assert "Traceback" not in text


def test_every_missing_model_is_named_at_once(config: Path, data_dir: Path, tmp_path: Path, shared_media) -> None:
    empty = tmp_path / "site"
    empty.mkdir()
    with ModelHttpServer(empty) as site:  # a download site with none of the files: every pull fails
        pulled = cli("models", "pull", "--retries", "1",
                     env={"CAMWATCH_CONFIG": str(config), "CAMWATCH_MODEL_MIRROR": site.base_url})
    assert pulled.returncode == 1
    _names_every_file(pulled.stderr)
    assert sum("pulling" in line for line in pulled.stderr.splitlines()) == 3  # it went on after the first failure

    run = cli("run", "--no-web", "--no-mqtt", "--config", str(config))
    assert run.returncode == 1
    _names_every_file(run.stderr)

    verify = cli("models", "verify", env={"CAMWATCH_CONFIG": str(config)})
    assert verify.returncode == 1
    _names_every_file(verify.stderr)

    out = io.StringIO()
    assert run_doctor(str(config), timeout=2, as_json=True, out=out) == 1
    rows = {r["check"]: r for r in json.loads(out.getvalue())["checks"]}
    assert rows["model"]["result"] == "fail" and "yolox_nano_ti_lite_320" in rows["model"]["detail"]
    assert "camwatch models import FOLDER" in rows["model"]["fix"]
    faces = rows["face models"]
    assert faces["result"] == "warn"
    assert "face_detection_short_range.tflite" in faces["detail"] and "face_detection_full_range.tflite" in faces["detail"]


def test_import_a_folder_in_one_command(config: Path, data_dir: Path, shared_media) -> None:
    result = cli("models", "import", str(MODELS), env={"CAMWATCH_CONFIG": str(config)})
    assert result.returncode == 0, result.stderr
    installed = {p.name for p in (data_dir / "models").iterdir()}
    assert installed >= NEEDED
    assert "coco_ssd_mobilenet_v1_1.0_quant_2018_06_29_detect.tflite" in installed
    assert "face_detection_back.tflite" not in installed  # a model camwatch does not know: skipped
    assert not any(name.endswith(".txt") for name in installed)
    for name in installed:
        assert sha256_of(data_dir / "models" / name) == sha256_of(MODELS / name)
    assert "every model the configuration uses is installed" in result.stdout
    skipped = next(line for line in result.stdout.splitlines() if line.startswith("face_detection_back.tflite"))
    assert "skipped" in skipped

    assert cli("models", "verify", env={"CAMWATCH_CONFIG": str(config)}).returncode == 0
    out = io.StringIO()
    run_doctor(str(config), timeout=2, as_json=True, out=out)
    rows = {r["check"]: r for r in json.loads(out.getvalue())["checks"]}
    assert rows["model"]["result"] == "ok" and rows["face models"]["result"] == "ok"

    again = cli("models", "import", str(MODELS), env={"CAMWATCH_CONFIG": str(config)})
    assert again.returncode == 0 and "0 imported" in again.stdout
    assert again.stdout.count(ALREADY) == 5


def test_a_folder_with_renamed_damaged_and_foreign_files(tmp_path: Path, data_dir: Path, shared_media) -> None:
    folder = tmp_path / "usb stick"
    folder.mkdir()
    shutil.copyfile(MODELS / "face_detection_short_range.tflite", folder / "download (1).tflite")  # renamed
    damaged = bytearray((MODELS / "face_detection_full_range.tflite").read_bytes())
    damaged[4000] ^= 0xFF
    (folder / "face_detection_full_range.tflite").write_bytes(bytes(damaged))
    (folder / "holiday.jpg").write_bytes(b"\xff\xd8 not a model")
    (folder / "notes.tflite").write_bytes(b"not a model either")
    (folder / "sub").mkdir()
    shutil.copyfile(MODELS / "yolox_nano_ti_lite_320_full_integer_quant.tflite",
                    folder / "sub" / "yolox_nano_ti_lite_320_full_integer_quant.tflite")

    manager = ModelManager(data_dir)
    rows = {r.file: r for r in import_folder(manager, folder)}
    assert set(rows) == {"download (1).tflite", "face_detection_full_range.tflite", "notes.tflite"}
    assert (rows["download (1).tflite"].result, rows["download (1).tflite"].model) == (IMPORTED, "blazeface_short_range")
    assert manager.status("blazeface_short_range") == "ok"
    assert rows["face_detection_full_range.tflite"].result == REFUSED
    assert "SHA-256" in rows["face_detection_full_range.tflite"].reason
    assert manager.status("blazeface_full_range") == "missing"  # nothing damaged is installed
    assert rows["notes.tflite"].result == SKIPPED
    assert manager.status("yolox_nano_ti_lite_320") == "missing"  # subfolders are not searched

    result = cli("models", "--data-dir", str(data_dir), "import", str(folder))
    assert result.returncode == 1  # a refused file
    assert "Traceback" not in result.stderr
    assert "face_detection_full_range.tflite" in result.stdout and "refused" in result.stdout
    missing = cli("models", "--data-dir", str(data_dir), "import", str(tmp_path / "nowhere"))
    assert missing.returncode == 1 and "no such file or folder" in missing.stderr


def test_the_system_page_names_every_missing_face_model(data_dir: Path, ssd_model: Path) -> None:
    """Faces on, no face model: the cameras run, and the line on the System page (the state's
    recent errors) names both files and the folder import."""
    from camwatch.config import parse_config
    from camwatch.pipeline.services import build_services

    config = parse_config({"detector": {"model_path": str(ssd_model)}, "cameras": {}})
    services = build_services(config, data_dir)
    try:
        assert services.faces is None
        lines = [e["message"] for e in services.state.errors if e["source"] == "faces"]
        assert len(lines) == 1, lines
        assert "face_detection_short_range.tflite" in lines[0] and "face_detection_full_range.tflite" in lines[0]
        assert "camwatch models import FOLDER" in lines[0]
    finally:
        services.close()
