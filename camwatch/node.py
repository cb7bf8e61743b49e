"""A camwatch node's name: one level of the MQTT topic tree and part of Home Assistant ids.

The rule is a host name label (RFC 1123): lower-case letters, digits and ``-``, 1 to 63
characters, not starting or ending with ``-``. It is valid as an MQTT topic level (no
``/``, ``+``, ``#``), as a Home Assistant discovery ``node_id`` and inside a unique id;
having no ``_`` keeps ``<node>_<camera>`` unambiguous (camera names have no ``-``).
The default is the host name, made to fit the rule.
"""

from __future__ import annotations

import re
import socket

from camwatch.names import NODE_NAME

#: Names a node cannot have: ``<prefix>/fleet/…`` holds the fleet-wide topics.
RESERVED_NODE_NAMES = frozenset({"fleet"})
_FALLBACK = "camwatch"


def check_node_name(value: str) -> str:
    """``value`` when it is a valid node name, else ValueError saying why."""
    NODE_NAME.check(value)
    if value in RESERVED_NODE_NAMES:
        raise ValueError(f"node name {value!r} is reserved (the fleet-wide MQTT topics use it)")
    return value


def node_name_from_host(hostname: str) -> str:
    """The host name's first label made valid: ``Pi_Front.lan`` → ``pi-front``."""
    label = hostname.strip().split(".")[0].lower()
    label = re.sub(r"[^a-z0-9-]+", "-", label)
    label = re.sub(r"-{2,}", "-", label).strip("-")[:63].strip("-")
    if not label:
        return _FALLBACK
    if label in RESERVED_NODE_NAMES:
        return f"{label}-node"
    return label


def default_node_name() -> str:
    return node_name_from_host(socket.gethostname())


def resolve_node_name(configured: str | None) -> str:
    """The configured node name, or the one made from the host name."""
    return configured if configured else default_node_name()
