"""The admin password, login sessions and API tokens, kept in ``<data dir>/web.db``.

Passwords are hashed with scrypt (werkzeug ``generate_password_hash(method="scrypt")``, a slow
KDF). API tokens are 256-bit random strings: only their SHA-256 is stored (a fast hash is
enough for high-entropy secrets), so a stolen database reveals no usable token. The token is
shown once, when it is created. Each token has a scope (``read`` < ``control`` < ``admin``).

A login creates a session row; the cookie carries its id. Logging out deletes the row, a
password change deletes them all, so a copied cookie stops working at once.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import logging
import os
import secrets
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from werkzeug.security import check_password_hash, generate_password_hash

from camwatch import secrets as secret_registry
from camwatch.atomic import write_atomic
from camwatch.datafiles import data_file_error, open_database
from camwatch.names import InvalidName, clean_display_name

_LOGGER = logging.getLogger(__name__)

TOKEN_PREFIX = "cwt_"
MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 1024
MAX_TOKEN_NAME = 64
#: Token scopes, weakest first: read (GET only), control (also the runtime switches),
#: admin (every API change except managing tokens, which only the logged-in owner may do).
SCOPES = ("read", "control", "admin")
DEFAULT_SCOPE = "read"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tokens (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    hint TEXT NOT NULL,
    created REAL NOT NULL,
    last_used REAL
);
CREATE TABLE IF NOT EXISTS sessions (id_hash TEXT PRIMARY KEY, created REAL NOT NULL);
"""


class PasswordError(ValueError):
    """A new password that cannot be accepted (too short, too long, already set...)."""


@dataclass(frozen=True, slots=True)
class ApiToken:
    id: str
    name: str
    hint: str  # the last characters, to recognise a token in the list
    created: float
    last_used: float | None
    scope: str = DEFAULT_SCOPE

    def to_dict(self) -> dict[str, object]:
        return {"id": self.id, "name": self.name, "scope": self.scope, "hint": self.hint, "created": self.created,
                "last_used": self.last_used}

    def allows(self, needed: str) -> bool:
        return SCOPES.index(self.scope) >= SCOPES.index(needed) if self.scope in SCOPES else False


def hash_password(password: str) -> str:
    return generate_password_hash(password, method="scrypt")


