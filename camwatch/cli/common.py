"""Shared CLI plumbing: config loading, logging and turning errors into messages, not tracebacks.

Light on purpose: every command imports it, so what a command needs (the config models,
OpenCV, the detector, MQTT) is imported by that command, not here."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Collection
from pathlib import Path
from typing import TYPE_CHECKING

from camwatch.logsetup import setup_logging
from camwatch.paths import default_data_dir

if TYPE_CHECKING:
    from camwatch.config import CamwatchConfig

_LOGGER = logging.getLogger(__name__)


class CliError(Exception):
    """A user-facing error: printed as one message, exit code 1."""


def user_errors() -> tuple[type[Exception], ...]:
    """The errors a user causes and fixes (one line, exit 1), from the modules imported so far.

    A module that was never imported raised nothing, so a light command such as
    `config check` does not load OpenCV, numpy and the TFLite runtime only to catch their
    errors."""
    loaded = sys.modules
    errors: list[type[Exception]] = [CliError]
    if "camwatch.datafiles" in loaded:
        from camwatch.datafiles import DataFileError

        errors.append(DataFileError)
    if "camwatch.models" in loaded:
        from camwatch.models import ModelError

        errors.append(ModelError)
    if "camwatch.detectors.base" in loaded:
        from camwatch.detectors.base import ModelError as DetectorModelError

        errors.append(DetectorModelError)
    if "camwatch.detectors.runtime" in loaded:
        from camwatch.detectors.runtime import EdgeTpuUnavailable, RuntimeUnavailable

        errors += [EdgeTpuUnavailable, RuntimeUnavailable]
    if "camwatch.sources.opencv" in loaded:
        from camwatch.sources.opencv import SourceError

        errors.append(SourceError)
    return tuple(errors)


def user_message(exc: Exception) -> str | None:
    """What to print for an error the user can fix, or None for a bug (a traceback)."""
    if "camwatch.config.loader" in sys.modules:
        from camwatch.config.loader import ConfigError

        if isinstance(exc, ConfigError):
            return exc.render()
    if isinstance(exc, user_errors()):
        return f"error: {exc}"
    return None


def add_config_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config", "-c", default=None, help="config file (default: $CAMWATCH_CONFIG or /etc/camwatch/config.yml)"
    )


def load(args: argparse.Namespace, cameras: Collection[str] | None = None) -> CamwatchConfig:
    """The config (``cameras``: only those cameras' secrets are resolved; None = all)."""
    from camwatch.config import load_config

    config = load_config(getattr(args, "config", None), cameras)
    setup_logging(args.log_level or config.logging.level, config.logging.modules)
    return config


def data_dir_for(config: CamwatchConfig | None) -> Path:
    if config is not None and config.data_dir is not None:
        return Path(config.data_dir).expanduser()
    return default_data_dir()


def run_command(args: argparse.Namespace) -> int:
    setup_logging(args.log_level or "info")
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:
        message = user_message(exc)
        if message is None:
            raise
        print(message, file=sys.stderr)
        return 1
