"""The model manager: manifest, download with SHA-256 check, offline import, verify.

Weights never live in the repository. ``pull`` downloads over HTTPS with retries and a
progress bar into ``<data_dir>/models`` (atomic: hidden temporary file, hash check, rename) and
refuses a file whose SHA-256 differs; ``import`` copies a local file after the same check.
An entry without a known hash needs an explicit ``sha256`` from the user.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import yaml

from camwatch.atomic import replacing
from camwatch.const import LAYOUT_BLAZEFACE as BLAZEFACE
from camwatch.const import MODELS_MANIFEST, OBJECT_LAYOUTS

_LOGGER = logging.getLogger(__name__)
_CHUNK = 1 << 16
ENV_MIRROR = "CAMWATCH_MODEL_MIRROR"


class ModelError(RuntimeError):
    """A model cannot be found, fetched or trusted."""


@dataclass(frozen=True)
class ModelFile:
    file: str
    url: str | None
    sha256: str | None


@dataclass(frozen=True)
class ModelEntry:
    name: str
    layout: str
    description: str
    licence: str
    main: ModelFile
    input_size: tuple[int, int] | None
    labels: str | None
    edgetpu: ModelFile | None

    @property
    def is_object_detector(self) -> bool:
        return self.layout in OBJECT_LAYOUTS

    def files(self, edgetpu: bool = False) -> list[ModelFile]:
        return [self.edgetpu] if edgetpu and self.edgetpu else [self.main]


KNOWN_LAYOUTS = (*OBJECT_LAYOUTS, BLAZEFACE)
_ENTRY_KEYS = {"name", "layout", "description", "licence", "file", "url", "sha256", "input_size", "labels", "edgetpu"}
_FILE_KEYS = {"file", "url", "sha256"}


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _check_hash(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip().lower()
    if len(value) != 64 or any(c not in "0123456789abcdef" for c in value):
        raise ModelError(f"not a SHA-256 hex digest: {value!r}")
    return value


def load_manifest(path: Path = MODELS_MANIFEST) -> dict[str, ModelEntry]:
    """The manifest's entries by name; ModelError with the offending entry if malformed."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ModelError(f"cannot read model manifest {path}: {exc}") from exc
    entries: dict[str, ModelEntry] = {}
    for item in raw.get("models", []):
        entry = _parse_entry(item, path)
        if entry.name in entries:
            raise ModelError(f"model manifest {path}: {entry.name} is listed twice")
        entries[entry.name] = entry
    return entries


