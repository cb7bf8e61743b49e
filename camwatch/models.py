"""The model manager: manifest, download with SHA-256 check, offline import, verify.

Weights never live in the repository. ``pull`` downloads over HTTPS with retries and a
progress bar into ``<data_dir>/models`` (atomic: hidden temporary file, hash check, rename) and
refuses a file whose SHA-256 differs; ``import`` copies a local file after the same check.
An entry without a known hash needs an explicit ``sha256`` from the user.

:func:`download_resumable` is the download itself: each attempt continues what the partial
file already holds (HTTP ``Range``), so a flaky link or a restart does not start over.
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
from collections.abc import Callable
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


class DownloadFailed(ModelError):
    """The network or the server failed every attempt (trying later may work)."""


Progress = Callable[[int, "int | None"], None]  # bytes done, total (None: unknown)


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
            try:
                download_resumable(source, part, retries=retries, timeout=timeout,
                                   on_progress=_progress_bar(progress) if progress else None)  # fmt: skip
            except DownloadFailed as exc:
                raise ModelError(f"cannot download {spec.file} from {source}: {exc}") from None
            if progress is not None:
                progress.write("\n")
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


def _progress_bar(out: TextIO) -> Progress:
    shown = [-1]

    def show(done: int, total: int | None) -> None:
        if not total:
            return
        pct = min(100, done * 100 // total)
        if pct // 5 != shown[0]:
            shown[0] = pct // 5
            bar = "#" * (pct // 5) + "-" * (20 - pct // 5)
            out.write(f"\r  [{bar}] {pct:3d}% {done / 1e6:.1f}/{total / 1e6:.1f} MB")
            out.flush()

    return show


def download_resumable(
    url: str,
    part: Path,
    *,
    expected_size: int | None = None,
    retries: int = 3,
    timeout: float = 30.0,
    on_progress: Progress | None = None,
) -> None:
    """Fill ``part`` with the file at ``url``, continuing what it already holds.

    Each attempt asks for the missing bytes (``Range``); a server that ignores it sends the
    whole file again and ``part`` restarts. More bytes than ``expected_size`` is a ModelError
    at once (never retried); the network or server failing every attempt is DownloadFailed.
    The caller checks the hash.
    """
    if not url.lower().startswith(("https://", "http://")):
        raise ModelError(f"unsupported URL scheme: {url}")
    last: Exception | None = None
    for attempt in range(1, retries + 1):
        try:
            _fetch(url, part, expected_size, timeout, on_progress)
            return
        except (urllib.error.URLError, OSError, _Interrupted) as exc:
            last = exc
            _LOGGER.warning("download from %s failed (attempt %d/%d): %s", url, attempt, retries, exc)
            if attempt < retries:
                time.sleep(min(2 ** (attempt - 1), 10))
    raise DownloadFailed(str(last))


class _Interrupted(Exception):
    """The connection ended before the announced length (resumable)."""


def _fetch(url: str, part: Path, expected: int | None, timeout: float, on_progress: Progress | None) -> None:
    have = part.stat().st_size if part.exists() else 0
    if expected is not None and have > expected:
        have = 0
    if expected is not None and have == expected:
        return
    headers = {"User-Agent": "camwatch-model-manager"}
    if have:
        headers["Range"] = f"bytes={have}-"
    request = urllib.request.Request(url, headers=headers)
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and have:  # nothing left to send, or the file changed: start over
            part.unlink(missing_ok=True)
        raise
    with response:
        if have and response.status != 206:
            have = 0  # the server sent the whole file
        length = int(response.headers.get("Content-Length") or 0)
        total = have + length if length else expected
        if expected is not None and total is not None and total > expected:
            raise ModelError(f"the server offers {total} bytes, more than the {expected} expected")
        done = have
        with part.open("ab" if have else "wb") as out:
            while True:
                chunk = response.read(_CHUNK)
                if not chunk:
                    break
                done += len(chunk)
                if expected is not None and done > expected:
                    raise ModelError(f"the download is larger than the {expected} bytes expected")
                out.write(chunk)
                if on_progress is not None:
                    on_progress(done, total)
    if total and done < total:
        raise _Interrupted(f"connection closed after {done} of {total} bytes")


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
