"""MQTT publisher settings."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator

from camwatch.config.base import Section

_TOPIC_ROOT = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_./-]{0,99}$")


def _check_root(value: str) -> str:
    value = value.strip().strip("/")
    if not _TOPIC_ROOT.fullmatch(value) or "//" in value:
        raise ValueError("must be letters, digits, _ - . and / (no wildcards + or #, no empty levels)")
    return value


class MqttConfig(Section):
    enabled: bool = Field(False, title="Enabled", description="Publish results to an MQTT broker.")
    host: str = Field("127.0.0.1", title="Broker host", description="MQTT broker host name or address.")
    port: int = Field(1883, ge=1, le=65535, title="Broker port", description="1883 plain, 8883 usually TLS.")
    topic_prefix: str = Field("camwatch", title="Topic prefix", description="Root of camwatch's topic tree.")
    username: str | None = Field(None, title="User name", description="Broker user name.")
    password: SecretStr | None = Field(
        None, title="Password", description="Broker password; use ${ENV_VAR} or ${file:/path}, never plain text."
    )
    client_id: str | None = Field(
        None,
        title="Client id",
        description="MQTT client id; default camwatch-<topic prefix>-<host name>. Must be unique on the broker.",
    )
    protocol: Literal["3.1.1", "5"] = Field("3.1.1", title="Protocol", description="MQTT protocol version: 3.1.1 or 5.")
    keepalive: int = Field(
        60, ge=5, le=3600, title="Keepalive (s)", description="Seconds between pings; the broker drops us after 1.5x."
    )
    tls: bool = Field(
        False,
        title="TLS",
        description="Connect with TLS (implied when a CA, client certificate or insecure flag is set).",
    )
    ca_file: Path | None = Field(
        None, title="CA file", description="PEM file of the CA that signed the broker's certificate; default system CAs."
    )
    cert_file: Path | None = Field(None, title="Client certificate", description="PEM client certificate (mutual TLS).")
    key_file: Path | None = Field(None, title="Client key", description="PEM private key of the client certificate.")
    key_password: SecretStr | None = Field(
        None, title="Client key password", description="Password of an encrypted client key; use ${ENV_VAR} or ${file:}."
    )
    tls_insecure: bool = Field(
        False,
        title="Skip TLS verification",
        description="Accept any broker certificate and host name. Only for testing: it allows a man in the middle.",
    )
    reconnect_min: float = Field(1.0, gt=0, le=60, title="First retry (s)", description="First reconnect delay.")
    reconnect_max: float = Field(60.0, gt=0, le=3600, title="Longest retry (s)", description="Reconnect backoff cap.")
    stats_interval: float = Field(
        30.0, ge=1, le=3600, title="Stats interval (s)", description="Publish fps, detector ms, CPU and memory this often."
    )
    motion_off_delay: float = Field(
        10.0, ge=0, le=3600, title="Motion off delay (s)", description="Motion must be gone this long before OFF is sent."
    )
    outbox_max_messages: int = Field(
        10000,
        ge=10,
        le=10_000_000,
        title="Outbox size",
        description="Events and alerts kept while the broker is away; beyond this the oldest are dropped (and counted).",
    )
    max_command_bytes: int = Field(
        256, ge=16, le=65536, title="Largest command", description="Command payloads above this many bytes are rejected."
    )
    discovery: bool = Field(
        True, title="Home Assistant discovery", description="Publish Home Assistant MQTT discovery configs."
    )
    discovery_prefix: str = Field(
        "homeassistant", title="Discovery prefix", description="Home Assistant's discovery prefix (its status topic too)."
    )
    web_url: str | None = Field(
        None,
        title="Web UI address",
        description="Base URL of the camwatch web UI (e.g. http://pi.local:5080), linked from each Home Assistant device.",
    )

    @field_validator("topic_prefix", "discovery_prefix")
    @classmethod
    def _roots(cls, value: str) -> str:
        return _check_root(value)

    @field_validator("web_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip().rstrip("/")
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value

    @model_validator(mode="after")
    def _tls_pairs(self) -> MqttConfig:
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("cert_file and key_file must be given together")
        if self.reconnect_max < self.reconnect_min:
            raise ValueError("reconnect_max must be >= reconnect_min")
        return self

    @property
    def use_tls(self) -> bool:
        return self.tls or self.tls_insecure or self.ca_file is not None or self.cert_file is not None
