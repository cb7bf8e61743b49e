"""Loading the YAML config: secrets substitution, validation, readable errors."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from camwatch import secrets
from camwatch.config.root import CamwatchConfig
from camwatch.const import DEFAULT_CONFIG_PATH, ENV_CONFIG

_REFERENCE = re.compile(r"\$\{(?P<ref>[^}]+)\}")


class ConfigError(Exception):
    """The config cannot be used; ``errors`` holds one readable line per problem."""

    def __init__(self, errors: list[str], source: str = "config") -> None:
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


def _substitute(node: Any, path: str, errors: list[str]) -> Any:
    if isinstance(node, dict):
        return {k: _substitute(v, f"{path}.{k}" if path else str(k), errors) for k, v in node.items()}
    if isinstance(node, list):
        return [_substitute(v, f"{path}.{i}", errors) for i, v in enumerate(node)]
    if isinstance(node, str) and "${" in node:
        return _REFERENCE.sub(lambda m: _resolve(m["ref"], path, errors), node)
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


def parse_config(raw: Any, source: str = "config") -> CamwatchConfig:
    """Validate an already-parsed YAML document."""
    if raw is None:
        raise ConfigError(["the file is empty; it needs at least a `cameras:` section"], source)
    if not isinstance(raw, dict):
        raise ConfigError([f"the top level must be a mapping of keys, got {type(raw).__name__}"], source)
    errors: list[str] = []
    data = _substitute(raw, "", errors)
    if errors:
        raise ConfigError(errors, source)
    try:
        return CamwatchConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError([_describe(e) for e in exc.errors()], source) from None


def load_config(path: str | os.PathLike | None = None) -> CamwatchConfig:
    """Read, substitute and validate the config file; raises ConfigError."""
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
    return parse_config(raw, str(file))


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
