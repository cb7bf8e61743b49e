"""Notifications to phones and other services through Apprise (no Home Assistant needed)."""

from __future__ import annotations

from pydantic import Field, SecretStr, ValidationInfo, field_validator

from camwatch import secrets
from camwatch.config.base import Section
from camwatch.names import CAMERA_NAME, DESTINATION_NAME, LABEL_NAME, ZONE_NAME

#: The rule of each filter list's entries.
FILTER_RULES = {"cameras": CAMERA_NAME, "labels": LABEL_NAME, "zones": ZONE_NAME}


def check_apprise_url(url: str) -> str:
    """``url`` when Apprise has a service for it, else ValueError (the message never holds the URL)."""
    url = url.strip()
    if not url:
        raise ValueError("must not be empty")
    secrets.register(url)  # it holds tokens: never echo it in an error or a log line
    try:
        import apprise
    except ImportError:  # checked again when sending; the config stays loadable
        return url
    if apprise.Apprise.instantiate(url) is None:
        scheme = url.split("://", 1)[0] if "://" in url else ""
        known = f"'{scheme}://' is not a service Apprise knows" if scheme.isalnum() else "not an Apprise URL"
        raise ValueError(f"{known} (examples: ntfy://topic, tgram://token/chat, mailto://user@example.com, json://host/path)")
    return url


class NotifyDestination(Section):
    """One place notifications go to: a phone app, a chat, e-mail or a webhook."""

    url: SecretStr = Field(
        title="Apprise URL",
        description="Where to send, as an Apprise URL (ntfy://, tgram://, pover://, mailto://, matrix://, json://...). "
        "It holds tokens: write ${file:/path} or ${ENV_VAR}, never the URL itself; the web page stores it in a 0600 file.",
    )
    enabled: bool = Field(True, title="Enabled", description="Send to this destination.")
    cameras: list[str] = Field(
        default_factory=list, title="Cameras", description="Only events of these cameras; empty means every camera."
    )
    labels: list[str] = Field(
        default_factory=list,
        title="Labels",
        description="Only these labels (person, car, ... or tamper, loitering, unusual_activity); empty means every label.",
    )
    zones: list[str] = Field(
        default_factory=list,
        title="Zones",
        description="Only objects that entered one of these zones; empty means anywhere in view.",
    )
    only_armed: bool = Field(
        True,
        title="Only when armed",
        description="Send only events that raise alerts (the system is armed and its schedule allows the label).",
    )
    attach_snapshot: bool = Field(
        False,
        title="Attach the snapshot",
        description="Attach the event's snapshot. The picture then leaves the device to this service; "
        "off, only text is sent.",
    )
    min_interval: float = Field(
        60.0,
        ge=0,
        le=86400,
        title="Per-camera rate limit (s)",
        description="At most one notification per camera in this many seconds (event time); the next one says "
        "how many were held back. 0 sends every event.",
    )

    @field_validator("url")
    @classmethod
    def _url(cls, value: SecretStr) -> SecretStr:
        return SecretStr(check_apprise_url(value.get_secret_value()))

    @field_validator("cameras", "labels", "zones")
    @classmethod
    def _names(cls, value: list[str], info: ValidationInfo) -> list[str]:
        cleaned = [v.strip() for v in value]
        if any(not v for v in cleaned):
            raise ValueError("names must not be empty")
        rule = FILTER_RULES[str(info.field_name)]
        for name in cleaned:
            rule.check(name)
        return list(dict.fromkeys(cleaned))


class NotifyConfig(Section):
    """Notifications sent by camwatch itself (Apprise), independent of MQTT."""

    destinations: dict[str, NotifyDestination] = Field(
        default_factory=dict,
        title="Destinations",
        description="Destinations by name (lower case letters, digits and _), each an Apprise URL with its filters.",
    )
    web_url: str | None = Field(
        None,
        title="Web UI address",
        description="Base URL of the camwatch web UI (e.g. http://camwatch.local:5080); each message then links "
        "to its event.",
    )
    retries: int = Field(
        3, ge=0, le=10, title="Retries", description="Further attempts after a failed send before it counts as failed."
    )
    retry_delay: float = Field(
        5.0, gt=0, le=3600, title="First retry delay (s)", description="Wait before the first retry; doubles each time."
    )
    queue_size: int = Field(
        50,
        ge=1,
        le=10000,
        title="Queue per destination",
        description="Messages waiting for a slow or unreachable destination; beyond this the oldest are dropped "
        "(and counted).",
    )

    @field_validator("destinations")
    @classmethod
    def _destination_names(cls, value: dict[str, NotifyDestination]) -> dict[str, NotifyDestination]:
        for name in value:
            DESTINATION_NAME.check(name)
        return value

    @field_validator("web_url")
    @classmethod
    def _web_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip().rstrip("/")
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value
