"""Opening camwatch's own SQLite files with one clear message when they cannot be used.

A damaged file (random bytes, a half-copied backup) or a data directory the camwatch user
cannot write would otherwise surface as a bare ``sqlite3.DatabaseError`` naming no file,
or a traceback. :class:`DataFileError` carries one line: which file, what is wrong, and
what to do about it.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Any

#: Bits taken from every file and directory camwatch creates: its data (events, snapshots,
#: faces, secrets, models) is its user's alone, whatever umask it was started with.
PRIVATE_UMASK = 0o077


def keep_data_private(data_dir: Path | None = None) -> None:
    """From now on camwatch creates files 0600 and directories 0700 (a shell's umask 022
    would leave snapshots and face crops readable by every local user); ``data_dir`` itself,
    when it is this user's, is closed to others too."""
    os.umask(os.umask(PRIVATE_UMASK) | PRIVATE_UMASK)
    if data_dir is None:
        return
    try:
        info = os.stat(data_dir)
        if info.st_uid == os.geteuid() and info.st_mode & PRIVATE_UMASK:
            os.chmod(data_dir, info.st_mode & 0o7777 & ~PRIVATE_UMASK)
    except OSError:  # not there yet, or not ours: opening it says what is wrong
        pass


class DataFileError(Exception):
    """A data file cannot be opened or written; the message names it and says what to do."""

    def __init__(self, message: str, path: Path | None = None) -> None:
        super().__init__(message)
        self.path = path


def _user() -> str:
    try:
        import pwd

        return pwd.getpwuid(os.geteuid()).pw_name
    except (ImportError, KeyError, AttributeError):
        return "the camwatch user"


def _permission_problem(exc: BaseException) -> bool:
    if isinstance(exc, PermissionError):
        return True
    text = str(exc).lower()
    return any(part in text for part in ("readonly", "read-only", "unable to open", "permission denied"))


def data_file_error(path: Path, exc: BaseException, what: str) -> DataFileError:
    """The one-line error for ``path`` (holding ``what``) that failed with ``exc``."""
    path = Path(path)
    reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    if isinstance(exc, sqlite3.DatabaseError) and not _permission_problem(exc):
        message = (
            f"cannot open {what} {path}: damaged or not a camwatch database ({reason}); stop camwatch, "
            f"move it aside (mv {path} {path}.broken) and start again (a new empty one is created)"
        )
    elif _permission_problem(exc):
        user = _user()
        message = (
            f"cannot write {what} {path}: {reason}; fix the permissions: the user running camwatch "
            f"({user}) must be able to write {path.parent} (sudo chown -R {user} {path.parent})"
        )
    else:
        message = f"cannot use {what} {path}: {reason}"
    return DataFileError(message, path)


def open_database(path: Path, what: str, **connect_args: Any) -> sqlite3.Connection:
    """``sqlite3.connect`` that fails with a :class:`DataFileError` on a damaged or
    unwritable file (SQLite only notices either on the first statement, so one is run)."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(path), **connect_args)
    except (sqlite3.Error, OSError) as exc:
        raise data_file_error(path, exc, what) from None
    try:
        conn.execute("PRAGMA schema_version").fetchone()
    except sqlite3.Error as exc:
        conn.close()
        raise data_file_error(path, exc, what) from None
    return conn
