"""The model manager against a real local HTTP server serving ../shared/models."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys

import pytest

from camwatch.detectors.labels import load_labels
from camwatch.models import ModelError, ModelManager, sha256_of
from tests.conftest import MODELS, SSD_MODEL
from tests.support.http_server import ModelHttpServer

SSD = "ssd_mobilenet_v1_coco_quant"


@pytest.fixture
def server(shared_media):
    srv = ModelHttpServer(MODELS)
    srv.start()
    yield srv
    srv.stop()


def url_of(server, name: str) -> str:
    return server.url(name)


def test_manifest_lists_the_models(data_dir):
    manager = ModelManager(data_dir)
    assert {"ssd_mobilenet_v1_coco_quant", "blazeface_short_range", "blazeface_full_range"} <= set(manager.entries)
    assert manager.get(SSD).main.sha256 == sha256_of(SSD_MODEL)
    assert manager.labels_path(SSD).is_file()
    assert manager.status(SSD) == "missing"


def test_pull_downloads_verifies_and_installs(server, data_dir):
    manager = ModelManager(data_dir)
    progress = io.StringIO()
    path = manager.pull(SSD, url=url_of(server, SSD_MODEL.name), progress=progress)
    assert path == data_dir / "models" / SSD_MODEL.name
    assert sha256_of(path) == sha256_of(SSD_MODEL)
    assert "100%" in progress.getvalue()
    assert manager.status(SSD) == "ok"
    assert [p.name for p in (data_dir / "models").iterdir()] == [SSD_MODEL.name]  # no temporary file left


def test_pull_refuses_a_corrupted_file(server, data_dir):
    server.corrupt(SSD_MODEL.name)
    manager = ModelManager(data_dir)
    with pytest.raises(ModelError, match="SHA-256 mismatch"):
        manager.pull(SSD, url=url_of(server, SSD_MODEL.name), retries=1)
    assert list((data_dir / "models").iterdir()) == []  # neither the model nor a temporary file


def test_interrupted_download_is_retried_then_fails_cleanly(server, data_dir):
    server.truncate(SSD_MODEL.name, 100_000)
    manager = ModelManager(data_dir)
    with pytest.raises(ModelError, match="cannot download"):
        manager.pull(SSD, url=url_of(server, SSD_MODEL.name), retries=2)
    assert list((data_dir / "models").iterdir()) == []  # neither the model nor a temporary file
    assert len(server.requests_for(SSD_MODEL.name)) == 2


def test_transient_errors_are_retried(server, data_dir):
    server.fail_times(SSD_MODEL.name, 2, status=503)
    manager = ModelManager(data_dir)
    path = manager.pull(SSD, url=url_of(server, SSD_MODEL.name), retries=3)
    assert sha256_of(path) == sha256_of(SSD_MODEL)


def test_mirror_environment_variable(server, data_dir, monkeypatch):
    monkeypatch.setenv("CAMWATCH_MODEL_MIRROR", server.base_url)
    manager = ModelManager(data_dir)
    assert manager.pull("blazeface_short_range").is_file()


def test_unknown_hash_needs_explicit_sha256(server, data_dir):
    manager = ModelManager(data_dir)
    with pytest.raises(ModelError, match="--sha256"):
        manager.pull(SSD, edgetpu=True, url=url_of(server, SSD_MODEL.name))
    # The user vouches for a hash: the downloaded file must match it.
    with pytest.raises(ModelError, match="SHA-256 mismatch"):
        manager.pull(SSD, edgetpu=True, url=url_of(server, SSD_MODEL.name), sha256="0" * 64, retries=1)


def test_import_checks_the_hash(tmp_path, data_dir, shared_media):
    manager = ModelManager(data_dir)
    assert manager.import_file(SSD_MODEL) == data_dir / "models" / SSD_MODEL.name
    assert manager.status(SSD) == "ok"
    tampered = tmp_path / SSD_MODEL.name
    data = bytearray(SSD_MODEL.read_bytes())
    data[5000] ^= 0xFF
    tampered.write_bytes(bytes(data))
    with pytest.raises(ModelError, match="mismatch|not a model"):
        manager.import_file(tampered, name=SSD)


def test_verify_detects_a_damaged_install(data_dir, shared_media):
    manager = ModelManager(data_dir)
    installed = manager.import_file(SSD_MODEL)
    with installed.open("r+b") as fh:
        fh.seek(1000)
        fh.write(b"\x00\x00\x00")
    rows = {r["name"]: r["status"] for r in manager.verify()}
    assert rows[SSD] == "mismatch"


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "camwatch", *args], capture_output=True, text=True,
                          timeout=120, env=os.environ.copy())


def test_models_cli(server, data_dir, tmp_path, monkeypatch):
    config = tmp_path / "config.yml"  # the SSD only: `verify` also fails on a model the config uses but lacks
    config.write_text(f"detector:\n  model: {SSD}\nfaces:\n  enabled: false\n", encoding="utf-8")
    monkeypatch.setenv("CAMWATCH_CONFIG", str(config))
    result = cli("models", "pull", SSD, "--url", url_of(server, SSD_MODEL.name))
    assert result.returncode == 0, result.stderr
    listing = cli("models", "list")
    assert listing.returncode == 0 and SSD in listing.stdout and "ok" in listing.stdout
    assert cli("models", "verify").returncode == 0
    (data_dir / "models" / SSD_MODEL.name).write_bytes(b"broken")
    verify = cli("models", "verify")
    assert verify.returncode == 1 and "mismatch" in verify.stdout
    bad = tmp_path / "wrong.tflite"
    bad.write_bytes(b"x" * 1000)
    result = cli("models", "import", str(bad), "--name", SSD)
    assert result.returncode == 1 and "SHA-256 mismatch" in result.stderr and "Traceback" not in result.stderr
    result = cli("models", "pull", "no_such_model")
    assert result.returncode == 1 and "unknown model" in result.stderr


# --------------------------------------------------------------- detector family entries
MOBILEDET = "ssdlite_mobiledet_coco_qat"
SSD_V2 = "ssd_mobilenet_v2_coco_quant"
YOLOX_416 = "yolox_nano_ti_lite_416"
YOLOX_FILE = MODELS / "yolox_nano_ti_lite_416_full_integer_quant.tflite"


def test_every_entry_is_well_formed(data_dir):
    manager = ModelManager(data_dir)
    for entry in manager.entries.values():
        for spec in filter(None, (entry.main, entry.edgetpu)):
            assert spec.url and spec.url.startswith("https://"), spec
            assert spec.sha256 is None or (len(spec.sha256) == 64 and int(spec.sha256, 16) >= 0), spec
        assert entry.licence and entry.licence != "unknown", entry.name
        if entry.is_object_detector:
            labels = load_labels(manager.labels_path(entry.name))
            assert labels[0] == "person"
            assert len(labels) == (80 if entry.layout == "yolox" else 90), entry.name


def test_detector_families_in_the_manifest(data_dir):
    manager = ModelManager(data_dir)
    mobiledet = manager.get(MOBILEDET)
    assert mobiledet.layout == "ssd" and mobiledet.main.file == "ssdlite_mobiledet_coco_qat_postprocess.tflite"
    assert mobiledet.main.sha256 == "90bb33a634e041914cc1819aa5df99818e6c396c4d2db952c0fd7a9cffc4724f"
    assert mobiledet.edgetpu.file == "ssdlite_mobiledet_coco_qat_postprocess_edgetpu.tflite"
    assert mobiledet.edgetpu.sha256 == "4a2be2bbb614e576d56dcb914fa52752bf0f13411512710d355d97faa1b35641"
    v2 = manager.get(SSD_V2)
    assert v2.layout == "ssd" and v2.edgetpu.file == "ssd_mobilenet_v2_coco_quant_postprocess_edgetpu.tflite"
    assert "google-coral/test_data" in v2.main.url and "google-coral/test_data" in v2.edgetpu.url
    for name in (YOLOX_416, "yolox_nano_ti_lite_320"):
        entry = manager.get(name)
        assert entry.layout == "yolox" and entry.edgetpu is None and "unconfirmed" in entry.licence
        assert entry.main.sha256 == sha256_of(MODELS / entry.main.file) if (MODELS / entry.main.file).is_file() else True


@pytest.fixture
def wrong_body_server(tmp_path, shared_media):
    """Serves the SSD v1 bytes under every file name of the models that cannot be fetched here."""
    root = tmp_path / "served"
    root.mkdir()
    manager = ModelManager(tmp_path)
    for name in (MOBILEDET, SSD_V2):
        for spec in filter(None, (manager.get(name).main, manager.get(name).edgetpu)):
            shutil.copyfile(SSD_MODEL, root / spec.file)
    with ModelHttpServer(root) as srv:
        yield srv


@pytest.mark.parametrize("edgetpu", [False, True], ids=["cpu", "edgetpu"])
def test_mobiledet_download_with_a_wrong_body_is_refused(wrong_body_server, data_dir, monkeypatch, edgetpu):
    monkeypatch.setenv("CAMWATCH_MODEL_MIRROR", wrong_body_server.base_url)
    manager = ModelManager(data_dir)
    with pytest.raises(ModelError, match="SHA-256 mismatch"):
        manager.pull(MOBILEDET, edgetpu=edgetpu, retries=1)
    spec = manager.get(MOBILEDET).edgetpu if edgetpu else manager.get(MOBILEDET).main
    assert len(wrong_body_server.requests_for(spec.file)) == 1  # it really went to the download
    assert not list((data_dir / "models").glob("*"))


def test_ssd_v2_needs_the_users_hash(wrong_body_server, data_dir, monkeypatch):
    monkeypatch.setenv("CAMWATCH_MODEL_MIRROR", wrong_body_server.base_url)
    manager = ModelManager(data_dir)
    for edgetpu in (False, True):
        with pytest.raises(ModelError, match="--sha256"):
            manager.pull(SSD_V2, edgetpu=edgetpu)
    assert wrong_body_server.requests == []  # refused before any download
    with pytest.raises(ModelError, match="SHA-256 mismatch"):
        manager.pull(SSD_V2, sha256="ab" * 32, retries=1)
    # The hash the user vouches for is the one checked: here the served bytes are SSD v1's.
    path = manager.pull(SSD_V2, sha256=sha256_of(SSD_MODEL), retries=1)
    assert path.name == "ssd_mobilenet_v2_coco_quant_postprocess.tflite" and manager.status(SSD_V2) == "unverified"


def test_yolox_import_and_verify_offline(data_dir, shared_media):
    manager = ModelManager(data_dir)
    assert manager.import_file(YOLOX_FILE) == data_dir / "models" / YOLOX_FILE.name
    assert manager.status(YOLOX_416) == "ok"
    assert {r["name"]: r["status"] for r in manager.verify()}[YOLOX_416] == "ok"
    listing = cli("models", "list")
    row = next(line for line in listing.stdout.splitlines() if line.startswith(YOLOX_416 + " "))
    assert "yolox" in row and " ok " in row and "unconfirmed" in row


def test_pull_without_name_fetches_what_the_config_uses(server, data_dir, tmp_path, monkeypatch):
    config = tmp_path / "config.yml"
    config.write_text(
        "cameras:\n  door:\n    url: rtsp://127.0.0.1:8554/door\n"
        "detector:\n  model: yolox_nano_ti_lite_320\nfaces:\n  enabled: false\n"
    )
    monkeypatch.setenv("CAMWATCH_CONFIG", str(config))
    monkeypatch.setenv("CAMWATCH_MODEL_MIRROR", server.base_url)
    result = cli("models", "pull")
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in (data_dir / "models").iterdir()) == ["yolox_nano_ti_lite_320_full_integer_quant.tflite"]


@pytest.mark.parametrize("entry,message", [
    ("{name: x, layout: ssd, file: a.tflite, url: 'http://example.org/a', sha256: null}", "must be https"),
    ("{name: x, layout: ssd, file: a.tflite, url: 'https://example.org/a', sha256: abc}", "not a SHA-256"),
    ("{name: x, layout: yolov8, file: a.tflite, url: 'https://example.org/a'}", "layout must be one of"),
    ("{name: x, layout: ssd, file: a.tflite, url: 'https://example.org/a', sha: abc}", "unknown key"),
])
def test_malformed_manifest_is_refused_by_entry(tmp_path, entry, message):
    manifest = tmp_path / "manifest.yml"
    manifest.write_text(f"models:\n  - {entry}\n")
    with pytest.raises(ModelError, match=f"x: .*{message}|{message}"):
        ModelManager(tmp_path, manifest)
