"""The model manifest an integrator signs: which model a node (or the fleet) should run.

Fields (all signed): ``format`` (1), ``name``, ``version`` (an integer that must grow with
every manifest the key signs: nodes refuse one that is not newer than what they already
decided on), ``url`` (http or https: the SHA-256 is what is trusted, not the transport),
``sha256``, ``size`` (bytes), ``layout`` (ssd | yolox), ``labels`` (the label map, one name
per class), ``input_size`` ([w, h], optional), ``target`` (a node name, or ``*`` for every
node), ``rollout_window`` (seconds over which nodes spread their downloads) and ``issued``
(unix time, informative).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass
from typing import Any

from camwatch.const import OBJECT_LAYOUTS
from camwatch.names import DOT_NAMES
from camwatch.node import NODE_NAME

MANIFEST_FORMAT = 1
FLEET_TARGET = "*"
MAX_LABELS = 1000
MAX_MODEL_BYTES = 512 * 1024 * 1024
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_FIELDS = {"format", "name", "version", "url", "sha256", "size", "layout", "labels", "input_size", "target",
           "rollout_window", "issued"}  # fmt: skip


class ManifestError(ValueError):
    """A manifest that cannot be used; the message says which field and why."""


@dataclass(frozen=True)
class ModelManifest:
    name: str
    version: int
    url: str
    sha256: str
    size: int
    layout: str
    labels: tuple[str, ...]
    target: str = FLEET_TARGET
    input_size: tuple[int, int] | None = None
    rollout_window: int = 0
    issued: int = 0
    format: int = MANIFEST_FORMAT

    @property
    def for_fleet(self) -> bool:
        return self.target == FLEET_TARGET

    @property
    def label(self) -> str:
        """How people see it: ``yolox_nano_ti_lite_416 v7``."""
        return f"{self.name} v{self.version}"

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["labels"] = list(self.labels)
        data["input_size"] = list(self.input_size) if self.input_size else None
        return data

    def canonical_bytes(self) -> bytes:
        """The exact bytes that are signed: sorted keys, no spaces, ASCII."""
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()

    def rollout_delay(self, node: str) -> int:
        """Seconds this node waits before downloading: spread evenly over the window by a hash of
        the node name and the version, the same after a restart, different for the next version."""
        if self.rollout_window <= 0:
            return 0
        digest = hashlib.sha256(f"{node}/{self.name}/{self.version}".encode()).digest()
        return int.from_bytes(digest[:8], "big") % (self.rollout_window + 1)


def _int(data: dict[str, Any], key: str, low: int, high: int) -> int:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ManifestError(f"manifest {key} must be an integer from {low} to {high}, got {value!r}")
    return value


def _str(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise ManifestError(f"manifest {key} must be a non-empty string")
    return value


def parse_manifest(data: Any) -> ModelManifest:
    """A validated manifest from its JSON object; ManifestError otherwise."""
    if not isinstance(data, dict):
        raise ManifestError("manifest must be a JSON object")
    unknown = set(data) - _FIELDS
    if unknown:
        raise ManifestError(f"manifest has unknown field(s): {', '.join(sorted(unknown))}")
    if data.get("format", MANIFEST_FORMAT) != MANIFEST_FORMAT:
        raise ManifestError(f"manifest format {data.get('format')!r} is not supported (this camwatch reads 1)")
    name = _str(data, "name")
    if not _NAME.fullmatch(name) or name in DOT_NAMES:
        raise ManifestError(f"manifest name {name!r} must be letters, digits, _ . - (at most 100)")
    url = _str(data, "url")
    if not url.lower().startswith(("https://", "http://")):
        raise ManifestError(f"manifest url must be http:// or https://, got {url[:80]!r}")
    sha256 = _str(data, "sha256").lower()
    if not _HEX64.fullmatch(sha256):
        raise ManifestError("manifest sha256 must be 64 hex digits")
    layout = _str(data, "layout")
    if layout not in OBJECT_LAYOUTS:
        raise ManifestError(f"manifest layout must be one of {', '.join(OBJECT_LAYOUTS)}, got {layout!r}")
    labels = data.get("labels")
    if (not isinstance(labels, list) or not labels or len(labels) > MAX_LABELS
            or not all(isinstance(x, str) and 0 < len(x) <= 100 and "\n" not in x for x in labels)):  # fmt: skip
        raise ManifestError(f"manifest labels must be a list of 1 to {MAX_LABELS} names")
    target = _str(data, "target") if "target" in data else FLEET_TARGET
    if target != FLEET_TARGET and not NODE_NAME.matches(target):
        raise ManifestError(f"manifest target must be a node name or {FLEET_TARGET!r}, got {target!r}")
    size_raw = data.get("input_size")
    input_size = None
    if size_raw is not None:
        if (not isinstance(size_raw, list) or len(size_raw) != 2
                or not all(isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 4096 for v in size_raw)):  # fmt: skip
            raise ManifestError("manifest input_size must be [width, height]")
        input_size = (size_raw[0], size_raw[1])
    return ModelManifest(
        name=name, version=_int(data, "version", 1, 2**53), url=url, sha256=sha256,
        size=_int(data, "size", 1, MAX_MODEL_BYTES), layout=layout, labels=tuple(labels), target=target,
        input_size=input_size, rollout_window=_int(data, "rollout_window", 0, 30 * 86400) if "rollout_window" in data else 0,
        issued=_int(data, "issued", 0, 2**53) if "issued" in data else 0,
    )  # fmt: skip
