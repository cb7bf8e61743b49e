"""The one-time setup code that guards the first-run page.

Until the admin password is set, whoever reaches ``/setup`` first would own the device. So
while no password exists camwatch keeps a random code in ``<data dir>/setup_code`` (0600)
and writes it to its log (the journal under systemd); ``camwatch doctor`` shows it too.
``/setup`` asks for it, except from the device itself (loopback, no proxy in between),
where whoever types is already at the owner's keyboard. The file is deleted once the
password is set.

12 characters from a 31-letter alphabet without look-alikes (0/O, 1/I/L) are about 59 bits:
far beyond guessing, and failed tries are throttled like logins.
"""

from __future__ import annotations

import contextlib
import hmac
import logging
import os
import secrets
from pathlib import Path

_LOGGER = logging.getLogger(__name__)

SETUP_CODE_FILE = "setup_code"
ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
GROUPS = 3
GROUP_LENGTH = 4


def setup_code_path(data_dir: Path) -> Path:
    return Path(data_dir) / SETUP_CODE_FILE


def normalize(text: object) -> str:
    """What the user typed, compared without case, spaces or dashes."""
    if not isinstance(text, str):
        return ""
    return "".join(c for c in text.upper() if c.isalnum())


def read_setup_code(data_dir: Path) -> str | None:
    """The pending first-run code (``ABCD-EFGH-JKMN``), or None when there is none."""
    try:
        code = setup_code_path(data_dir).read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return code if len(normalize(code)) == GROUPS * GROUP_LENGTH else None


def ensure_setup_code(data_dir: Path) -> str:
    """The pending code, created (0600) when there is none yet."""
    existing = read_setup_code(data_dir)
    if existing:
        return existing
    groups = ["".join(secrets.choice(ALPHABET) for _ in range(GROUP_LENGTH)) for _ in range(GROUPS)]
    code = "-".join(groups)
    path = setup_code_path(data_dir)
    tmp = path.with_name(f".{path.name}.tmp")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(code + "\n")
    os.replace(tmp, path)
    return code


def code_matches(data_dir: Path, given: object) -> bool:
    expected = read_setup_code(data_dir)
    if not expected:
        return False
    return hmac.compare_digest(normalize(expected).encode(), normalize(given).encode())


def clear_setup_code(data_dir: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        setup_code_path(data_dir).unlink()


def announce(data_dir: Path, url: str) -> None:
    """Log where to finish the first run and the code to type (once per start)."""
    code = read_setup_code(data_dir)
    if code:
        _LOGGER.warning(
            "first run: no admin password yet. Open %s/setup and enter the setup code %s "
            "(also shown by `camwatch doctor`; kept in %s until the password is set)",
            url, code, setup_code_path(data_dir),
        )
