"""Offline installs: every known model in a folder at once, and every missing file named at once.

A machine without internet gets its models from a folder (a USB stick, a copy made on
another machine). :func:`import_folder` installs every file there that the manifest knows
— found by SHA-256, else by file name — after the same hash check as a download.
:func:`missing_files` lists every file a configuration needs that is not installed, so that
``run``, ``doctor``, ``models pull|verify`` and the web page name them all in one message
instead of stopping at the first.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from camwatch.atomic import replacing
from camwatch.models import ModelError, ModelFile, ModelManager, sha256_of

_LOGGER = logging.getLogger(__name__)

#: Files a folder import looks at besides the manifest's own names (all models are TFLite files).
MODEL_SUFFIX = ".tflite"
PULL_ALL = "camwatch models pull"
IMPORT_FOLDER = "camwatch models import FOLDER"

# Results of one file of a folder import.
IMPORTED = "imported"
ALREADY = "already installed"
REFUSED = "refused"
SKIPPED = "skipped"


class DetectorSettings(Protocol):
    @property
    def model(self) -> str: ...
    @property
    def model_path(self) -> object | None: ...


class FaceSettings(Protocol):
    @property
    def enabled(self) -> bool: ...
    @property
    def model(self) -> str: ...
    @property
    def face_camera_model(self) -> str: ...


def models_in_use(detector: DetectorSettings, faces: FaceSettings) -> list[str]:
    """The manifest models a configuration runs: its detector (unless a custom file), and
    the face models when faces are on."""
    names = [] if detector.model_path else [detector.model]
    if faces.enabled:
        names += [faces.model, faces.face_camera_model]
    return list(dict.fromkeys(names))


@dataclass(frozen=True)
class Missing:
    model: str
    file: str


def missing_files(manager: ModelManager, names: Iterable[str]) -> list[Missing]:
    """The CPU model files of these manifest models that are not installed, in order."""
    found = []
    for name in dict.fromkeys(names):
        entry = manager.get(name)
        if not (manager.directory / entry.main.file).is_file():
            found.append(Missing(name, entry.main.file))
    return found


def missing_message(manager: ModelManager, missing: list[Missing]) -> str:
    """One line naming every missing file and both ways to install them."""
    files = ", ".join(f"{m.file} ({m.model})" for m in missing)
    count = f"{len(missing)} model file{'s are' if len(missing) != 1 else ' is'}"
    return (f"{count} missing in {manager.directory}: {files}. Run `{PULL_ALL}`; offline, copy the "
            f"file{'s' if len(missing) != 1 else ''} into one folder and run `{IMPORT_FOLDER}`")


def require(manager: ModelManager, names: Iterable[str]) -> list[Path]:
    """The installed files of these models; ModelError naming every missing one otherwise."""
    names = list(names)
    missing = missing_files(manager, names)
    if missing:
        raise ModelError(missing_message(manager, missing))
    return [manager.path(name) for name in dict.fromkeys(names)]


@dataclass(frozen=True)
class ImportRow:
    """What a folder import did with one file."""

    file: str
    model: str
    result: str  # imported | already installed | refused | skipped
    reason: str = ""


def _specs(manager: ModelManager) -> list[tuple[str, ModelFile]]:
    return [(e.name, s) for e in manager.entries.values() for s in (e.main, e.edgetpu) if s is not None]


def _candidates(folder: Path, known: set[str]) -> list[Path]:
    try:
        entries = sorted(folder.iterdir())
    except OSError as exc:
        raise ModelError(f"cannot read the folder {folder}: {exc.strerror or exc}") from None
    return [p for p in entries if p.is_file() and (p.suffix.lower() == MODEL_SUFFIX or p.name in known)]


def import_folder(manager: ModelManager, folder: Path) -> list[ImportRow]:
    """Install every file in ``folder`` (not its subfolders) that the manifest knows.

    A file is matched by its SHA-256 (any name), else by its file name; a name match whose
    hash differs from the manifest's, or has no known hash, is refused. Other files are
    skipped. Never raises for one bad file: each file gets its row.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise ModelError(f"no such folder: {folder}")
    specs = _specs(manager)
    by_hash = {spec.sha256: (name, spec) for name, spec in specs if spec.sha256}
    by_name = {spec.file: (name, spec) for name, spec in specs}
    rows = []
    for path in _candidates(folder, set(by_name)):
        try:
            digest = sha256_of(path)
        except OSError as exc:
            rows.append(ImportRow(path.name, "", REFUSED, f"cannot read it ({exc.strerror or exc})"))
            continue
        if digest in by_hash:
            name, spec = by_hash[digest]
            rows.append(_install(manager, path, name, spec))
        elif path.name in by_name:
            name, spec = by_name[path.name]
            reason = ("its SHA-256 differs from the manifest's (damaged, or another file)" if spec.sha256
                      else f"the manifest has no SHA-256 for it: `camwatch models import {path} --sha256 HASH`")
            rows.append(ImportRow(path.name, name, REFUSED, reason))
        else:
            rows.append(ImportRow(path.name, "", SKIPPED, "not a model camwatch knows"))
    return rows


def _install(manager: ModelManager, source: Path, name: str, spec: ModelFile) -> ImportRow:
    target = manager.directory / spec.file
    if target.is_file() and sha256_of(target) == spec.sha256:
        return ImportRow(source.name, name, ALREADY)
    try:
        manager.directory.mkdir(parents=True, exist_ok=True)
        with replacing(target) as tmp:
            shutil.copyfile(source, tmp)
    except OSError as exc:
        return ImportRow(source.name, name, REFUSED, f"cannot copy it to {target} ({exc.strerror or exc})")
    _LOGGER.debug("imported %s as %s", source, target)
    return ImportRow(source.name, name, IMPORTED)