def _token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class Accounts:
    """Thread-safe access to web.db; ``config_hash`` (from the config) overrides the stored password."""

    def __init__(self, db_path: Path, config_hash: str | None = None, session_lifetime: float = 7 * 86400) -> None:
        self.db_path = Path(db_path)
        self.config_hash = config_hash
        self.session_lifetime = session_lifetime
        self._lock = threading.Lock()
        self._conn = open_database(self.db_path, "the web accounts database", check_same_thread=False, timeout=10.0)
        try:
            with self._conn:
                self._conn.executescript(_SCHEMA)
                columns = {row[1] for row in self._conn.execute("PRAGMA table_info(tokens)")}
                if "scope" not in columns:  # tokens made before scopes existed could do everything
                    self._conn.execute("ALTER TABLE tokens ADD COLUMN scope TEXT NOT NULL DEFAULT 'admin'")
        except sqlite3.Error as exc:
            self._conn.close()
            raise data_file_error(self.db_path, exc, "the web accounts database") from None
        with contextlib.suppress(OSError):
            os.chmod(self.db_path, 0o600)

    # ------------------------------------------------------------------ password
    def _setting(self, key: str) -> str | None:
        with self._lock:
            row = self._conn.execute("SELECT value FROM settings WHERE key=?", (key,)).fetchone()
        return row[0] if row else None

    def _set_setting(self, key: str, value: str) -> None:
        with self._lock, self._conn:
            self._conn.execute(
                "INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value=excluded.value",
                (key, value),
            )

    def password_hash(self) -> str | None:
        return self.config_hash or self._setting("password_hash")

    def has_password(self) -> bool:
        return self.password_hash() is not None

    @property
    def password_from_config(self) -> bool:
        return self.config_hash is not None

    def password_generation(self) -> str:
        """Changes whenever the password changes: sessions made before are no longer valid."""
        current = self.password_hash() or ""
        return hashlib.sha256(current.encode()).hexdigest()[:16]

    def set_password(self, password: str, *, first_run: bool = False) -> None:
        """Store a new admin password; ``first_run`` refuses when one is already set."""
        if self.password_from_config:
            raise PasswordError("the password is set in the config file (web.password_hash)")
        if not isinstance(password, str) or len(password) < MIN_PASSWORD_LENGTH:
            raise PasswordError(f"the password needs at least {MIN_PASSWORD_LENGTH} characters")
        if len(password) > MAX_PASSWORD_LENGTH:
            raise PasswordError(f"the password must be at most {MAX_PASSWORD_LENGTH} characters")
        hashed = hash_password(password)
        with self._lock, self._conn:
            if first_run:
                row = self._conn.execute("SELECT 1 FROM settings WHERE key='password_hash'").fetchone()
                if row:
                    raise PasswordError("a password is already set")
            self._conn.execute(
                "INSERT INTO settings (key, value) VALUES ('password_hash', ?) "
                "ON CONFLICT(key) DO UPDATE SET value=excluded.value",
                (hashed,),
            )
            self._conn.execute("DELETE FROM sessions")  # every login made with the old password ends
        _LOGGER.info("web admin password %s", "set" if first_run else "changed")

    def check_password(self, password: str) -> bool:
        stored = self.password_hash()
        if not stored or not isinstance(password, str) or len(password) > MAX_PASSWORD_LENGTH:
            return False
        try:
            return check_password_hash(stored, password)
        except (ValueError, TypeError):
            _LOGGER.error("the stored web password hash is not valid")
            return False

    # ------------------------------------------------------------------ sessions
    def create_session(self) -> str:
        """A new login session; returns its id (kept in the signed cookie, stored hashed)."""
        session_id = secrets.token_urlsafe(32)
        now = time.time()
        with self._lock, self._conn:
            self._conn.execute("DELETE FROM sessions WHERE created < ?", (now - self.session_lifetime,))
            self._conn.execute("INSERT INTO sessions (id_hash, created) VALUES (?, ?)", (_token_digest(session_id), now))
        return session_id

    def session_valid(self, session_id: object) -> bool:
        if not isinstance(session_id, str) or not session_id or len(session_id) > 200:
            return False
        with self._lock:
            row = self._conn.execute(
                "SELECT created FROM sessions WHERE id_hash=?", (_token_digest(session_id),)
            ).fetchone()
        return row is not None and time.time() - row[0] < self.session_lifetime

    def end_session(self, session_id: object) -> None:
        if isinstance(session_id, str) and session_id:
            with self._lock, self._conn:
                self._conn.execute("DELETE FROM sessions WHERE id_hash=?", (_token_digest(session_id),))

    # ------------------------------------------------------------------ tokens
    def create_token(self, name: object, scope: str = DEFAULT_SCOPE) -> tuple[ApiToken, str]:
        """A new API token; returns its record and the secret (shown to the user once)."""
        try:
            clean = clean_display_name(name, MAX_TOKEN_NAME, "a token's name")
        except InvalidName as exc:
            raise ValueError(str(exc)) from None
        if scope not in SCOPES:
            raise ValueError(f"scope must be one of {', '.join(SCOPES)}, got {scope!r}")
        secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
        secret_registry.register(secret)
        token = ApiToken(secrets.token_hex(8), clean, secret[-4:], time.time(), None, scope)
        with self._lock, self._conn:
            self._conn.execute(
                "INSERT INTO tokens (id, name, token_hash, hint, created, scope) VALUES (?, ?, ?, ?, ?, ?)",
                (token.id, token.name, _token_digest(secret), token.hint, token.created, token.scope),
            )
        _LOGGER.info("API token %r created (scope %s)", clean, scope)
        return token, secret

    def tokens(self) -> list[ApiToken]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT id, name, hint, created, last_used, scope FROM tokens ORDER BY created"
            ).fetchall()
        return [ApiToken(*row) for row in rows]

    def revoke_token(self, token_id: str) -> bool:
        with self._lock, self._conn:
            found = self._conn.execute("DELETE FROM tokens WHERE id=?", (token_id,)).rowcount > 0
        if found:
            _LOGGER.info("API token %s revoked", token_id)
        return found

    def verify_token(self, secret: str) -> ApiToken | None:
        """The token record for a presented secret, or None; records its last use."""
        if not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
            return None
        digest = _token_digest(secret)
        with self._lock:
            row = self._conn.execute(
                "SELECT id, name, hint, created, last_used, scope, token_hash FROM tokens WHERE token_hash=?",
                (digest,),
            ).fetchone()
            if row is None or not hmac.compare_digest(row[6], digest):
                return None
            now = time.time()
            if row[4] is None or now - row[4] > 60:
                with self._conn:
                    self._conn.execute("UPDATE tokens SET last_used=? WHERE id=?", (now, row[0]))
        return ApiToken(*row[:6])

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def load_secret_key(path: Path) -> bytes:
    """The session signing key, created (0600) on first use."""
    try:
        key = path.read_bytes().strip()
        if len(key) >= 32:
            return key
        _LOGGER.warning("session secret %s is too short; making a new one", path)
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise data_file_error(path, exc, "the session signing key") from None
    key = secrets.token_hex(32).encode()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, key, mode=0o600)
    except OSError as exc:
        raise data_file_error(path, exc, "the session signing key") from None
    _LOGGER.info("created session secret %s", path)
    return key
