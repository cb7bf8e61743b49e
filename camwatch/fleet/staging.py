"""A signed model's file: downloaded to a staging file, checked, then installed beside the record.

The staging file (``<data_dir>/updates/staging/<sha256>.part``) survives a restart and a
failed attempt, so the next attempt resumes it. Only a file with the signed size and
SHA-256 leaves staging; anything else is deleted.

Every way the bytes can fail to be the signed ones — more than the signed size, a wrong
size or SHA-256, no room on the disk — is a :class:`DownloadFailed`: the transport (a
man in the middle on plain http, a proxy, a half-synced mirror) or the disk is to blame,
not the signed version, so the updater tries again later instead of deciding against it.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable
from pathlib import Path

from camwatch.atomic import write_atomic
from camwatch.fleet.manifest import ModelManifest
from camwatch.models import DownloadFailed, ModelError, download_resumable, sha256_of

_LOGGER = logging.getLogger(__name__)

STAGING = "staging"
SPACE_MARGIN = 20 * 1024 * 1024  # left free beyond the model itself


class Staging:
    def __init__(self, updates_dir: Path) -> None:
        self.updates_dir = Path(updates_dir)
        self.directory = self.updates_dir / STAGING

    def part_of(self, manifest: ModelManifest) -> Path:
        return self.directory / f"{manifest.sha256}.part"

    def fetch(
        self, manifest: ModelManifest, *, retries: int, on_progress: Callable[[int, int | None], None]
    ) -> Path:
        """The downloaded staging file (not verified yet); DownloadFailed when it could not be had."""
        self.directory.mkdir(parents=True, exist_ok=True)
        part = self.part_of(manifest)
        for other in self.directory.glob("*.part"):  # an abandoned download of another version
            if other != part:
                other.unlink(missing_ok=True)
        have = part.stat().st_size if part.exists() else 0
        free = shutil.disk_usage(self.directory).free
        if free < manifest.size - have + SPACE_MARGIN:
            raise DownloadFailed(
                f"not enough disk space: {manifest.size / 1e6:.1f} MB needed, {free / 1e6:.1f} MB free"
            )
        try:
            download_resumable(manifest.url, part, expected_size=manifest.size, retries=retries,
                               on_progress=on_progress)  # fmt: skip
        except DownloadFailed:
            raise  # the network or server: the part kept so far is resumed next time
        except ModelError as exc:  # more bytes than signed: what came is not the file
            part.unlink(missing_ok=True)
            raise DownloadFailed(str(exc)) from None
        return part

    def verify(self, manifest: ModelManifest, part: Path) -> None:
        size = part.stat().st_size
        if size != manifest.size:
            part.unlink(missing_ok=True)
            raise DownloadFailed(f"size {size} bytes differs from the signed {manifest.size}")
        actual = sha256_of(part)
        if actual != manifest.sha256:
            part.unlink(missing_ok=True)
            raise DownloadFailed(f"SHA-256 mismatch: signed {manifest.sha256[:16]}…, downloaded {actual[:16]}…")

    def install(self, manifest: ModelManifest, part: Path) -> tuple[str, str]:
        """Move the verified file out of staging and write its labels; returns both file names."""
        stem = f"{manifest.name}-v{manifest.version}"
        model_file, labels_file = f"{stem}.tflite", f"{stem}.labels.txt"
        write_atomic(self.updates_dir / labels_file, "\n".join(manifest.labels) + "\n")
        part.replace(self.updates_dir / model_file)
        return model_file, labels_file

    def discard(self, manifest: ModelManifest) -> None:
        self.part_of(manifest).unlink(missing_ok=True)
