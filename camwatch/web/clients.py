"""Facts about the client of the current request: its address, whether it sits at the
device itself, and whether a ``next`` target stays on this site."""

from __future__ import annotations

import ipaddress
import unicodedata
from urllib.parse import urlsplit

from flask import current_app, request

MAX_NEXT_LENGTH = 2048
_PROXY_HEADERS = ("X-Forwarded-For", "Forwarded", "X-Real-IP", "X-Forwarded-Host", "Via")


def client_address() -> str:
    """The client's address; X-Forwarded-For is believed only from a trusted proxy."""
    remote = request.remote_addr or "unknown"
    trusted = set(current_app.extensions["camwatch"].config.web.trusted_proxies)
    if remote not in trusted:
        return remote
    forwarded = [a.strip() for a in request.headers.get("X-Forwarded-For", "").split(",") if a.strip()]
    for address in reversed(forwarded):
        if address not in trusted:
            try:
                return str(ipaddress.ip_address(address))
            except ValueError:
                return remote
    return remote


def at_the_device() -> bool:
    """A direct loopback connection: someone at the device itself (no proxy in between)."""
    try:
        loopback = ipaddress.ip_address(request.remote_addr or "").is_loopback
    except ValueError:
        return False
    return loopback and not any(request.headers.get(h) for h in _PROXY_HEADERS)


def is_safe_next(target: object) -> bool:
    """Only a same-origin relative path: no scheme or host, no ``//`` or ``/\\`` (browsers
    read both as another host), no control, space or format characters anywhere (browsers
    drop tabs and newlines, so ``/\\t/evil`` would become ``//evil``)."""
    if not isinstance(target, str) or not 1 <= len(target) <= MAX_NEXT_LENGTH:
        return False
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return False
    if any(c.isspace() or unicodedata.category(c)[0] in "CZ" for c in target):
        return False
    try:
        parts = urlsplit(target)
    except ValueError:
        return False
    return not parts.scheme and not parts.netloc
