"""The round-trip config writer: comments and layout kept, validated before writing, atomic,
secrets in 0600 files referenced with ${file:...}."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
import yaml

from camwatch.config import load_config
from camwatch.config.writer import (
    ConfigWriteError,
    ConfigWriter,
    delete_path,
    get_path,
    referenced_file,
    remove_secret,
    secret_reference,
    set_path,
    write_secret,
)

ORIGINAL = """\
# camwatch on the porch Pi
cameras:
  front:   # the doorbell
    url: /media/front.mp4   # a file for now
    zones:
      porch:
        coordinates: [[0.1, 0.5], [0.9, 0.5], [0.9, 1.0]]   # the steps
        objects: [person]

# Home Assistant later
mqtt:
  enabled: false  # no broker yet
  topic_prefix: 'camwatch'
"""


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "config.yml"
    path.write_text(ORIGINAL, encoding="utf-8")
    path.chmod(0o640)
    return path


def test_a_change_keeps_comments_order_and_flow_lists(config_file: Path) -> None:
    writer = ConfigWriter(config_file)
    config = writer.update(lambda doc: set_path(doc, ["notify", "destinations", "phone"],
                                                {"url": "json://127.0.0.1:9/hook", "labels": ["person"]}))
    text = config_file.read_text(encoding="utf-8")
    assert text.startswith(ORIGINAL.rstrip("\n"))  # every line of the original, comments and quotes included
    assert "notify:\n  destinations:\n    phone:\n      url: json://127.0.0.1:9/hook\n" in text
    assert config.notify.destinations["phone"].labels == ["person"]
    assert load_config(config_file) == config  # camwatch loads exactly what was validated
    assert (config_file.with_name("config.yml.bak")).read_text(encoding="utf-8") == ORIGINAL
    assert stat.S_IMODE(config_file.stat().st_mode) == 0o640
    assert [p.name for p in config_file.parent.iterdir() if p.name.endswith(".tmp")] == []


def test_updating_a_mapping_in_place_keeps_its_comments(config_file: Path) -> None:
    writer = ConfigWriter(config_file)
    writer.update(lambda doc: set_path(doc, ["mqtt"], {"enabled": False, "topic_prefix": "camwatch", "port": 1884}))
    text = config_file.read_text(encoding="utf-8")
    assert "  enabled: false  # no broker yet\n  topic_prefix: 'camwatch'\n  port: 1884\n" in text
    writer.update(lambda doc: delete_path(doc, ["cameras", "front", "zones", "porch"]))
    text = config_file.read_text(encoding="utf-8")
    assert "zones:" not in text and "coordinates" not in text  # the emptied parent went too
    assert "    url: /media/front.mp4   # a file for now\n" in text
    assert get_path(yaml.safe_load(text), ["mqtt", "port"]) == 1884


def test_an_invalid_change_leaves_the_file_untouched(config_file: Path) -> None:
    writer = ConfigWriter(config_file)
    with pytest.raises(ConfigWriteError) as caught:
        writer.update(lambda doc: set_path(doc, ["mqtt", "port"], 70000))
    assert caught.value.status == 400 and caught.value.errors == ["mqtt.port: must be <= 65535, got 70000"]
    with pytest.raises(ConfigWriteError, match="unknown key"):
        writer.update(lambda doc: set_path(doc, ["notify", "colour"], "red"))
    assert config_file.read_text(encoding="utf-8") == ORIGINAL
    assert not config_file.with_name("config.yml.bak").exists()


def test_strings_are_written_so_that_camwatch_reads_strings(config_file: Path) -> None:
    tricky = ["yes", "off", "1.5", "null", "~", "2026-01-05", "person"]
    writer = ConfigWriter(config_file)
    writer.update(lambda doc: set_path(doc, ["cameras"], {
        f"cam{i}": {"url": "x.mp4", "name": text} for i, text in enumerate(tricky)}))
    cameras = load_config(config_file).cameras
    assert [cameras[f"cam{i}"].name for i in range(len(tricky))] == tricky


def test_an_unreadable_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "config.yml"
    path.write_text("cameras: [unclosed\n", encoding="utf-8")
    with pytest.raises(ConfigWriteError, match="not valid YAML") as caught:
        ConfigWriter(path).update(lambda doc: None)
    assert caught.value.status == 409
    with pytest.raises(ConfigWriteError, match="cannot read"):
        ConfigWriter(tmp_path / "missing.yml").update(lambda doc: None)


def test_secrets_go_to_0600_files_never_into_the_yaml(config_file: Path, tmp_path: Path) -> None:
    directory = tmp_path / "data" / "secrets"
    url = "tgram://123456789:AAbbCCdd-very-secret/987654"
    path = write_secret(directory, "notify-phone", url)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    reference = secret_reference(path)
    assert referenced_file(reference) == path and referenced_file("plain") is None
    ConfigWriter(config_file).update(lambda doc: set_path(doc, ["notify", "destinations", "phone"], {"url": reference}))
    text = config_file.read_text(encoding="utf-8")
    assert "very-secret" not in text and reference in text
    assert load_config(config_file).notify.destinations["phone"].url.get_secret_value() == url
    # Only files in the secrets directory are removed; the user's own files are left alone.
    own = tmp_path / "my-own-secret"
    own.write_text("x")
    remove_secret(directory, own)
    remove_secret(directory, path)
    assert own.exists() and not path.exists()
    assert os.listdir(directory) == []


SECTIONS = """\
cameras:
  front:
    url: /media/front.mp4
    objects:
      track: [person]   # people only

# Home Assistant later
mqtt:
  enabled: false
"""


def test_entries_added_at_the_end_of_a_section_stay_above_the_next_heading(tmp_path: Path) -> None:
    path = tmp_path / "config.yml"
    path.write_text(SECTIONS, encoding="utf-8")
    writer = ConfigWriter(path)
    writer.update(lambda doc: set_path(doc, ["cameras", "back"], {"url": "/media/back.mp4"}))
    text = path.read_text(encoding="utf-8")
    assert text == SECTIONS.replace("# people only\n", "# people only\n  back:\n    url: /media/back.mp4\n")
    writer.update(lambda doc: delete_path(doc, ["cameras", "back"]))
    assert path.read_text(encoding="utf-8") == SECTIONS
    writer.update(lambda doc: delete_path(doc, ["cameras", "front"], prune=False))  # emptied: cameras: {}
    assert path.read_text(encoding="utf-8") == "cameras: {}\n\n# Home Assistant later\nmqtt:\n  enabled: false\n"
