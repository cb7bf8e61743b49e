"""Atomic file writes: a reader sees the old file or the new one, never half of one.

The new content goes to a hidden temporary file beside the target (``.<name>.tmp``, same
file system) that ``os.replace`` then moves over the target. On any error the temporary
file is removed and the error is raised; the target is left as it was. Callers decide what
an error means for them (a log line, an HTTP answer, a retry).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
from collections.abc import Iterator
from pathlib import Path


def temporary_path(path: Path) -> Path:
    """Where the new content of ``path`` is written before it replaces ``path``."""
    return path.with_name(f".{path.name}.tmp")


@contextlib.contextmanager
def replacing(path: Path, *, mode: int | None = None, keep_backup: bool = False) -> Iterator[Path]:
    """Yield a temporary path to write; when the block ends normally it replaces ``path``.

    ``mode`` sets the new file's permission bits (else an existing target's bits are kept);
    ``keep_backup`` first copies the current target to ``<name>.bak``.
    """
    path = Path(path)
    tmp = temporary_path(path)
    try:
        yield tmp
        if mode is not None:
            os.chmod(tmp, mode)
        elif path.exists():
            os.chmod(tmp, stat.S_IMODE(path.stat().st_mode))
        if keep_backup and path.exists():
            shutil.copy2(path, path.with_name(path.name + ".bak"))
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def write_atomic(
    path: Path,
    data: bytes | str,
    *,
    mode: int | None = None,
    durable: bool = False,
    keep_backup: bool = False,
) -> None:
    """Replace ``path`` with ``data`` (text is written as UTF-8).

    ``mode`` creates the file with those permission bits from the start (a secret is never
    readable by others, not even for a moment); ``durable`` flushes it to the disk before
    the replace (a config file must survive a power cut).
    """
    payload = data.encode("utf-8") if isinstance(data, str) else data
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with replacing(path, mode=mode, keep_backup=keep_backup) as tmp:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666 if mode is None else mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
