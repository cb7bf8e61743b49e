"""Ed25519 signatures of model manifests (``cryptography``), and the envelope nodes receive.

The envelope published on a ``…/model/desired`` topic is JSON::

    {"manifest": "<the manifest as canonical JSON text>", "signature": "<base64>", "key": "<key id>"}

The signature covers the exact bytes of ``manifest`` (UTF-8), so nothing has to be
re-serialised to check it; the node also checks that those bytes are the canonical form of
what they say. ``key`` (the first 16 hex digits of the SHA-256 of the public key) only
helps the owner see which key signed; every configured key is tried.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from camwatch.atomic import write_atomic
from camwatch.comms.inbound import BadPayload, parse_json
from camwatch.config.fleet import ED25519_PREFIX, public_key_bytes
from camwatch.fleet.manifest import ManifestError, ModelManifest, parse_manifest

MAX_ENVELOPE_BYTES = 256 * 1024


class SignatureRejected(ValueError):
    """The envelope is not signed by a configured key (or not an envelope at all)."""


@dataclass(frozen=True)
class KeyPair:
    private_pem: bytes
    public: str  # ed25519:<base64>, as the node config takes it


def key_id(public_raw: bytes) -> str:
    return hashlib.sha256(public_raw).hexdigest()[:16]


def public_text(key: Ed25519PublicKey) -> str:
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return ED25519_PREFIX + base64.b64encode(raw).decode()


def generate_key() -> KeyPair:
    private = Ed25519PrivateKey.generate()
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return KeyPair(pem, public_text(private.public_key()))


def write_private_key(path: Path, pair: KeyPair) -> None:
    """The private key, readable by its owner only from the first byte on."""
    if path.exists():
        raise FileExistsError(f"{path} exists; not overwriting a signing key")
    write_atomic(path, pair.private_pem, mode=0o600, durable=True)


def load_private_key(path: Path) -> Ed25519PrivateKey:
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ValueError(f"cannot read signing key {path}: {exc.strerror or exc}") from None
    password = os.environ.get("CAMWATCH_SIGNING_KEY_PASSWORD")
    try:
        key = serialization.load_pem_private_key(data, password.encode() if password else None)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{path} is not a usable PEM private key ({exc})") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} is not an Ed25519 key")
    return key


def sign_manifest(manifest: ModelManifest, key: Ed25519PrivateKey) -> dict[str, str]:
    body = manifest.canonical_bytes()
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return {
        "manifest": body.decode(),
        "signature": base64.b64encode(key.sign(body)).decode(),
        "key": key_id(raw),
    }


def verify_envelope(payload: bytes, keys: list[str]) -> ModelManifest:
    """The manifest of a signed envelope; SignatureRejected or ManifestError with the reason."""
    if len(payload) > MAX_ENVELOPE_BYTES:
        raise SignatureRejected(f"message of {len(payload)} bytes is larger than {MAX_ENVELOPE_BYTES}")
    try:
        envelope = parse_json(payload, MAX_ENVELOPE_BYTES, max_depth=1)
    except BadPayload:
        raise SignatureRejected("not a signed manifest (not JSON)") from None
    if not isinstance(envelope, dict) or not isinstance(envelope.get("manifest"), str):
        raise SignatureRejected("not a signed manifest (no manifest text)")
    signature_text = envelope.get("signature")
    if not isinstance(signature_text, str) or not signature_text:
        raise SignatureRejected("manifest is not signed (no signature)")
    try:
        signature = base64.b64decode(signature_text, validate=True)
    except (binascii.Error, ValueError):
        raise SignatureRejected("signature is not base64") from None
    body = envelope["manifest"].encode("utf-8")
    if not any(_verifies(key, signature, body) for key in keys):
        raise SignatureRejected("signature does not verify against any key in updates.keys")
    try:
        data = parse_json(body, MAX_ENVELOPE_BYTES, max_depth=2)
    except BadPayload:
        raise ManifestError("signed manifest text is not JSON") from None
    manifest = parse_manifest(data)
    if manifest.canonical_bytes() != body:
        raise ManifestError("signed manifest is not in canonical form (sorted keys, no spaces, defaults written)")
    return manifest


def _verifies(key: str, signature: bytes, body: bytes) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(public_key_bytes(key)).verify(signature, body)
    except (InvalidSignature, ValueError):
        return False
    return True
