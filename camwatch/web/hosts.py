"""Which ``Host`` and ``Origin`` headers camwatch answers.

DNS rebinding: a web page on ``evil.example`` makes its name resolve to the camwatch
device's LAN address, then scripts in a LAN browser talk to camwatch as if it were
``evil.example`` (same origin, so the browser lets the page read the answers). The browser
still sends ``Host: evil.example``; refusing names that are not this device's stops it.
IP addresses are always accepted (a rebinding page cannot make the browser send one as
its own name), and so are names nobody can register in public DNS: single-label names
(``camwatch``) and names under the private-use suffixes (``.local`` for mDNS, ``.lan``,
``.home``, ``.home.arpa``, ``.internal``...) that home routers hand out. Also
``localhost``, this machine's host name, the configured bind address and
``web.allowed_hosts``.

A state-changing request whose ``Origin`` is neither the requested host nor an allowed
name comes from another site's page: it is refused, CSRF token or not.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from camwatch.config.web import WebConfig

_WILDCARD_BINDS = {"", "0.0.0.0", "::", "*"}
#: Suffixes that are not delegated in public DNS (RFC 6761, RFC 6762, RFC 8375, ICANN's
#: .internal), so a rebinding page cannot own a name under them.
PRIVATE_SUFFIXES = (".local", ".localhost", ".localdomain", ".lan", ".home", ".home.arpa", ".internal",
                    ".intranet", ".corp", ".private")


def _machine_names() -> set[str]:
    names = {"localhost", "localhost.localdomain"}
    try:
        hostname = socket.gethostname()
    except OSError:
        hostname = ""
    if hostname:
        short = hostname.split(".")[0]
        names |= {hostname, short, f"{short}.local"}  # no DNS look-up: it may hang offline
    return {n.lower().rstrip(".") for n in names if n}


def split_host(value: str) -> str:
    """``name:port`` / ``[v6]:port`` → the name (lower case, no trailing dot)."""
    text = value.strip().lower()
    if text.startswith("["):
        return text[1 : text.find("]")] if "]" in text else text
    if text.count(":") == 1:
        text = text.split(":", 1)[0]
    return text.rstrip(".")


def is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


class HostPolicy:
    def __init__(self, config: WebConfig, extra_names: set[str] | None = None) -> None:
        self.any_host = "*" in config.allowed_hosts
        self.configured = {h for h in config.allowed_hosts if h != "*"}
        names = _machine_names() | self.configured | (extra_names or set())
        if config.host not in _WILDCARD_BINDS:
            names.add(split_host(config.host))
        self.names = names

    def host_allowed(self, host_header: str) -> bool:
        if self.any_host:
            return True
        name = split_host(host_header)
        if not name or any(c in name for c in "/\\@ "):
            return False
        return name in self.names or is_ip(name) or "." not in name or name.endswith(PRIVATE_SUFFIXES)

    def origin_allowed(self, origin: str, host_header: str) -> bool:
        """A state-changing request's ``Origin``: the requested host itself or an allowed name."""
        if origin.strip().lower() == "null":
            return False  # sandboxed frames, file:// pages, some redirects
        try:
            parts = urlsplit(origin.strip())
        except ValueError:
            return False
        if parts.scheme not in ("http", "https") or not parts.netloc:
            return False
        if parts.netloc.lower() == host_header.strip().lower():
            return True
        name = (parts.hostname or "").rstrip(".")
        return self.any_host or name in self.configured
