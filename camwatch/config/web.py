"""Local web UI settings."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator

from camwatch import secrets
from camwatch.config.base import Section

_HASH_METHODS = ("scrypt:", "pbkdf2:")


class WebConfig(Section):
    enabled: bool = Field(True, title="Enabled", description="Serve the local web UI and REST API.")
    host: str = Field("0.0.0.0", title="Bind address", description="Address the web UI listens on.")
    port: int = Field(5080, ge=1, le=65535, title="Port", description="TCP port of the web UI.")
    password_hash: str | None = Field(
        None,
        title="Admin password hash",
        description=(
            "A werkzeug scrypt or pbkdf2 hash of the admin password; when set, the first-run "
            "password page is skipped and the password cannot be changed in the UI."
        ),
    )
    session_secret_file: Path | None = Field(
        None,
        title="Session secret file",
        description="File holding the key that signs session cookies; default <data dir>/web_secret (created 0600).",
    )
    session_lifetime_hours: float = Field(
        168, gt=0, le=24 * 365, title="Session lifetime (h)", description="A login stays valid this long."
    )
    cookie_secure: bool = Field(
        False,
        title="Secure cookie",
        description="Send the session cookie over HTTPS only (enable behind a TLS reverse proxy).",
    )
    trusted_proxies: list[str] = Field(
        default_factory=list,
        title="Trusted proxies",
        description="Addresses of reverse proxies whose X-Forwarded-For is believed (login throttling, logs).",
    )
    allowed_hosts: list[str] = Field(
        default_factory=list,
        title="Allowed host names",
        description=(
            "Public names this device is reached by (e.g. a reverse proxy's). Requests whose Host "
            "header is a public name not listed here are refused (stops DNS rebinding); IP addresses, "
            "localhost, single-label names and private suffixes (.local, .lan, .home, .internal...) "
            "always work; \"*\" turns the check off."
        ),
    )
    login_max_failures: int = Field(
        5, ge=1, le=1000, title="Failed logins",
        description="Failed logins (per client address, or per browser that logged in before) before tries are slowed down.",
    )
    login_window: float = Field(
        900, gt=0, title="Failure window (s)", description="Failed logins older than this are forgotten."
    )
    login_backoff: float = Field(
        2, gt=0, title="First wait (s)",
        description="Wait after too many failed logins; each further failure doubles it, up to login_lockout.",
    )
    login_lockout: float = Field(
        300, gt=0, title="Longest wait (s)", description="The longest a client waits between login tries."
    )
    threads: int = Field(
        8, ge=2, le=64, title="Worker threads", description="Request threads of the waitress server (live streams hold one each)."
    )

    @field_validator("password_hash")
    @classmethod
    def _hash(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip()
        if not value.startswith(_HASH_METHODS) or value.count("$") != 2:
            raise ValueError(
                "must be a werkzeug password hash (scrypt:... or pbkdf2:...), e.g. from "
                "python3 -c \"from werkzeug.security import generate_password_hash as g; print(g(input(), 'scrypt'))\""
            )
        secrets.register(value)
        return value

    @field_validator("allowed_hosts")
    @classmethod
    def _hosts(cls, value: list[str]) -> list[str]:
        cleaned = [host.strip().lower().rstrip(".") for host in value]
        for host in cleaned:
            if not host or any(c in host for c in "/:@ \t"):
                raise ValueError(f"{host!r} is not a host name (give names only, no scheme, port or path)")
        return cleaned
