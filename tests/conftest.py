"""Shared fixtures: real models and media from ../shared (never copied into the project)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

pytest_plugins = ["tests.support.fixtures", "tests.support.browser"]

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("CAMWATCH_SHARED", ROOT.parent / "shared"))
MODELS = SHARED / "models"
MEDIA = SHARED / "media"
SSD_MODEL = MODELS / "coco_ssd_mobilenet_v1_1.0_quant_2018_06_29_detect.tflite"
COCO_LABELS = MODELS / "coco_labels.txt"
# Facts about the shared clips, counted by eye (see tests/test_replay.py).
# one-by-one-person-detection.mp4: six visitors, one at a time (seconds into the clip).
ONE_BY_ONE_VISITS = [(5, 20), (23, 44), (50, 70), (75, 87), (92, 120), (124, 137)]
# Clips where only the light changes: nobody in them, so no person event.
LIGHT_CLIPS = ("light-dark.h264", "alternating-light.h264", "total-darkness-to-light.h264")
# Light changes with people in them, in the dark (seconds into the clip): a person event
# there is correct. lightout-after-movement: a person walks up through a lit doorway, then
# the light goes out; dark-stand (mean luma 2-4): people walk by close to the camera.
DARK_PEOPLE_CLIPS = {"lightout-after-movement.h264": (11.6, 23.2), "dark-stand.h264": (14.0, 31.0)}
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def require(condition: bool, what: str) -> None:
    """Skip locally when a component is missing; fail under CI=true (never a silent skip)."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"required test component missing under CI: {what}")
    pytest.skip(f"missing test component: {what}")


@pytest.fixture(scope="session", autouse=True)
def _session_config_and_data(tmp_path_factory: pytest.TempPathFactory):
    """Tests never read the host's config or data (/etc/camwatch, /var/lib/camwatch, ~/.local,
    or whatever CAMWATCH_CONFIG / CAMWATCH_DATA say outside): module and session fixtures
    see a session directory, each test its own (below)."""
    root = tmp_path_factory.mktemp("camwatch-session")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CAMWATCH_CONFIG", str(root / "config.yml"))  # absent unless a test writes it
        patch.setenv("CAMWATCH_DATA", str(root / "data"))
        yield root


@pytest.fixture(autouse=True)
def _test_config_and_data(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A config path (absent) and a data directory of this test only; ``data_dir`` and tests
    that write a config override them."""
    root = tmp_path_factory.mktemp("camwatch-env")
    monkeypatch.setenv("CAMWATCH_CONFIG", str(root / "config.yml"))
    monkeypatch.setenv("CAMWATCH_DATA", str(root / "data"))
    return root


@pytest.fixture(scope="session")
def shared_media() -> Path:
    require(MEDIA.is_dir(), f"media directory {MEDIA}")
    return MEDIA


@pytest.fixture(scope="session")
def ssd_model() -> Path:
    require(SSD_MODEL.is_file(), f"SSD model {SSD_MODEL}")
    return SSD_MODEL


@pytest.fixture(scope="session")
def default_model() -> Path:
    """The file of camwatch's default detector model (what a user runs without choosing one)."""
    from camwatch.const import DEFAULT_DETECTOR_MODEL
    from camwatch.models import load_manifest

    path = MODELS / load_manifest()[DEFAULT_DETECTOR_MODEL].main.file
    require(path.is_file(), f"default detector model {path}")
    return path


@pytest.fixture(scope="session")
def detector(ssd_model: Path):
    """One real SSD detector (LiteRT when present) shared by the session."""
    from camwatch.detectors.plugins.ssd import SsdDetector, load_labels

    det = SsdDetector(ssd_model, load_labels(COCO_LABELS), device="cpu", num_threads=2)
    yield det
    det.close()


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh camwatch data directory (CAMWATCH_DATA) per test."""
    path = tmp_path / "data"
    path.mkdir()
    monkeypatch.setenv("CAMWATCH_DATA", str(path))
    return path


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """In the parallel workers, long tests start early and spread out (tests/support/scheduling.py)."""
    if getattr(config, "workerinput", None) is not None:
        from tests.support.scheduling import long_tests_early

        long_tests_early(items)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object:
    """``--dist load`` (scripts/test): a file sharing a module fixture stays on one worker, every
    other test goes to whichever worker is free (tests/support/scheduling.py)."""
    if config.getoption("dist") != "load":
        return None
    from tests.support.scheduling import make_scheduler

    return make_scheduler(config, log)
