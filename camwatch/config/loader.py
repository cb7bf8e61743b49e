"""Loading the YAML config: secrets substitution, validation, readable errors."""

from __future__ import annotations

import os
import re
from collections.abc import Collection
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from camwatch import secrets
from camwatch.config.root import CamwatchConfig
from camwatch.const import DEFAULT_CONFIG_PATH, ENV_CONFIG

#: ``${NAME}`` (an environment variable) and ``${file:/path}`` are replaced by what they name;
#: ``$${`` stands for a literal ``${``. Text typed on the web page is written that way
#: (camwatch.config.writer): it is data, and the loader never reads a file or a variable for it.
_REFERENCE = re.compile(r"\$\$\{|\$\{(?P<ref>[^}]+)\}")
LITERAL_OPEN = "${"


class ConfigError(Exception):
    """The config cannot be used; ``errors`` holds one readable line per problem."""

    def __init__(self, errors: list[str], source: str = "config") -> None:
        # Validation messages quote the offending input: a secret or a URL with credentials put
        # in the wrong field would be printed. Every line is masked here, whatever its origin.
        errors = [secrets.redact(e) for e in errors]
        self.errors = errors
        self.source = source
        super().__init__(f"{source}: " + "; ".join(errors))

    def render(self) -> str:
        lines = [f"{self.source} is not valid ({len(self.errors)} problem{'s' if len(self.errors) != 1 else ''}):"]
        lines += [f"  - {e}" for e in self.errors]
        return "\n".join(lines)


def config_path(explicit: str | os.PathLike | None = None) -> Path:
    """--config, else CAMWATCH_CONFIG, else /etc/camwatch/config.yml."""
    if explicit:
        return Path(explicit)
    env = os.environ.get(ENV_CONFIG)
    return Path(env) if env else DEFAULT_CONFIG_PATH


def _resolve(ref: str, where: str, errors: list[str]) -> str:
    if ref.startswith("file:"):
        path = Path(ref[5:]).expanduser()
        try:
            value = path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            errors.append(f"{where}: cannot read secret file {path}: {exc.strerror or exc}")
            return ""
    else:
        if ref not in os.environ:
            errors.append(f"{where}: environment variable {ref} is not set")
            return ""
        value = os.environ[ref]
    secrets.register(value)
    return value


_SECRET_KEY_PARTS = ("password", "secret", "token", "api_key", "apikey")


def _register_secret_fields(node: Any, key: str = "") -> None:
    """Values of keys named like secrets count as secrets even when written in plain text, so
    they are masked when the same text shows up in another field's error."""
    if isinstance(node, dict):
        for k, v in node.items():
            _register_secret_fields(v, str(k))
    elif isinstance(node, list):
        for v in node:
            _register_secret_fields(v, key)
    elif (
        isinstance(node, str)
        and any(part in key.lower() for part in _SECRET_KEY_PARTS)
        and not key.lower().endswith(("_file", "_path", "_dir"))
    ):
        secrets.register(node)


def _substitute(node: Any, path: str, errors: list[str], cameras: Collection[str] | None = None) -> Any:
    """Resolve every ``${...}``; with ``cameras`` given, only those cameras' secrets (the rest
    keep their references unresolved: a command that does not open a camera never needs them)."""
    if isinstance(node, dict):
        if path == "cameras" and cameras is not None:
            return {k: _substitute(v, f"{path}.{k}", errors) if k in cameras else v for k, v in node.items()}
        return {k: _substitute(v, f"{path}.{k}" if path else str(k), errors, cameras) for k, v in node.items()}
    if isinstance(node, list):
        return [_substitute(v, f"{path}.{i}", errors) for i, v in enumerate(node)]
    if isinstance(node, str) and LITERAL_OPEN in node:
        return _REFERENCE.sub(lambda m: LITERAL_OPEN if m["ref"] is None else _resolve(m["ref"], path, errors), node)
    return node


def _describe(err: dict[str, Any]) -> str:
    loc = ".".join(str(p) for p in err["loc"]) or "(top level)"
    kind = err["type"]
    ctx = err.get("ctx") or {}
    given = err.get("input")
    shown = "***" if isinstance(given, str) and "password" in loc else secrets.redact(repr(given))
    if kind == "extra_forbidden":
        return f"{loc}: unknown key"
    if kind == "missing":
        return f"{loc}: required"
    ops = {"greater_than": ">", "greater_than_equal": ">=", "less_than": "<", "less_than_equal": "<="}
    if kind in ops:
        bound = next(iter(ctx.values()))
        if isinstance(bound, float) and bound.is_integer():
            bound = int(bound)
        return f"{loc}: must be {ops[kind]} {bound}, got {shown}"
    msg = err["msg"]
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    if kind in {"model_type", "dict_type"}:
        return f"{loc}: must be a mapping of keys, got {shown}"
    return f"{loc}: {msg[0].lower() + msg[1:]}, got {shown}"


def parse_config(raw: Any, source: str = "config", cameras: Collection[str] | None = None) -> CamwatchConfig:
    """Validate an already-parsed YAML document (``cameras``: resolve only their secrets)."""
    if raw is None:
        raise ConfigError(["the file is empty (`camwatch init` writes a starter config)"], source)
    if not isinstance(raw, dict):
        raise ConfigError([f"the top level must be a mapping of keys, got {type(raw).__name__}"], source)
    errors: list[str] = []
    data = _substitute(raw, "", errors, cameras)
    _register_secret_fields(data)
    if errors:
        raise ConfigError(errors, source)
    try:
        return CamwatchConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError([_describe(e) for e in exc.errors()], source) from None


def load_config(path: str | os.PathLike | None = None, cameras: Collection[str] | None = None) -> CamwatchConfig:
    """Read, substitute and validate the config file; raises ConfigError.

    ``cameras``: the cameras the command will open; the secrets of the others are not
    resolved (``camwatch detect`` opens none, ``camwatch replay`` reads a file instead).
    """
    file = config_path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError([f"file not found (create one with `camwatch init --config {file}`)"], str(file)) from None
    except OSError as exc:
        raise ConfigError([f"cannot read: {exc.strerror or exc}"], str(file)) from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError([f"invalid YAML: {where}{problem}"], str(file)) from None
    return parse_config(raw, str(file), cameras)


def masked_dump(config: CamwatchConfig) -> dict[str, Any]:
    """The effective config as plain data with every secret masked."""
    data = config.model_dump(mode="json")

    def walk(node: Any, key: str = "") -> Any:
        if isinstance(node, dict):
            return {k: walk(v, k) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v, key) for v in node]
        if isinstance(node, str):
            if node == "**********":
                return secrets.MASK
            return secrets.redact(secrets.redact_url(node)) if key == "url" else secrets.redact(node)
        return node

    return walk(data)
