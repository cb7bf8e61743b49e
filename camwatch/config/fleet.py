"""Node identity and over-the-air model updates (many boards on one broker)."""

from __future__ import annotations

import base64
import binascii

from pydantic import Field, field_validator

from camwatch.config.base import Section
from camwatch.node import check_node_name

ED25519_PREFIX = "ed25519:"


def public_key_bytes(text: str) -> bytes:
    """The 32 raw bytes of an ``ed25519:<base64>`` (or bare base64) public key; ValueError otherwise."""
    value = text.strip()
    if value.startswith(ED25519_PREFIX):
        value = value[len(ED25519_PREFIX) :]
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(f"update key {text[:60]!r} is not base64") from None
    if len(raw) != 32:
        raise ValueError(f"update key {text[:60]!r} is not an Ed25519 public key (32 bytes, got {len(raw)})")
    return raw


class NodeConfig(Section):
    name: str | None = Field(
        None,
        title="Node name",
        description=(
            "This camwatch's name on the MQTT broker and in Home Assistant (its topics are "
            "<topic_prefix>/<name>/…). Lower-case letters, digits and '-', like a host name; "
            "default: the host name made to fit. Must differ between nodes on one broker."
        ),
    )

    @field_validator("name")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        return None if value is None else check_node_name(value.strip())


class UpdatesConfig(Section):
    keys: list[str] = Field(
        default_factory=list,
        title="Update keys",
        description=(
            "Ed25519 public keys (ed25519:<base64>, printed by `camwatch models keygen`) whose signed "
            "model manifests this node accepts over MQTT. Empty: remote model updates are off."
        ),
    )
    recent_frames: int = Field(
        8,
        ge=0,
        le=64,
        title="Frames kept for tests",
        description=(
            "Recent detector inputs with objects kept in memory per camera (at most 640 px wide) to "
            "test a new model on before it goes live; 0 keeps none (only the built-in checks then)."
        ),
    )
    sample_interval: float = Field(
        2.0,
        ge=0.1,
        le=600,
        title="Sample interval (s)",
        description="At most one detector input per camera is kept (or compared in the watch period) this often.",
    )
    allowed_loss: float = Field(
        0.3,
        ge=0.0,
        le=1.0,
        title="Allowed loss",
        description=(
            "Share of the objects the running model found that a new model may miss, on the recent "
            "frames (shadow test) and during the watch period; when the loss is above it with 95 % "
            "confidence, the update is refused or rolled back."
        ),
    )
    min_objects: int = Field(
        5,
        ge=1,
        le=10000,
        title="Objects to judge",
        description="A loss is judged only once the running model found at least this many objects to compare.",
    )
    watch_period: float = Field(
        600.0,
        ge=0,
        le=7 * 86400,
        title="Watch period (s)",
        description=(
            "After a swap the previous model stays loaded this long and is run on sampled inputs; an "
            "error or a loss above allowed_loss rolls the update back by itself."
        ),
    )
    retry_interval: float = Field(
        600.0,
        ge=1,
        le=86400,
        title="Retry after (s)",
        description=(
            "A download that did not bring the signed file (network, server, a wrong size or SHA-256 "
            "on the way, a full disk) is tried again after this long, twice as long after each failure "
            "(at most 6 hours)."
        ),
    )
    min_version: int = Field(
        0,
        ge=0,
        le=2**53,
        title="Lowest version",
        description=(
            "Signed manifests with a lower version are never installed: set it when you provision a "
            "board so that an old signed manifest replayed on the broker cannot be its first model."
        ),
    )
    download_retries: int = Field(
        5, ge=1, le=100, title="Download attempts", description="Attempts per download, each resuming the last."
    )
    test_timeout: float = Field(
        120.0,
        ge=5,
        le=3600,
        title="Test timeout (s)",
        description="Longest time the second interpreter may take to load and check a new model.",
    )

    @field_validator("keys")
    @classmethod
    def _keys(cls, value: list[str]) -> list[str]:
        for key in value:
            public_key_bytes(key)
        return [key.strip() for key in value]
