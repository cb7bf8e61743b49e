"""Names are checked as whole strings, with one rule per kind (camwatch.names), wherever they
come in: the config file, the web API (cameras, zones and their labels, notification
destinations and their filters, people, API tokens). A closing newline — which Python's ``$``
lets through and which makes the broker drop a client publishing it in a topic — and the
names ``.`` and ``..`` — which a browser removes from a URL — are refused everywhere."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from camwatch.config import ConfigError, parse_config
from camwatch.faces.gallery import FaceGallery
from camwatch.names import (
    CAMERA_NAME,
    DESTINATION_NAME,
    LABEL_NAME,
    NODE_NAME,
    ZONE_NAME,
    InvalidName,
    clean_display_name,
)
from camwatch.node import check_node_name
from camwatch.web import create_app
from tests.support.web import make_context, setup_and_login

RULES = [CAMERA_NAME, ZONE_NAME, DESTINATION_NAME, LABEL_NAME, NODE_NAME]
TRIANGLE = [[0, 0], [1, 0], [1, 1]]
HOOK = "json://127.0.0.1:9/x"


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.what)
def test_every_rule_takes_the_whole_string(rule: Any) -> None:
    assert rule.matches("front") and rule.match("front") and rule.check("front") == "front"
    for bad in ("front\n", "front\r\n", "\nfront", ".", "..", "", "front/x", "front#", "front+", 42, None):
        assert not rule.matches(bad), repr(bad)
        assert not rule.match(bad), repr(bad)
        with pytest.raises(InvalidName, match=rule.what):
            rule.check(bad)


def test_display_names_refuse_dot_names_and_controls() -> None:
    assert clean_display_name("  Grace   Hopper ", 64) == "Grace Hopper"
    assert clean_display_name("...", 64) == "..."  # not a path segment a browser removes
    for bad in (".", "..", " .. ", "a\u202eb", "a\x1bb", ""):
        with pytest.raises(InvalidName):
            clean_display_name(bad, 64)


@pytest.mark.parametrize(
    "section",
    [
        {"cameras": {"a": {"url": "x.mp4", "zones": {"z\n": {"coordinates": TRIANGLE}}}}},
        {"cameras": {"a": {"url": "x.mp4", "zones": {"z": {"coordinates": TRIANGLE, "objects": ["person\n"]}}}}},
        {"cameras": {"a": {"url": "x.mp4", "objects": {"track": ["person\n"]}}}},
        {"cameras": {"a\n": {"url": "x.mp4"}}},
        {"notify": {"destinations": {"phone\n": {"url": HOOK}}}},
        {"notify": {"destinations": {"phone": {"url": HOOK, "labels": ["person\nx"]}}}},
        {"notify": {"destinations": {"phone": {"url": HOOK, "zones": ["a/b"]}}}},
        {"node": {"name": "pi\nfront"}},
    ],
    ids=["zone", "zone-label", "tracked-label", "camera", "destination", "filter-label", "filter-zone", "node"],
)
def test_the_config_refuses_names_with_a_closing_newline(section: dict[str, Any]) -> None:
    with pytest.raises(ConfigError):
        parse_config(section)


def test_node_names_end_where_the_string_ends() -> None:
    assert check_node_name("pi-front") == "pi-front"
    with pytest.raises(ValueError, match="node name"):
        check_node_name("pi-front\n")
    assert parse_config({"node": {"name": " pi-front\n"}}).node.name == "pi-front"  # the file's value is trimmed


@pytest.fixture
def web(tmp_path: Path) -> Iterator[tuple[Any, Any, dict[str, str]]]:
    ctx = make_context(tmp_path, cameras=("front",))
    ctx.faces_gallery = FaceGallery(ctx.data_dir)
    app = create_app(ctx)
    client = app.test_client()
    headers = {"X-CSRF-Token": setup_and_login(client)}
    yield ctx, client, headers
    app.extensions["camwatch.accounts"].close()
    ctx.faces_gallery.close()
    ctx.store.close()


def test_the_api_refuses_every_name_with_a_closing_newline_or_a_dot_name(web: Any) -> None:
    ctx, client, headers = web
    before = ctx.config_path.read_text(encoding="utf-8")
    zone = {"coordinates": TRIANGLE}
    refused = [
        client.put("/api/cameras/front/zones", json={"zones": {"z\n": zone}}, headers=headers),
        client.put("/api/cameras/front/zones", json={"zones": {"z": {**zone, "objects": ["person\n"]}}},
                   headers=headers),
        client.put("/api/cameras/back%0A/settings", json={"source": {"kind": "file", "path": "/x.mp4"}},
                   headers=headers),
        client.put("/api/cameras/back/settings", json={"source": {"kind": "file", "path": "/x.mp4"},
                                                       "labels": ["person\n"]}, headers=headers),
        client.put("/api/notify/destinations/abc%0A", json={"url": HOOK}, headers=headers),
        client.put("/api/notify/destinations/abc", json={"url": HOOK, "cameras": ["front\n"]}, headers=headers),
        client.put("/api/notify/destinations/abc", json={"url": HOOK, "zones": ["z\n"]}, headers=headers),
        client.put("/api/notify/destinations/abc", json={"url": HOOK, "labels": ["person\n"]}, headers=headers),
        client.post("/api/faces", json={"name": ".."}, headers=headers),
        client.post("/api/faces", json={"name": "."}, headers=headers),
        client.post("/api/tokens", json={"name": ".."}, headers=headers),
    ]
    assert [r.status_code for r in refused] == [400] * len(refused), [r.get_json() for r in refused]
    assert ctx.config_path.read_text(encoding="utf-8") == before  # nothing saved
    assert not (ctx.data_dir / "secrets").exists() or not any((ctx.data_dir / "secrets").iterdir())
    assert client.get("/api/faces").get_json()["people"] == []
    assert client.get("/api/tokens").get_json()["tokens"] == []
    # The same names without the newline are taken.
    assert client.put("/api/cameras/front/zones", json={"zones": {"z": {**zone, "objects": ["person"]}}},
                      headers=headers).status_code == 200
    assert client.put("/api/notify/destinations/abc", json={"url": HOOK, "zones": ["z"], "cameras": ["front"],
                                                            "labels": ["person"]}, headers=headers).status_code == 200
    saved = yaml.safe_load(ctx.config_path.read_text(encoding="utf-8"))
    assert saved["cameras"]["front"]["zones"]["z"]["objects"] == ["person"]
    assert saved["notify"]["destinations"]["abc"]["zones"] == ["z"]


def test_other_config_words_end_where_the_string_ends() -> None:
    with pytest.raises(ConfigError):
        parse_config({"detector": {"device": "cpu\n"}})
    assert parse_config({"mqtt": {"topic_prefix": " home/cams\n"}}).mqtt.topic_prefix == "home/cams"  # trimmed
