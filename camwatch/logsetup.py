"""Logging: one line per state change, journald-friendly, secrets masked."""

from __future__ import annotations

import logging
import os
import sys

from camwatch.names import printable
from camwatch.secrets import RedactingFilter

_FORMAT_TTY = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
# journald adds its own timestamp; keep lines short there.
_FORMAT_JOURNAL = "%(levelname)s %(name)s: %(message)s"


class _StderrHandler(logging.StreamHandler):
    """Writes to ``sys.stderr`` as it is at each record: one replaced later (a daemon's
    redirection, a test's capture) is followed instead of a closed one being kept."""

    @property  # type: ignore[override]
    def stream(self):  # noqa: ANN201
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:  # noqa: ANN001
        pass


class _OneLineFilter(logging.Filter):
    """Control and text-direction characters in a message (a file name, a host name from the
    network) are written as escapes: a log line can neither fake another line, nor send
    terminal codes, nor display reordered. Tracebacks keep their lines."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # malformed args: leave the record as it is
            return True
        if not message.isprintable():
            record.msg, record.args = printable(message, None), None
        return True


def setup_logging(level: str = "info", modules: dict[str, str] | None = None) -> None:
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_camwatch", False):
            root.removeHandler(handler)
    handler = _StderrHandler()
    handler._camwatch = True  # type: ignore[attr-defined]
    fmt = _FORMAT_JOURNAL if os.environ.get("JOURNAL_STREAM") else _FORMAT_TTY
    handler.setFormatter(logging.Formatter(fmt))
    handler.addFilter(RedactingFilter())
    handler.addFilter(_OneLineFilter())
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name, mod_level in (modules or {}).items():
        logging.getLogger(name).setLevel(mod_level.upper())
    # Third-party chatter stays quiet unless asked for.
    for noisy in ("waitress", "werkzeug", "urllib3"):
        if noisy not in (modules or {}):
            logging.getLogger(noisy).setLevel(logging.WARNING)
