"""Keeps secrets out of logs and printed output.

Every secret value the config resolves is registered here; the logging filter installed by
``camwatch.logsetup`` replaces them with ``***`` in every record. URLs with credentials
are redacted with ``redact_url``.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from urllib.parse import urlsplit, urlunsplit

MASK = "***"
_lock = threading.Lock()
_secrets: set[str] = set()
_URL_CREDENTIALS = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<user>[^:/@\s]+):(?P<pw>[^@\s]*)@")


#: How deep a value may be quoted in printed text: an error quotes the bad value (one level),
#: and a message quoting that error quotes it again.
_QUOTE_LEVELS = 2


def _quoted(value: str) -> set[str]:
    """``value`` as it appears inside a Python repr — with ``\\``, ``\t``… and ``'`` escaped or
    not, as repr picks its quote for the whole text around it — and inside JSON."""
    return {
        repr(value)[1:-1],
        repr(value + "'\"")[1:-4],  # both quotes in the text: repr escapes '
        json.dumps(value)[1:-1],
        json.dumps(value, ensure_ascii=False)[1:-1],
    }


def printed_forms(value: str) -> set[str]:
    """Every way ``value`` can show up in output: as itself and quoted, up to two levels deep."""
    forms = {value}
    for _ in range(_QUOTE_LEVELS):
        forms |= {quoted for form in forms for quoted in _quoted(form)}
    return forms


def register(value: str | None) -> None:
    """Remember a secret so that it never reaches a log line, in any of its printed forms."""
    if value and len(value) >= 3:
        forms = printed_forms(value)
        with _lock:
            _secrets.update(forms)


def redact(text: str) -> str:
    """Mask registered secrets and URL passwords in ``text``."""
    text = _URL_CREDENTIALS.sub(lambda m: f"{m['scheme']}{m['user']}:{MASK}@", text)
    with _lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    return text


def redact_url(url: str) -> str:
    """``rtsp://user:pw@host/x`` → ``rtsp://user:***@host/x``."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return redact(url)
    if parts.password is None:
        return url
    netloc = f"{parts.username}:{MASK}@{parts.hostname}"
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


class RedactingFilter(logging.Filter):
    """Rewrites each record's message with secrets masked."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # malformed args: leave the record as it is
            return True
        cleaned = redact(message)
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        record.msg, record.args = cleaned, None
        return True
