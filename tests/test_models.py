"""The model manager against a real local HTTP server serving ../shared/models."""

from __future__ import annotations

import io
import os
import subprocess
import sys

import pytest

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


def test_models_cli(server, data_dir, tmp_path):
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
