"""Changing config.yml from the web UI: round-trip YAML, validated before it is written.

ruamel.yaml keeps the file as the user wrote it (comments, key order, flow lists, quotes)
while one section changes. Each update reads the file, applies the change, loads the
result the way camwatch loads it (PyYAML + the pydantic models, ``${...}`` references
resolved) and only then replaces the file: a temporary file in the same directory, fsync,
``os.replace``; the previous version stays as ``<file>.bak``. An invalid change leaves the
file untouched.

Secrets typed into the UI never go into the YAML: ``write_secret`` stores them in a 0600
file and the config holds ``${file:/that/path}``. Any other text from the UI is data, never a
reference: every ``${`` in it is written ``$${``, which the loader reads back as the literal
``${`` (a camera named ``${file:/etc/shadow}`` is called just that, the file is never read).
"""

from __future__ import annotations

import io
import logging
import os
import secrets as token
import shutil
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import yaml
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import CommentMark
from ruamel.yaml.error import YAMLError as RuamelError
from ruamel.yaml.scalarstring import DoubleQuotedScalarString
from ruamel.yaml.tokens import CommentToken

from camwatch import secrets
from camwatch.config.loader import LITERAL_OPEN, ConfigError, parse_config
from camwatch.config.root import CamwatchConfig

_LOGGER = logging.getLogger(__name__)
_RESOLVER = yaml.resolver.Resolver()
SECRET_DIR_MODE = 0o700
SECRET_FILE_MODE = 0o600


class ConfigWriteError(Exception):
    """The change cannot be saved. ``status`` is the HTTP status that fits; ``errors`` the details."""

    def __init__(self, message: str, status: int = 400, errors: list[str] | None = None) -> None:
        super().__init__(secrets.redact(message))
        self.status = status
        self.errors = [secrets.redact(e) for e in errors or []]


def _yaml() -> YAML:
    rt = YAML(typ="rt")
    rt.preserve_quotes = True
    rt.width = 4096  # long URLs stay on one line
    return rt


class Reference(str):
    """A ``${file:...}`` the writer itself puts in (a secret it stored): written as it is."""


def literal_text(text: str) -> str:
    """``text`` as the loader reads it back unchanged: ``${`` written ``$${``."""
    return text.replace(LITERAL_OPEN, "$" + LITERAL_OPEN)


def plain_scalar(value: Any) -> Any:
    """A value from the UI as YAML that camwatch (PyYAML, ``${...}`` references) reads back as
    the same value: strings PyYAML would read as something else are quoted, ``${`` is escaped."""
    if isinstance(value, Reference):
        return str(value)
    if isinstance(value, str):
        value = literal_text(value)
        if _RESOLVER.resolve(yaml.ScalarNode, value, (True, False)) != "tag:yaml.org,2002:str":
            return DoubleQuotedScalarString(value)
        return value
    if isinstance(value, dict):
        mapping = CommentedMap()
        for key, item in value.items():
            mapping[key] = plain_scalar(item)
        return mapping
    if isinstance(value, (list, tuple)):
        return CommentedSeq([plain_scalar(v) for v in value])
    return value


def get_path(doc: Any, keys: Sequence[str]) -> Any:
    node = doc
    for key in keys:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node


def set_path(doc: CommentedMap, keys: Sequence[str], value: Any) -> None:
    """Set ``doc[k1][k2]...`` (creating mappings on the way). Mappings already there are
    updated key by key, so comments on the keys that stay are kept."""
    node = doc
    for key in keys[:-1]:
        child = node.get(key)
        if not isinstance(child, dict):
            child = CommentedMap()
            node[key] = child
        node = child
    _merge(node, keys[-1], value)


def _merge(node: CommentedMap, key: str, value: Any) -> None:
    current = node.get(key)
    if isinstance(current, dict) and isinstance(value, dict):
        for old in [k for k in current if k not in value]:
            del current[old]
        for sub, item in value.items():
            _merge(current, sub, item)
    elif key not in node or current != value or isinstance(current, bool) != isinstance(value, bool):
        node[key] = plain_scalar(value)


def delete_path(doc: CommentedMap, keys: Sequence[str], prune: bool = True) -> bool:
    """Remove ``doc[k1]...[kn]``; with ``prune`` the mappings left empty go too. True when found."""
    parents: list[tuple[Any, str]] = []
    node: Any = doc
    for key in keys[:-1]:
        if not isinstance(node, dict) or not isinstance(node.get(key), dict):
            return False
        parents.append((node, key))
        node = node[key]
    if not isinstance(node, dict) or keys[-1] not in node:
        return False
    del node[keys[-1]]
    while prune and parents and not node:
        parent, key = parents.pop()
        del parent[key]
        node = parent
    return True


