"""One send through Apprise, with the reason of a failure in one line (never the URL's secrets).

Apprise reports a failure as a false result and explains it in its log: Apprise 2 hands the
call's log lines back with the result, older releases log them on the calling thread, where
they are collected. The last of them says why (``Connection refused``, ``error=503``).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from camwatch import secrets
from camwatch.notify.message import Text

_LOGGER = logging.getLogger(__name__)
APPRISE_LOGGER = "apprise"
MAX_ERROR_LENGTH = 300


@dataclass(frozen=True)
class SendResult:
    ok: bool
    error: str | None = None


class _ThreadLines(logging.Handler):
    """Collects the apprise log lines of one thread (other destinations send on their own threads)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.thread = threading.get_ident()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread == self.thread:
            try:
                self.lines.append(record.getMessage())
            except Exception:  # a malformed record must not break the send
                self.lines.append(str(record.msg))


def describe_url(url: str) -> str:
    """What the URL points at without any secret: ``ntfy (ntfy://…)``, or why it is unusable."""
    try:
        import apprise
    except ImportError:
        return "Apprise is not installed"
    plugin = apprise.Apprise.instantiate(url)
    scheme = url.split("://", 1)[0] if "://" in url else "?"
    if plugin is None:
        return f"unknown service ({scheme}://…)"
    return f"{plugin.service_name} ({scheme}://…)"


def _reason(lines: list[str], fallback: str) -> str:
    useful = [line for line in lines if line.strip()]
    text = " · ".join(useful[-2:]) if useful else fallback
    text = secrets.redact(" ".join(text.split()))
    return text if len(text) <= MAX_ERROR_LENGTH else text[: MAX_ERROR_LENGTH - 1] + "…"


def send(url: str, text: Text, attachment: bytes | None = None, attachment_name: str = "snapshot.jpg") -> SendResult:
    """Send ``text`` (and a JPEG when given) to one Apprise URL; never raises."""
    secrets.register(url)
    try:
        import apprise
        from apprise.attachment.memory import AttachMemory
    except ImportError as exc:
        return SendResult(False, f"Apprise is not installed ({exc}); install camwatch's dependencies again")
    capture = _ThreadLines()
    logger = logging.getLogger(APPRISE_LOGGER)
    logger.addHandler(capture)
    try:
        notifier = apprise.Apprise()
        if not notifier.add(url):
            return SendResult(False, "Apprise does not recognise this URL")
        attach = None
        if attachment is not None:
            attach = AttachMemory(content=attachment, name=attachment_name, mimetype="image/jpeg")
        result = notifier.notify(body=text.body, title=text.title, attach=attach)
        ok = bool(result)
        logs = getattr(result, "logs", None)  # Apprise 2 keeps each call's log lines with its result
        lines = [str(getattr(entry, "message", entry)) for entry in logs()] if callable(logs) else []
    except Exception as exc:  # a plugin bug must not take the sender thread down
        _LOGGER.debug("apprise raised", exc_info=True)
        return SendResult(False, _reason([f"{type(exc).__name__}: {exc}"], "Apprise failed"))
    finally:
        logger.removeHandler(capture)
    if ok:
        return SendResult(True)
    return SendResult(False, _reason(lines or capture.lines, "the service did not accept the message"))
