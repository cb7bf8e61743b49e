"""Node names, signed model manifests and the command line that makes them.

A manifest is trusted only when an Ed25519 key in ``updates.keys`` signed exactly its bytes:
another key, a missing or mangled signature, a changed field or a non-canonical text are
refused with a reason. ``camwatch models keygen`` / ``sign`` produce what the nodes take
and refuse to sign a file that is not the model it is said to be.
"""

from __future__ import annotations

import base64
import json
import os
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from camwatch.cli import main
from camwatch.config import ConfigError, parse_config
from camwatch.fleet.manifest import ManifestError, parse_manifest
from camwatch.fleet.signing import SignatureRejected, generate_key, sign_manifest, verify_envelope
from camwatch.models import sha256_of
from camwatch.node import check_node_name, node_name_from_host
from tests.conftest import MODELS, SSD_MODEL, require

YOLOX_416 = MODELS / "yolox_nano_ti_lite_416_full_integer_quant.tflite"


def _key(pair):
    return serialization.load_pem_private_key(pair.private_pem, None)


def _manifest(**changes):
    data = {"name": "yolox_416", "version": 3, "url": "http://models.lan/y.tflite", "sha256": "ab" * 32,
            "size": 1000, "layout": "yolox", "labels": ["person", "car"], "target": "*"}  # fmt: skip
    data.update(changes)
    return parse_manifest(data)


@pytest.mark.parametrize(
    ("host", "node"),
    [("Pi-Front.lan", "pi-front"), ("gate_south.site.example", "gate-south"), ("--x--", "x"), ("", "camwatch"),
     ("fleet", "fleet-node"), ("a" * 80, "a" * 63), ("Büro 2", "b-ro-2")],
)  # fmt: skip
def test_node_names_from_host_names_are_valid_topic_levels_and_ha_ids(host: str, node: str) -> None:
    assert node_name_from_host(host) == node
    assert check_node_name(node) == node


def test_node_name_in_the_config_is_checked() -> None:
    base = {"cameras": {"door": {"url": "x.mp4"}}}
    assert parse_config({**base, "node": {"name": "gate-a"}}).node.name == "gate-a"
    for bad in ("Gate A", "gate/a", "gate_a", "-gate", "fleet", "a+b"):
        with pytest.raises(ConfigError):
            parse_config({**base, "node": {"name": bad}})
    with pytest.raises(ConfigError, match="32 bytes"):
        parse_config({**base, "updates": {"keys": ["ed25519:AAAA"]}})


def test_a_signed_manifest_verifies_with_its_key_only() -> None:
    owner, stranger = generate_key(), generate_key()
    envelope = json.dumps(sign_manifest(_manifest(), _key(owner))).encode()
    manifest = verify_envelope(envelope, [stranger.public, owner.public])
    assert manifest.label == "yolox_416 v3" and manifest.for_fleet
    with pytest.raises(SignatureRejected, match="does not verify"):
        verify_envelope(envelope, [stranger.public])
    with pytest.raises(SignatureRejected, match="does not verify"):
        verify_envelope(json.dumps(sign_manifest(_manifest(), _key(stranger))).encode(), [owner.public])


def test_changed_unsigned_or_mangled_manifests_are_refused_with_the_reason() -> None:
    owner = generate_key()
    signed = sign_manifest(_manifest(), _key(owner))
    tampered = dict(signed, manifest=signed["manifest"].replace('"version":3', '"version":9'))
    unsigned = {"manifest": signed["manifest"]}
    garbage = dict(signed, signature="not base64!")
    spaced = sign_manifest(_manifest(), _key(owner))
    cases = [
        (tampered, SignatureRejected, "does not verify"),
        (unsigned, SignatureRejected, "no signature"),
        (garbage, SignatureRejected, "not base64"),
        ({"hello": 1}, SignatureRejected, "no manifest"),
    ]
    for envelope, error, reason in cases:
        with pytest.raises(error, match=reason):
            verify_envelope(json.dumps(envelope).encode(), [owner.public])
    with pytest.raises(SignatureRejected, match="not JSON"):
        verify_envelope(b"\xff\xfe", [owner.public])
    # a text the key signed that is not the canonical form of what it says is refused too
    text = json.dumps(json.loads(spaced["manifest"]), indent=1)
    private = _key(owner)
    odd = {"manifest": text, "signature": base64.b64encode(private.sign(text.encode())).decode()}
    with pytest.raises(ManifestError, match="canonical"):
        verify_envelope(json.dumps(odd).encode(), [owner.public])


def test_manifest_fields_are_checked() -> None:
    for changes, reason in [
        ({"version": 0}, "version"), ({"version": "3"}, "version"), ({"url": "ftp://x/y"}, "url"),
        ({"sha256": "xyz"}, "sha256"), ({"layout": "blazeface"}, "layout"), ({"labels": []}, "labels"),
        ({"target": "Gate A"}, "target"), ({"size": 0}, "size"), ({"extra": 1}, "unknown"),
    ]:  # fmt: skip
        with pytest.raises(ManifestError, match=reason):
            _manifest(**changes)


def test_rollout_delays_spread_over_the_window_and_stay_put() -> None:
    manifest = _manifest(rollout_window=3600)
    delays = [manifest.rollout_delay(f"node-{i}") for i in range(500)]
    assert delays == [manifest.rollout_delay(f"node-{i}") for i in range(500)]  # same after a restart
    assert all(0 <= d <= 3600 for d in delays)
    per_ten_minutes = [sum(1 for d in delays if k * 600 <= d < (k + 1) * 600) for k in range(6)]
    mean = 500 / 6
    assert 0.8 * mean < min(per_ten_minutes) <= max(per_ten_minutes) < 1.25 * mean, per_ten_minutes
    assert _manifest(rollout_window=0).rollout_delay("node-1") == 0


def test_keygen_and_sign_on_the_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    require(YOLOX_416.is_file() and SSD_MODEL.is_file(), "YOLOX 416 and SSD models")
    key = tmp_path / "signing.pem"
    assert main(["models", "keygen", "--out", str(key)]) == 0
    public = capsys.readouterr().out.split("- ", 1)[1].strip()
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    assert main(["models", "keygen", "--out", str(key)]) == 1  # never overwrites a key
    out = tmp_path / "desired.json"
    assert main(["models", "sign", "--key", str(key), "--file", str(YOLOX_416), "--url", "https://m.lan/y416.tflite",
                 "--version", "7", "--name", "yolox_416", "--target", "gate-a", "--out", str(out)]) == 0  # fmt: skip
    manifest = verify_envelope(out.read_bytes(), [public])
    assert (manifest.version, manifest.target, manifest.layout, manifest.input_size) == (7, "gate-a", "yolox", (416, 416))
    assert manifest.sha256 == sha256_of(YOLOX_416) and manifest.size == YOLOX_416.stat().st_size
    assert len(manifest.labels) == 80 and manifest.labels[0] == "person"
    capsys.readouterr()
    # a file that is not what it is said to be is not signed (unless asked to, for testing nodes)
    assert main(["models", "sign", "--key", str(key), "--file", str(SSD_MODEL), "--url", "https://m.lan/s.tflite",
                 "--version", "8", "--layout", "yolox"]) == 1  # fmt: skip
    assert "is a ssd model, not yolox" in capsys.readouterr().err
    assert main(["models", "sign", "--key", str(key), "--file", str(SSD_MODEL), "--url", "https://m.lan/s.tflite",
                 "--version", "8", "--layout", "yolox", "--skip-check"]) == 0  # fmt: skip
    assert verify_envelope(capsys.readouterr().out.encode(), [public]).layout == "yolox"