class ConfigWriter:
    """Read-modify-validate-write of one config file; one writer at a time per ``lock``."""

    def __init__(self, path: Path, lock: threading.Lock | None = None) -> None:
        self.path = Path(path)
        self.lock = lock or threading.Lock()

    def read(self) -> CommentedMap:
        try:
            text = self.path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigWriteError(f"cannot read {self.path}: {exc.strerror or exc}", 409) from None
        try:
            doc = _yaml().load(text)
        except RuamelError as exc:
            raise ConfigWriteError(f"{self.path} is not valid YAML: {exc}", 409) from None
        if not isinstance(doc, CommentedMap):
            raise ConfigWriteError(f"{self.path} does not hold a mapping of keys", 409)
        return doc

    def update(self, change: Callable[[CommentedMap], None]) -> CamwatchConfig:
        """Apply ``change`` to the document, validate, write; returns the new config."""
        with self.lock:
            doc = self.read()
            order = list(doc)
            gaps = {key: take_trailing_lines(doc[key]) for key in order}
            change(doc)
            restore_trailing_lines(doc, order, gaps)
            buffer = io.StringIO()
            _yaml().dump(doc, buffer)
            text = buffer.getvalue()
            config = self.validate(text)
            self._write(text)
        _LOGGER.info("configuration saved to %s", self.path)
        return config

    def validate(self, text: str) -> CamwatchConfig:
        """The config camwatch would load from ``text`` (PyYAML, references resolved), or ConfigWriteError."""
        try:
            raw = yaml.safe_load(text)
        except yaml.YAMLError as exc:  # the writer produced something PyYAML cannot read
            raise ConfigWriteError(f"the new file would not be readable: {exc}", 400) from None
        try:
            return parse_config(raw, str(self.path))
        except ConfigError as exc:
            raise ConfigWriteError("the config would not be valid: " + "; ".join(exc.errors), 400, exc.errors) from None

    def _write(self, text: str) -> None:
        path = self.path
        tmp = path.with_name(f".{path.name}.{token.token_hex(4)}.tmp")
        try:
            if path.exists():
                shutil.copy2(path, path.with_name(path.name + ".bak"))
            with open(tmp, "w", encoding="utf-8") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            if path.exists():
                shutil.copymode(path, tmp)
            os.replace(tmp, path)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise ConfigWriteError(f"cannot write {path}: {exc.strerror or exc}", 503) from None


# ------------------------------------------------------------ comment lines
# ruamel.yaml keeps the comment lines that follow a block (often the next section's heading)
# on the block's last value. Entries added at the end would then come after them: the lines
# are lifted off each top-level section before a change and put back after its new end.
def _last_slot(node: Any) -> tuple[Any, Any, int] | None:
    """(container, key, slot) of the comment after the last scalar of a block collection."""
    found = None
    while isinstance(node, (CommentedMap, CommentedSeq)) and node and not node.fa.flow_style():
        if isinstance(node, CommentedMap):
            key: Any = list(node)[-1]
            found = (node, key, 2)
        else:
            key = len(node) - 1
            found = (node, key, 0)
        node = node[key]
    return found


def take_trailing_lines(node: Any) -> str | None:
    """Detach the lines after ``node``'s last value (blank ones and comments; the value's own
    end-of-line comment stays). Returns them as text that starts on a line of its own."""
    slot = _last_slot(node)
    if slot is None:
        return None
    container, key, index = slot
    entry = container.ca.items.get(key)
    token = entry[index] if entry and len(entry) > index else None
    if not isinstance(token, CommentToken) or "\n" not in token.value:
        return None
    own, rest = token.value.split("\n", 1)  # the value's line ends at the first newline
    if "#" not in rest:
        return None
    if own.strip():
        token.value = own + "\n"
    else:
        entry[index] = None
    return rest


def _line_after(text: str) -> CommentToken:
    return CommentToken("\n" + text, CommentMark(0), None)


def _put_trailing_lines(node: Any, text: str) -> bool:
    slot = _last_slot(node)
    if slot is None:
        return False
    container, key, index = slot
    entry = container.ca.items.setdefault(key, [None, None, None, None])
    token = entry[index]
    if isinstance(token, CommentToken) and token.value.lstrip(" ").startswith("#"):
        token.value = token.value.split("\n", 1)[0] + "\n" + text
    else:
        entry[index] = _line_after(text)
    return True


def restore_trailing_lines(doc: CommentedMap, order: list[Any], gaps: dict[Any, str | None]) -> None:
    """Put the lines taken by ``take_trailing_lines`` back after each section's (new) last value;
    a section that went leaves them to the one before it."""
    for position, key in enumerate(order):
        text = gaps.get(key)
        if not text:
            continue
        if key in doc and not _last_slot(doc[key]):  # emptied: ``cameras: {}``, then the lines
            if isinstance(doc[key], (CommentedMap, CommentedSeq)):
                doc[key].fa.set_flow_style()
            doc.ca.items.setdefault(key, [None, None, None, None])[2] = _line_after(text)
            continue
        for candidate in [key, *reversed(order[:position])]:
            if candidate in doc and _put_trailing_lines(doc[candidate], text):
                break


# ---------------------------------------------------------------------- secrets
def secret_reference(path: Path) -> Reference:
    return Reference("${file:" + str(path) + "}")


def referenced_file(value: Any) -> Path | None:
    """The file of a value that is exactly ``${file:/path}``, else None."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("${file:") and text.endswith("}") and text.count("${") == 1:
            return Path(text[7:-1]).expanduser()
    return None


def write_secret(directory: Path, stem: str, value: str) -> Path:
    """Store ``value`` in a new file ``<directory>/<stem>-<random>`` (directory 0700, file 0600)."""
    secrets.register(value)
    directory = Path(directory)
    try:
        directory.mkdir(mode=SECRET_DIR_MODE, parents=True, exist_ok=True)
        os.chmod(directory, SECRET_DIR_MODE)
        path = directory / f"{stem}-{token.token_hex(4)}"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, SECRET_FILE_MODE)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(value)
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as exc:
        raise ConfigWriteError(f"cannot store the secret in {directory}: {exc.strerror or exc}", 503) from None
    return path


def remove_secret(directory: Path, path: Path | None) -> None:
    """Delete a secret file written by ``write_secret`` (files elsewhere are the user's: left alone)."""
    if path is None:
        return
    try:
        if path.resolve().parent == Path(directory).resolve():
            path.unlink(missing_ok=True)
    except OSError as exc:
        _LOGGER.warning("could not remove the old secret file %s: %s", path, exc.strerror or exc)