class ModelManager:
    def __init__(self, data_dir: Path, manifest: Path = MODELS_MANIFEST) -> None:
        self.data_dir = Path(data_dir)
        self.directory = self.data_dir / "models"
        self.manifest_path = manifest
        self.entries = load_manifest(manifest)

    # ---------------------------------------------------------------- lookup
    def get(self, name: str) -> ModelEntry:
        try:
            return self.entries[name]
        except KeyError:
            known = ", ".join(self.entries)
            raise ModelError(f"unknown model {name!r} (known: {known})") from None

    def path(self, name: str, edgetpu: bool = False) -> Path:
        entry = self.get(name)
        spec = entry.edgetpu if edgetpu else entry.main
        if spec is None:
            raise ModelError(f"model {name} has no Edge TPU build")
        return self.directory / spec.file

    def labels_path(self, name: str) -> Path | None:
        entry = self.get(name)
        return self.manifest_path.parent / entry.labels if entry.labels else None

    def status(self, name: str, edgetpu: bool = False) -> str:
        """ok | missing | mismatch | unverified (no known hash)."""
        entry = self.get(name)
        spec = entry.edgetpu if edgetpu else entry.main
        if spec is None:
            return "missing"
        path = self.directory / spec.file
        if not path.is_file():
            return "missing"
        if spec.sha256 is None:
            return "unverified"
        return "ok" if sha256_of(path) == spec.sha256 else "mismatch"

    def verify(self) -> list[dict[str, Any]]:
        rows = []
        for name, entry in self.entries.items():
            rows.append({"name": name, "variant": "cpu", "file": entry.main.file, "status": self.status(name)})
            if entry.edgetpu and (self.directory / entry.edgetpu.file).exists():
                rows.append(
                    {"name": name, "variant": "edgetpu", "file": entry.edgetpu.file, "status": self.status(name, True)}
                )
        return rows

    # ------------------------------------------------------------ pull/import
    def pull(
        self,
        name: str,
        *,
        edgetpu: bool = False,
        sha256: str | None = None,
        url: str | None = None,
        retries: int = 3,
        timeout: float = 30.0,
        progress: TextIO | None = None,
    ) -> Path:
        entry = self.get(name)
        spec = entry.edgetpu if edgetpu else entry.main
        if spec is None:
            raise ModelError(f"model {name} has no Edge TPU build")
        expected = _check_hash(sha256) or spec.sha256
        if expected is None:
            raise ModelError(
                f"no known SHA-256 for {spec.file}; check the publisher's hash and pass it with --sha256"
            )
        source = url or self._mirror(spec) or spec.url
        if not source:
            raise ModelError(f"model {name} has no download URL; use `camwatch models import PATH`")
        target = self.directory / spec.file
        if target.is_file() and sha256_of(target) == expected:
            _LOGGER.info("%s is already present and verified", spec.file)
            return target
        self.directory.mkdir(parents=True, exist_ok=True)
        with replacing(target) as part:  # only a complete file with the right hash replaces the target
            last_error: Exception | None = None
            for attempt in range(1, retries + 1):
                try:
                    self._download(source, part, timeout, progress)
                    break
                except (urllib.error.URLError, OSError, ModelError) as exc:
                    last_error = exc
                    _LOGGER.warning("download of %s failed (attempt %d/%d): %s", spec.file, attempt, retries, exc)
                    if attempt < retries:
                        time.sleep(min(2 ** (attempt - 1), 10))
            else:
                raise ModelError(f"cannot download {spec.file} from {source}: {last_error}")
            actual = sha256_of(part)
            if actual != expected:
                raise ModelError(
                    f"SHA-256 mismatch for {spec.file}: expected {expected}, got {actual}; the file was discarded"
                )
        return target

    @staticmethod
    def _mirror(spec: ModelFile) -> str | None:
        mirror = os.environ.get(ENV_MIRROR)
        return f"{mirror.rstrip('/')}/{spec.file}" if mirror else None

    @staticmethod
    def _download(url: str, part: Path, timeout: float, progress: TextIO | None) -> None:
        if not url.lower().startswith(("https://", "http://")):
            raise ModelError(f"unsupported URL scheme: {url}")
        request = urllib.request.Request(url, headers={"User-Agent": "camwatch-model-manager"})
        with urllib.request.urlopen(request, timeout=timeout) as response, part.open("wb") as out:
            total = int(response.headers.get("Content-Length") or 0)
            done = 0
            shown = -1
            while True:
                chunk = response.read(_CHUNK)
                if not chunk:
                    break
                out.write(chunk)
                done += len(chunk)
                if progress is not None and total:
                    pct = done * 100 // total
                    if pct // 5 != shown:
                        shown = pct // 5
                        bar = "#" * (pct // 5) + "-" * (20 - pct // 5)
                        progress.write(f"\r  [{bar}] {pct:3d}% {done / 1e6:.1f}/{total / 1e6:.1f} MB")
                        progress.flush()
            if progress is not None and total:
                progress.write("\n")
            if total and done != total:
                raise ModelError(f"download interrupted after {done} of {total} bytes")

    def import_file(self, source: Path, *, name: str | None = None, sha256: str | None = None) -> Path:
        source = Path(source)
        if not source.is_file():
            raise ModelError(f"no such file: {source}")
        actual = sha256_of(source)
        spec = self._match(source, name, actual)
        expected = _check_hash(sha256) or (spec.sha256 if spec else None)
        if spec is None:
            raise ModelError(
                f"{source.name} is not a model in the manifest (pass --name NAME to import it as that model)"
            )
        if expected is None:
            raise ModelError(f"no known SHA-256 for {spec.file}; pass --sha256 after checking the publisher's hash")
        if actual != expected:
            raise ModelError(f"SHA-256 mismatch for {source}: expected {expected}, got {actual}; not imported")
        self.directory.mkdir(parents=True, exist_ok=True)
        target = self.directory / spec.file
        with replacing(target) as tmp:
            shutil.copyfile(source, tmp)
        return target

    def _match(self, source: Path, name: str | None, digest: str) -> ModelFile | None:
        candidates = [self.get(name)] if name else list(self.entries.values())
        specs = [s for e in candidates for s in (e.main, e.edgetpu) if s is not None]
        for spec in specs:  # by hash first, then by file name
            if spec.sha256 == digest:
                return spec
        for spec in specs:
            if spec.file == source.name:
                return spec
        if name and len(specs) >= 1:
            return specs[0]
        return None


def _parse_file(item: Any, where: str) -> ModelFile:
    if not isinstance(item, dict):
        raise ModelError(f"{where}: expected file, url and sha256, got {item!r}")
    unknown = set(item) - _FILE_KEYS
    if unknown:
        raise ModelError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    if not item.get("file") or "/" in str(item["file"]):
        raise ModelError(f"{where}: needs a plain file name")
    url = item.get("url")
    if url is not None and not str(url).startswith("https://"):
        raise ModelError(f"{where}: the download URL must be https, got {url!r}")
    try:
        digest = _check_hash(item.get("sha256"))
    except ModelError as exc:
        raise ModelError(f"{where}: {exc}") from None
    return ModelFile(str(item["file"]), url, digest)


def _parse_entry(item: Any, path: Path) -> ModelEntry:
    if not isinstance(item, dict) or not item.get("name"):
        raise ModelError(f"model manifest {path}: every entry needs a name")
    where = f"model manifest {path}, {item['name']}"
    unknown = set(item) - _ENTRY_KEYS
    if unknown:
        raise ModelError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    layout = item.get("layout")
    if layout not in KNOWN_LAYOUTS:
        raise ModelError(f"{where}: layout must be one of {', '.join(KNOWN_LAYOUTS)}, got {layout!r}")
    tpu = item.get("edgetpu")
    return ModelEntry(
        name=str(item["name"]),
        layout=layout,
        description=str(item.get("description", "")),
        licence=str(item.get("licence") or "unknown"),
        main=_parse_file({k: item.get(k) for k in _FILE_KEYS}, where),
        input_size=tuple(item["input_size"]) if item.get("input_size") else None,
        labels=item.get("labels"),
        edgetpu=_parse_file(tpu, f"{where} (edgetpu)") if tpu else None,
    )


def print_table(rows: list[dict[str, Any]], out: TextIO = sys.stdout) -> None:
    if not rows:
        return
    keys = list(rows[0])
    widths = {k: max(len(k), *(len(str(r[k])) for r in rows)) for k in keys}
    out.write("  ".join(k.upper().ljust(widths[k]) for k in keys) + "\n")
    for row in rows:
        out.write("  ".join(str(row[k]).ljust(widths[k]) for k in keys) + "\n")
